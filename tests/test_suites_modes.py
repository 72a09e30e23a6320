"""suites.modes: the output comparison, the carried-input container and mode availability."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from suites import modes  # noqa: E402
from suites.body import own_derivers  # noqa: E402
from suites.cases import PLANTED_ABSENT_ENTRY, module_of, requires  # noqa: E402
from suites.catalog import CATALOG  # noqa: E402
from suites.groups import PUBLIC_EXPORT, SHARED_EXPORT  # noqa: E402
from suites.schema import Device, Mode, Prop  # noqa: E402

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


def test_every_mode_is_derived_by_exactly_one_route() -> None:
    # The two sharing groups through EXPORTERS, the others by a deriver of their own.
    own = list(own_derivers(CATALOG[0], Device.CPU, {}))
    assert sorted([*PUBLIC_EXPORT, *SHARED_EXPORT, *own]) == sorted(Mode)
    assert set(modes.EXPORTERS) == {*PUBLIC_EXPORT, *SHARED_EXPORT}


def test_an_absent_entry_point_is_named_in_the_reason() -> None:
    present = requires("torch.export:export")
    assert modes.absent_entries(present) is None
    reason = modes.absent_entries(requires("torch.export:export", PLANTED_ABSENT_ENTRY))
    assert reason == f"torch {torch.__version__} has no torch._hop_compat_no_such_entry"


@pytest.mark.parametrize("mode", [m for m in Mode if m is not Mode.AOTI])
def test_modes_exist_in_this_torch(mode: Mode) -> None:
    # Every torch this project tests (2.3 on) has them all; aoti also needs a C++ compiler
    # and torch 2.6 (tests/test_suites_aoti.py).
    assert modes.missing_reason(mode) is None


def test_without_strict_parameter_strict_and_non_strict_are_missing_and_say_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # torch before 2.3: export() has no strict= and is strict-only.
    monkeypatch.setattr(modes, "_strict_default", lambda fn: None)
    strict, non_strict = modes.missing_reason(Mode.STRICT), modes.missing_reason(Mode.NON_STRICT)
    assert strict is not None and "strict-only" in strict and strict.endswith("aot measures it")
    assert non_strict is not None and "strict-only" in non_strict and "aot" not in non_strict
    assert modes.missing_reason(Mode.AOT) is None
    assert modes.aot_strict() is True


class _Spy:
    """torch.export.export, recording the strict= of every call (None: not given)."""

    def __init__(self, real: Any) -> None:
        self.real, self.calls = real, []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(kwargs.get("strict"))
        return self.real(*args, **kwargs)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> _Spy:
    found = _Spy(torch.export.export)
    monkeypatch.setattr(torch.export, "export", found)
    return found


def test_strict_mode_passes_strict_true_and_notes_it(spy: _Spy) -> None:
    notes: modes.Notes = {}
    modes.export_strict(module_of(lambda x: x + 1), (torch.ones(2),), {}, notes)
    assert spy.calls == [True]
    assert notes == {Prop.STRICT: "true"}


PUBLIC = [Mode.AOT, Mode.STRICT, Mode.NON_STRICT]


def _derive_public(wanted: list[Mode]) -> tuple[dict[Mode, modes.Derived], dict[Mode, Any]]:
    notes: dict[Mode, modes.Notes] = {m: {} for m in wanted}
    module = module_of(lambda x: x.cos() + 1)
    return modes.derive_public(wanted, module, (torch.ones(2),), {}, notes), notes


@pytest.mark.parametrize("aot_is_strict", [True, False])
def test_aot_shares_one_export_with_the_mode_that_makes_the_same_call(
    spy: _Spy, monkeypatch: pytest.MonkeyPatch, aot_is_strict: bool
) -> None:
    # Through 2.7 aot's call is the strict one, from 2.8 the non-strict one.
    monkeypatch.setattr(modes, "aot_strict", lambda: aot_is_strict)
    derived, notes = _derive_public(PUBLIC)
    same, other = (
        (Mode.STRICT, Mode.NON_STRICT) if aot_is_strict else (Mode.NON_STRICT, Mode.STRICT)
    )
    assert derived[Mode.AOT].program is derived[same].program
    assert derived[other].program is not derived[Mode.AOT].program
    assert spy.calls == [None, other is Mode.STRICT]  # aot's own call, then the other's
    assert notes[same][Prop.STRICT] == notes[Mode.AOT][Prop.STRICT] == str(aot_is_strict).lower()
    assert notes[other][Prop.STRICT] == str(not aot_is_strict).lower()


def test_a_mode_alone_makes_its_own_call(spy: _Spy) -> None:
    derived, _ = _derive_public([Mode.STRICT])
    assert set(derived) == {Mode.STRICT} and derived[Mode.STRICT].error is None
    assert spy.calls == [True]


def test_an_error_in_a_shared_public_export_is_both_modes_with_the_step_named() -> None:
    def forward(x: Any) -> Any:
        raise ValueError("no export today")

    partner = Mode.STRICT if modes.aot_strict() else Mode.NON_STRICT
    notes: dict[Mode, modes.Notes] = {m: {} for m in (Mode.AOT, partner)}
    derived = modes.derive_public(
        [Mode.AOT, partner], module_of(forward), (torch.ones(2),), {}, notes
    )
    assert derived[Mode.AOT] is derived[partner]
    assert derived[Mode.AOT].step == "export" and isinstance(derived[Mode.AOT].error, Exception)


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


def test_each_export_gets_its_own_copy_of_the_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    """An export that leaves something on its inputs (strict export in 2.6 and 2.9 set a fake
    tensor as an attribute of an input) cannot reach the next mode's export or the run."""
    import functools

    from suites.body import run_unit
    from suites.cases import Case, Sample

    seen: list[bool] = []
    real = torch.export.export

    @functools.wraps(real)  # its signature too: strict= decides whether the modes exist
    def leaves_a_mark(module: Any, args: tuple[Any, ...], *rest: Any, **kw: Any) -> Any:
        seen.append(hasattr(args[0], "left_by_export"))
        args[0].left_by_export = True
        return real(module, args, *rest, **kw)

    monkeypatch.setattr(torch.export, "export", leaves_a_mark)
    x = torch.ones(3, 2)

    def build(device: str) -> Any:
        return module_of(lambda t: t.sin() * 2), (Sample((x,)),)

    case = Case("cond", "copied", build)
    results = run_unit(case, (Mode.STRICT, Mode.NON_STRICT, Mode.DYNAMIC), Device.CPU)
    assert [r.status.value for r in results] == ["pass", "pass", "pass"]
    assert seen == [False, False, False]  # every export saw the sample as built
    assert not hasattr(x, "left_by_export")


def test_cells_carry_the_case_since_and_an_exportdb_cell_its_graph_hops() -> None:
    from suites.body import run_unit
    from suites.exportdb import load_exportdb

    loaded = load_exportdb()
    closed = [c for c in loaded.cases if c.variant == "cond_closed_over_variable"]
    if not closed:
        pytest.skip(f"ExportDB has no cond_closed_over_variable here ({loaded.status})")
    (result,) = run_unit(closed[0], (Mode.NON_STRICT,), Device.CPU)
    assert result.status.value == "pass"
    assert result.prop(Prop.GRAPH_HOPS) == "cond"  # the cond really is in the program

    from dataclasses import replace

    (cell,) = run_unit(replace(CATALOG[0], since="2.1"), (Mode.NON_STRICT,), Device.CPU)
    assert cell.prop(Prop.SINCE) == "2.1"
