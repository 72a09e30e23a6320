"""suites.catalog: its rows, their patterns and oldest releases, against the real torch."""

from __future__ import annotations

import re
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from suites.body import run_unit  # noqa: E402
from suites.cases import Case, Sample, module_of, release, requires  # noqa: E402
from suites.catalog import CATALOG  # noqa: E402
from suites.catalog.entries import leading_of  # noqa: E402
from suites.schema import DEFAULT_MODES, Device, Gap, Prop, Status  # noqa: E402

# The rows the catalogue began with: reports compare rows across runs by id.
FIRST_IDS = (
    "catalog:cond.simple",
    "catalog:cond.parameter",
    "catalog:while_loop.simple",
    "catalog:while_loop.closure",
    "catalog:map.simple",
    "catalog:scan.simple",
    "catalog:associative_scan.cumsum",
    "catalog:invoke_subgraph.reused",
    "catalog:flex_attention.causal",
    "catalog:auto_functionalize.custom_op",
    "catalog:wrap_with_set_grad_enabled.no_grad",
    "catalog:wrap_with_autocast.bfloat16",
    "catalog:hints_wrapper.simple",
    "catalog:out_dtype.int8_mm",
)

# The patterns issue #18 names, each with the row that stands for it.
ASKED_FOR = {
    "cond in while_loop": "while_loop.cond_in_body",
    "while_loop in cond": "cond.while_loop_in_branch",
    "scan in cond": "cond.scan_in_branch",
    "map over cond": "map.cond_in_body",
    "a dict carry": "while_loop.dict_carry",
    "a dict scan carry": "scan.dict_carry",
    "a tuple carry": "scan.tuple_carry",
    "mixed tensor and int carries": "while_loop.int_carry",
    "a submodule with parameters and buffers": "cond.submodule_buffers",
    "a buffer mutated in a branch": "cond.buffer_mutation",
    "branches of different but compatible shapes": "cond.different_shapes",
    "a data-dependent predicate": "cond.item_predicate",
    "a data-dependent loop count": "while_loop.data_dependent_stop",
    "torch.cond with kwargs": "cond.kwargs",
    "scan with reverse=True": "scan.reverse",
    "scan with several xs": "scan.several_xs",
    "associative_scan with a pytree combine": "associative_scan.pytree_combine",
    "the same subgraph invoked twice": "invoke_subgraph.layers",
    "the same cond branches invoked twice": "cond.same_branches_twice",
    "flex_attention with a score_mod reading a tensor": "flex_attention.score_bias",
    "flex_attention with a mask_mod and create_block_mask": "flex_attention.document_mask",
}

BY_ID = {case.id: case for case in CATALOG}
MIN_LEADING = 2  # a dimension of size 0 or 1 is specialised by export, never dynamic


def test_ids_are_unique_and_the_first_fourteen_kept() -> None:
    ids = [case.id for case in CATALOG]
    assert len(ids) == len(set(ids))
    assert [i for i in ids if i in FIRST_IDS] == list(FIRST_IDS)


def test_the_catalogue_has_at_least_forty_cases() -> None:
    assert len(CATALOG) >= 40


@pytest.mark.parametrize(("pattern", "row"), sorted(ASKED_FOR.items()))
def test_each_pattern_the_issue_asks_for_has_a_row(pattern: str, row: str) -> None:
    assert f"catalog:{row}" in BY_ID, f"no row for {pattern}"


@pytest.mark.parametrize("case", CATALOG, ids=lambda case: case.id)
def test_every_case_says_its_pattern_in_one_line_and_its_oldest_release(case: Case) -> None:
    doc = (case.build.__doc__ or "").strip()
    assert doc and "\n" not in doc, "the builder's docstring is the pattern, in one line"
    assert case.pattern == doc
    assert re.fullmatch(r"2\.\d+", case.since)


def _from_a_later_release(device: str) -> Any:
    """A pattern only a release to come can run."""
    raise AssertionError("a case newer than this torch is never built")


def test_a_case_newer_than_this_torch_is_missing_in_every_mode_naming_its_release() -> None:
    future = Case("cond", "future", _from_a_later_release, requires("torch:cond"), since="99.0")
    results = run_unit(future, DEFAULT_MODES, Device.CPU)
    assert [r.status for r in results] == [Status.MISSING] * len(DEFAULT_MODES)
    for result in results:
        reason = result.prop(Prop.REASON) or ""
        assert result.prop(Prop.GAP) == Gap.TOO_OLD
        assert "torch 99.0 or newer" in reason and torch.__version__ in reason
        assert "A pattern only a release to come can run." in reason


@pytest.mark.parametrize(
    ("version", "too_old"), [("2.4.1+cu121", True), ("2.5.0", False), ("2.13.0+cpu", False)]
)
def test_associative_scan_cumsum_needs_combine_mode(version: str, too_old: bool) -> None:
    # 2.4's associative_scan has no combine_mode=: the case gave a TypeError there.
    assert BY_ID["catalog:associative_scan.cumsum"].too_old(version) is too_old


def _marked(case: Case, sample: Sample) -> list[int]:
    """The positional inputs whose leading dimension the dynamic mode marks."""
    if case.dynamic_shapes is None:
        return [i for i, a in enumerate(sample.args) if isinstance(a, torch.Tensor) and a.dim()]
    (specs,) = case.dynamic_shapes(sample)  # leading_of: one entry, module_of's *args
    return [i for i, spec in enumerate(specs) if spec]


def _one_larger(sample: Sample, marked: list[int]) -> tuple[Any, ...]:
    return tuple(torch.cat([a, a[:1]]) if i in marked else a for i, a in enumerate(sample.args))


# torch refuses this pattern in eager too, grad enabled: 2.9 forbids mutating a branch's
# inputs, 2.13 allows it only without grad (docs/findings/cond_buffer_mutation.py).
EAGER_REFUSED = {
    "catalog:cond.buffer_mutation": (
        release(torch.__version__) >= (2, 9),
        torch._dynamo.exc.UncapturedHigherOrderOpError,
    ),
}


def _eager_params() -> list[Any]:
    params = []
    for case in CATALOG:
        refused, error = EAGER_REFUSED.get(case.id, (False, Exception))
        mark = pytest.mark.xfail(refused, raises=error, reason="torch refuses it", strict=True)
        params.append(pytest.param(case, id=case.id, marks=mark))
    return params


@pytest.mark.filterwarnings("ignore")  # torch's own: flex_attention run uncompiled, ...
@pytest.mark.parametrize("case", _eager_params())
def test_each_case_runs_eagerly_on_its_samples_and_on_a_batch_one_larger(case: Case) -> None:
    # The dynamic mode reruns a case on another size of the dimensions it marks: a sample
    # that only runs at one size would measure the sample, not torch.
    torch._dynamo.reset()
    torch.manual_seed(0)
    module, samples = case.build(Device.CPU.value)
    assert samples
    for sample in samples:
        marked = _marked(case, sample)
        assert all(sample.args[i].shape[0] >= MIN_LEADING for i in marked)
        module(*sample.args, **sample.kwargs)
        module(*_one_larger(sample, marked), **sample.kwargs)


def test_leading_of_keeps_only_the_named_inputs_dynamic() -> None:
    sample = Sample((torch.randn(3, 4), torch.randn(4, 4)))
    shapes = leading_of(0)(sample)
    ep = torch.export.export(module_of(torch.matmul), sample.args, dynamic_shapes=shapes)
    x, w = (n.meta["val"].shape for n in ep.graph.nodes if n.op == "placeholder")
    assert isinstance(x[0], torch.SymInt) and tuple(w) == (4, 4)
    assert ep.module()(torch.randn(5, 4), sample.args[1]).shape == (5, 4)


def test_no_case_needs_a_release_newer_than_the_test_env() -> None:
    # The tests run on the newest torch the project knows: a `since` past it is a typo.
    assert [case.id for case in CATALOG if case.too_old(torch.__version__)] == []
