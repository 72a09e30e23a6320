"""suites.modes: the output comparison, the carried-input container and mode availability."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from suites import modes  # noqa: E402
from suites.cases import CATALOG, module_of  # noqa: E402
from suites.schema import Mode, Prop  # noqa: E402

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


SHARED = [Mode.PRE_DISPATCH, Mode.RETRACE, Mode.SERIALIZE]


def _derive(case: str, wanted: list[Mode]) -> dict[Mode, modes.Derived]:
    (row,) = [c for c in CATALOG if f"{c.hop}.{c.variant}" == case]
    module, samples = row.build("cpu")
    notes: dict[Mode, modes.Notes] = {m: {} for m in wanted}
    return modes.derive_shared(wanted, module, samples[0].args, dict(samples[0].kwargs), notes)


@pytest.mark.parametrize("case", ["cond.simple", "while_loop.simple"])
def test_sharing_leaves_each_step_its_input_as_it_was(case: str) -> None:
    # Why one export may serve three modes: run_decompositions returns a new program
    # and save only reads; neither changes the program the step before made.
    derived = _derive(case, SHARED)
    pre, retrace = derived[Mode.PRE_DISPATCH].program, derived[Mode.RETRACE].program
    fresh = _derive(case, [Mode.PRE_DISPATCH])[Mode.PRE_DISPATCH].program
    assert str(pre.graph) == str(fresh.graph)
    assert retrace is not pre and str(retrace.graph) == str(pre.run_decompositions().graph)
    assert all(derived[m].error is None for m in SHARED)


def test_an_error_in_the_shared_export_is_every_modes_with_the_step_named() -> None:
    def forward(x: Any) -> Any:
        raise ValueError("no export today")

    notes: dict[Mode, modes.Notes] = {m: {} for m in SHARED}
    derived = modes.derive_shared(SHARED, module_of(forward), (torch.ones(2),), {}, notes)
    assert {m: (d.step, type(d.error)) for m, d in derived.items()} == {
        m: ("pre_dispatch export", type(derived[Mode.PRE_DISPATCH].error)) for m in SHARED
    }
    assert derived[Mode.PRE_DISPATCH].error is not None
    # What the export noted before it raised belongs to all three.
    assert all(notes[m].get(Prop.STRICT) in ("true", "false") for m in SHARED)


def test_only_what_is_wanted_is_derived() -> None:
    derived = _derive("cond.simple", [Mode.RETRACE])
    assert set(derived) == {Mode.RETRACE}
