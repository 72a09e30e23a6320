"""suites.groups: which cells one child runs."""

from __future__ import annotations

import argparse

import pytest

from suites.__main__ import JOBS_ENV, default_jobs, positive_seconds
from suites.groups import PUBLIC_EXPORT, SHARED_EXPORT, units
from suites.schema import CellId, Device, Mode, Source


def _cells(devices: tuple[Device, ...]) -> list[CellId]:
    return [CellId(Source.CATALOG, "cond", "simple", m, d) for d in devices for m in Mode]


def test_the_modes_that_can_share_an_export_run_together() -> None:
    got = [[(c.mode.value, c.device.value) for c in unit] for unit in units(_cells((Device.CPU,)))]
    assert got == [
        [("aot", "cpu"), ("strict", "cpu"), ("non_strict", "cpu")],
        [("pre_dispatch", "cpu"), ("retrace", "cpu"), ("serialize", "cpu")],
        [("dynamic", "cpu")],
        [("aoti", "cpu")],
    ]


def test_no_mode_is_in_two_sharing_groups() -> None:
    assert not set(PUBLIC_EXPORT) & set(SHARED_EXPORT)


def test_devices_never_share_a_child() -> None:
    for unit in units(_cells((Device.CPU, Device.CUDA))):
        assert len({c.device for c in unit}) == 1


def test_a_subset_keeps_its_grouping() -> None:
    cells = [c for c in _cells((Device.CPU,)) if c.mode in (Mode.RETRACE, Mode.AOT)]
    assert [[c.mode for c in u] for u in units(cells)] == [[Mode.AOT], [Mode.RETRACE]]
    cells = [c for c in _cells((Device.CPU,)) if c.mode in (Mode.NON_STRICT, Mode.STRICT)]
    assert [[c.mode for c in u] for u in units(cells)] == [[Mode.STRICT, Mode.NON_STRICT]]


@pytest.mark.parametrize(("value", "expected"), [("3", 3), ("0", None), ("x", None), ("", None)])
def test_jobs_default_from_the_environment(value: str, expected: int | None) -> None:
    got = default_jobs({JOBS_ENV: value})
    assert got == expected if expected is not None else got >= 1


@pytest.mark.parametrize(("text", "expected"), [("900", 900.0), ("2.5", 2.5)])
def test_a_time_limit_is_a_positive_number_of_seconds(text: str, expected: float) -> None:
    assert positive_seconds(text) == expected


@pytest.mark.parametrize("text", ["0", "-3", "nan", "soon"])
def test_any_other_time_limit_is_refused_with_what_was_given(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=f"not '{text}'"):
        positive_seconds(text)
