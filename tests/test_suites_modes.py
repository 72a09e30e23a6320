"""suites.modes: the output comparison, the carried-input container and mode availability."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from suites import modes  # noqa: E402
from suites.schema import Mode  # noqa: E402

T = torch.tensor


@pytest.mark.parametrize(
    ("eager", "exported", "differs"),
    [
        ((T([1.0, 2.0]),), (T([1.0, 2.0]),), None),
        ([T([1.0]), 3], [T([1.0 + 1e-7]), 3], None),
        ({"a": T([1.0])}, {"a": T([1.0])}, None),
        (T([1.0]), T([1.5]), "leaf 0"),
        ((T([1.0]), 3), (T([1.0]), 4), "leaf 1"),
        ((T([1.0]), 3), (T([1.0]), 3.0), "leaf 1: eager gave int"),
        ((T([1.0]), T([2.0])), (T([1.0]),), "2 output leaves"),
        (T([1.0]), T([1], dtype=torch.int64), "leaf 0"),
    ],
)
def test_compare_outputs(eager: Any, exported: Any, differs: str | None) -> None:
    got = modes.compare_outputs(eager, exported)
    if differs is None:
        assert got is None
    else:
        assert got is not None and differs in got


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ((1, 2), "tuple"),
        ([1, 2], "list"),
        ({}, "dict"),
        (torch.fx.immutable_collections.immutable_list([1]), "list"),
        (3, "int"),
    ],
)
def test_container_name_sees_through_fx_containers(value: Any, name: str) -> None:
    assert modes.container_name(value) == name


def test_every_mode_has_an_exporter() -> None:
    assert set(modes.EXPORTERS) == set(Mode)


@pytest.mark.parametrize("mode", list(Mode))
def test_modes_exist_in_this_torch(mode: Mode) -> None:
    # Every torch this project tests (2.3 on) has all five.
    assert modes.missing_reason(mode) is None


def test_aot_strict_reads_exports_own_default() -> None:
    default = inspect.signature(torch.export.export).parameters["strict"].default
    assert modes.aot_strict() is default


@pytest.mark.parametrize(
    ("fn", "expected"),
    [(lambda strict=True: None, True), (lambda strict=False: None, False), (lambda x: None, None)],
)
def test_strict_default(fn: Any, expected: bool | None) -> None:
    assert modes._strict_default(fn) is expected
