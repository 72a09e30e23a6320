"""suites.groups: which cells one child runs."""

from __future__ import annotations

import pytest

from suites.__main__ import JOBS_ENV, default_jobs
from suites.groups import units
from suites.schema import CellId, Device, Mode, Source


def _cells(devices: tuple[Device, ...]) -> list[CellId]:
    return [CellId(Source.CATALOG, "cond", "simple", m, d) for d in devices for m in Mode]


def test_the_shared_export_modes_run_together_every_other_mode_alone() -> None:
    got = [[(c.mode.value, c.device.value) for c in unit] for unit in units(_cells((Device.CPU,)))]
    assert got == [
        [("aot", "cpu")],
        [("pre_dispatch", "cpu"), ("retrace", "cpu"), ("serialize", "cpu")],
        [("non_strict", "cpu")],
    ]


def test_devices_never_share_a_child() -> None:
    for unit in units(_cells((Device.CPU, Device.CUDA))):
        assert len({c.device for c in unit}) == 1


def test_a_subset_keeps_its_grouping() -> None:
    cells = [c for c in _cells((Device.CPU,)) if c.mode in (Mode.RETRACE, Mode.AOT)]
    assert [[c.mode for c in u] for u in units(cells)] == [[Mode.AOT], [Mode.RETRACE]]


@pytest.mark.parametrize(("value", "expected"), [("3", 3), ("0", None), ("x", None), ("", None)])
def test_jobs_default_from_the_environment(value: str, expected: int | None) -> None:
    got = default_jobs({JOBS_ENV: value})
    assert got == expected if expected is not None else got >= 1
