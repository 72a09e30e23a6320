"""suites.dynamic: the dynamic mode really exercises dynamism, on the installed torch."""

from __future__ import annotations

import re
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from suites import dynamic, modes  # noqa: E402
from suites.body import run_cell  # noqa: E402
from suites.cases import PLANTED_ABSENT_ENTRY, Case, Sample, module_of, requires  # noqa: E402
from suites.catalog import CATALOG  # noqa: E402
from suites.schema import (  # noqa: E402
    REPRO_STATUSES,
    Device,
    Gap,
    Mode,
    Prop,
    Status,
)


def _case(fn: Any, *inputs: Any, shapes: Any = None, **kwargs: Any) -> Case:
    sample = Sample(tuple(inputs), kwargs)
    return Case("toy", fn.__name__, lambda d: (module_of(fn), (sample,)), dynamic_shapes=shapes)


def batch_of(n: int) -> Any:
    def batch_of_n(x: Any) -> Any:
        return x * 2 if x.shape[0] == n else x

    return batch_of_n


def test_a_batch_dimension_that_export_specialises_is_a_fail_not_a_pass() -> None:
    # Python branches on the batch size: export must specialise it to the sample's 3.
    case = _case(batch_of(3), torch.randn(3, 4))
    result = run_cell(case, Mode.DYNAMIC, Device.CPU)
    assert result.status is Status.FAIL
    assert result.prop(Prop.ERROR_MESSAGE) == (
        "export specialised the batch dimension: the program takes no other batch size\n"
        "args[0].0 specialised to 3"
    )
    assert result.prop(Prop.DYNAMIC_DIMS) == "args[0].0 specialised to 3"
    # The same case exports and runs at its one size: only dynamism fails it.
    assert run_cell(case, Mode.AOT, Device.CPU).status is Status.PASS


def test_the_fail_signature_is_the_same_whatever_the_size() -> None:
    results = [
        run_cell(_case(batch_of(n), torch.randn(n, 4)), Mode.DYNAMIC, Device.CPU) for n in (3, 5)
    ]
    assert [r.prop(Prop.DYNAMIC_DIMS) for r in results] == [
        "args[0].0 specialised to 3",
        "args[0].0 specialised to 5",
    ]
    assert {r.message for r in results} == {
        "AssertionError: export specialised the batch dimension: the program takes no other "
        "batch size"
    }


def test_a_failing_cell_records_its_spec_and_batch_a_passing_one_nothing() -> None:
    result = run_cell(_case(batch_of(3), torch.randn(3, 4)), Mode.DYNAMIC, Device.CPU)
    assert result.status is Status.FAIL
    marker = 'Dim("batch0")' if dynamic._named() else "Dim.AUTO"
    assert result.prop(Prop.DYNAMIC_SHAPES) == f'{{"args": ({{0: {marker}}},)}}'
    assert result.prop(Prop.DYNAMIC_BATCH) == "0.0"
    assert result.prop(Prop.SECOND_SIZE) is None  # it failed before the second size
    passed = run_cell(_case(lambda x: x.cos(), torch.randn(3, 4)), Mode.DYNAMIC, Device.CPU)
    assert passed.status is Status.PASS
    assert not {p.value for p in dynamic.FACTS} & {k for k, _ in passed.properties}


def test_a_catalogue_cell_that_fails_carries_facts_a_repro_can_evaluate() -> None:
    # associative_scan.cumsum fails at its second size on 2.13 (docs/findings/README.md)
    (case,) = [c for c in CATALOG if c.id == "catalog:associative_scan.cumsum"]
    result = run_cell(case, Mode.DYNAMIC, Device.CPU)
    if result.status not in REPRO_STATUSES:
        assert result.prop(Prop.DYNAMIC_SHAPES) is None
        pytest.skip(f"{case.id} is {result.status} in the dynamic mode on this torch")
    torch.manual_seed(0)
    module, samples = case.build("cpu")
    sample = samples[int(result.prop(Prop.SAMPLE) or 0)]
    spec = eval(result.prop(Prop.DYNAMIC_SHAPES) or "", {"Dim": torch.export.Dim})
    assert spec == dynamic.default_spec(module, sample.args, dict(sample.kwargs))
    assert result.prop(Prop.DYNAMIC_BATCH) == "0.0"
    resized = result.prop(Prop.SECOND_SIZE)
    assert (resized is not None) == (result.prop(Prop.STEP) == "run second size")
    assert resized is None or re.fullmatch(r"\d+\.\d+=\d+(,\d+\.\d+=\d+)*", resized)


def _derived() -> Any:
    return 2 * torch.export.Dim("half")


@pytest.mark.parametrize(
    ("spec", "source"),
    [
        (None, "None"),
        ({"x": {0: torch.export.Dim("batch0")}}, '{"x": {0: Dim("batch0")}}'),
        (
            (({0: torch.export.Dim("b", min=2, max=9)}, None),),
            '(({0: Dim("b", min=2, max=9)}, None),)',
        ),
        ([{1: torch.export.Dim("n", max=64)}, 3], '[{1: Dim("n", max=64)}, 3]'),
        ({"args": ({0: getattr(torch.export.Dim, "AUTO", None)},)}, '{"args": ({0: Dim.AUTO},)}'),
        ({0: getattr(torch.export.Dim, "STATIC", None)}, "{0: Dim.STATIC}"),
        ({0: _derived()}, None),  # a derived Dim: no source, so no property
    ],
)
def test_a_spec_renders_as_source_that_gives_it_back(spec: Any, source: str | None) -> None:
    if "Dim." in (source or "") and not hasattr(torch.export.Dim, "AUTO"):
        pytest.skip("this torch has no Dim hints (2.3, 2.4)")
    assert dynamic.render_spec(spec) == source
    if source is not None:
        again = eval(source, {"Dim": torch.export.Dim})
        assert dynamic.render_spec(again) == source


def test_a_case_that_stays_dynamic_passes_and_ran_at_a_second_size() -> None:
    seen: list[int] = []

    def rows(x: Any, y: Any) -> Any:
        if not torch.compiler.is_compiling():  # eager only, not while export traces it
            seen.append(x.shape[0])
        return x.cos() + y.sum()

    result = run_cell(_case(rows, torch.randn(3, 4), torch.randn(5)), Mode.DYNAMIC, Device.CPU)
    assert result.status is Status.PASS, result.detail
    assert result.prop(Prop.DYNAMIC_DIMS) == "args[0].0 dynamic, args[1].0 dynamic"
    assert result.prop(Prop.SAMPLES) == "1"
    assert seen[0] == 3 and len(seen) == 2 and seen[1] != 3


def test_the_second_size_keeps_tied_dimensions_equal_and_the_tensors_kind() -> None:
    def add(x: Any, y: Any) -> Any:
        return x + y  # one symbol for both leading dimensions

    x, y = torch.randn(3, 4, requires_grad=True), torch.randn(3, 4)
    notes: modes.Notes = {}
    derived = dynamic.derive(module_of(add), Sample((x, y)), notes)
    assert derived.error is None and derived.verdict is None
    (rerun,) = derived.more
    x2, y2 = rerun.args
    assert x2.shape == y2.shape and x2.shape[0] != 3 and x2.shape[1:] == x.shape[1:]
    assert (x2.dtype, x2.requires_grad, y2.requires_grad) == (x.dtype, True, False)
    assert rerun.step == "run second size" and "args[0].0: 3 -> " in rerun.label
    # One symbol, so both tensors' leading dimensions move to the same new size.
    assert notes[Prop.SECOND_SIZE] == f"0.0={x2.shape[0]},1.0={x2.shape[0]}"
    assert notes[Prop.DYNAMIC_BATCH] == "0.0"
    # Its rows are the sample's, repeated: values that mean something keep their meaning.
    assert torch.equal(x2[: len(x)].detach(), x.detach())


@pytest.mark.parametrize(
    ("inputs", "why"),
    [
        ((3,), "the sample has no tensor dimension"),
        ((torch.tensor(2.0), 3), "the sample has no tensor dimension"),
    ],
)
def test_nothing_to_mark_is_a_skip_with_the_reason(inputs: tuple[Any, ...], why: str) -> None:
    def scalar(*args: Any) -> Any:
        return args[0] * 2

    result = run_cell(_case(scalar, *inputs), Mode.DYNAMIC, Device.CPU)
    assert result.status is Status.SKIP
    assert result.prop(Prop.REASON) == f"nothing to make dynamic: {why}"


def test_the_cases_own_dynamic_shapes_are_used() -> None:
    def twice(x: Any) -> Any:
        return x * 2

    # Keyed by forward's parameters, as torch.export takes it: here forward(*args, **kwargs).
    case = _case(
        twice, torch.randn(3, 4), shapes=lambda s: {"args": ({1: torch.export.Dim("cols")},)}
    )
    result = run_cell(case, Mode.DYNAMIC, Device.CPU)
    assert result.status is Status.PASS, result.detail
    assert result.prop(Prop.DYNAMIC_DIMS) == "args[0].1 dynamic"
    nothing = _case(twice, torch.randn(3, 4), shapes=lambda s: {"args": (None,)})
    skipped = run_cell(nothing, Mode.DYNAMIC, Device.CPU)
    assert skipped.status is Status.SKIP
    assert skipped.prop(Prop.REASON) == (
        "nothing to make dynamic: the case's dynamic_shapes marks no tensor dimension"
    )


def test_dynamic_shapes_that_raise_are_the_cells_error_at_their_step() -> None:
    def no_spec(sample: Sample) -> Any:
        raise ValueError("this case cannot say")

    result = run_cell(_case(lambda x: x, torch.ones(2), shapes=no_spec), Mode.DYNAMIC, Device.CPU)
    assert (result.status, result.prop(Prop.STEP)) == (Status.ERROR, "dynamic shapes")
    assert result.prop(Prop.ERROR_MESSAGE) == "this case cannot say"


class _Keyword(torch.nn.Module):  # type: ignore[misc, unused-ignore]
    def forward(self, x: Any, *, scale: Any) -> Any:
        return x * scale.sum()


def test_keyword_inputs_are_named_in_dynamic_dims() -> None:
    sample = Sample((torch.randn(3, 2),), {"scale": torch.randn(4)})
    case = Case("toy", "keyword", lambda d: (_Keyword(), (sample,)))
    result = run_cell(case, Mode.DYNAMIC, Device.CPU)
    assert result.status is Status.PASS, result.detail
    assert result.prop(Prop.DYNAMIC_DIMS) == "args[0].0 dynamic, kwargs['scale'].0 dynamic"


def test_a_release_without_dim_makes_the_mode_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(modes.MODE_NEEDS, Mode.DYNAMIC, requires(PLANTED_ABSENT_ENTRY))
    result = run_cell(_case(batch_of(3), torch.randn(3, 4)), Mode.DYNAMIC, Device.CPU)
    assert result.status is Status.MISSING
    assert result.prop(Prop.GAP) == Gap.MODE_ABSENT
    assert result.prop(Prop.REASON) == (
        f"torch {torch.__version__} has no torch._hop_compat_no_such_entry"
    )


class ThreeInputs(torch.nn.Module):  # type: ignore[misc, unused-ignore]
    # Named parameters: torch 2.9.1's ep.module() raises NameError ('L') on a forward(*args)
    # whose inputs share a symbol, a bug of its own that this test is not about.
    def forward(self, x: Any, y: Any, w: Any) -> Any:
        return x + y, w @ w  # x and y share one size; w's is fixed by w @ w's square


@pytest.mark.parametrize("named", [False, True])
def test_named_dims_take_exports_own_fixes_and_measure_what_auto_does(
    monkeypatch: pytest.MonkeyPatch, named: bool
) -> None:
    # 2.3/2.4 have no Dim.AUTO: a named Dim per input, which export refuses where it cannot
    # stay dynamic, suggesting "batch2 = 3" and "batch1 = batch0"; applied, the program and
    # the cell are what Dim.AUTO gives.
    monkeypatch.setattr(dynamic, "_named", lambda: named)
    inputs = (torch.randn(3, 4), torch.randn(3, 4), torch.randn(3, 3))
    case = Case("toy", "three", lambda d: (ThreeInputs(), (Sample(inputs),)))
    result = run_cell(case, Mode.DYNAMIC, Device.CPU)
    assert result.status is Status.PASS, result.detail
    assert result.prop(Prop.DYNAMIC_DIMS) == (
        "args[0].0 dynamic, args[1].0 dynamic, args[2].0 specialised to 3"
    )


def test_a_named_dim_export_cannot_fix_is_the_export_error() -> None:
    spec = {"args": ({0: torch.export.Dim("batch0", min=5)},)}
    with pytest.raises(Exception, match=r"not in range \[5"):
        dynamic._export(module_of(lambda x: x * 2), (torch.randn(3, 4),), {}, spec, named=True)


@pytest.mark.parametrize(
    ("value", "low", "high", "expected"),
    [(3, 2, float("inf"), 4), (3, 2, 3, 2), (2, 2, 2, 2), (3, 3, 3, 3), (5, 5, 9, 6)],
)
def test_the_other_value_stays_in_exports_range(
    value: int, low: float, high: float, expected: int
) -> None:
    bounds = type("Range", (), {"lower": low, "upper": high})()
    assert dynamic._other_value(value, bounds) == expected


def test_a_symbol_seen_only_inside_an_expression_is_solved() -> None:
    sympy = pytest.importorskip("sympy")
    s0, s1 = sympy.symbols("s0 s1", integer=True, positive=True)
    assert dynamic._symbol_values([(2 * s0, 6), (s1, 5), (s1 + s0, 8)]) == {s0: 3, s1: 5}
    assert dynamic._symbol_values([(2 * s0, 7)]) == {}
