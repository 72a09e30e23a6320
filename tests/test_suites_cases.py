"""suites.cases (the case API), suites.collect and suites.body against the real torch."""

from __future__ import annotations

import re
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from suites import modes  # noqa: E402
from suites.body import MAX_DETAIL_CHARS, leaked_state, run_cell, run_unit  # noqa: E402
from suites.cases import PLANTED, Case, Sample, load_catalog, module_of, requires  # noqa: E402
from suites.catalog import CATALOG  # noqa: E402
from suites.collect import plan, select  # noqa: E402
from suites.gaps import resolve_gap  # noqa: E402
from suites.schema import CellId, Device, Gap, Mode, Prop, Status  # noqa: E402
from suites.signature import MAX_SIGNATURE  # noqa: E402


def test_catalogue_rows_are_unique_and_named_like_cell_ids() -> None:
    ids = [c.id for c in CATALOG]
    assert len(ids) == len(set(ids))
    for case in CATALOG + PLANTED:
        assert "." not in case.hop and "/" not in case.variant
        cell = case.cell(Mode.AOT, Device.CPU)
        assert CellId.parse(str(cell)) == cell
        assert CellId.from_junit(cell.classname, cell.name) == cell


def test_catalogue_covers_the_hops_export_users_meet() -> None:
    hops = {c.hop for c in CATALOG}
    wanted = {"cond", "while_loop", "map", "scan", "associative_scan", "invoke_subgraph"}
    wanted |= {"flex_attention", "auto_functionalize", "wrap_with_set_grad_enabled"}
    assert wanted <= hops


@pytest.mark.parametrize(
    ("env", "planted"),
    [({}, False), ({"HOP_SUITE_PLANTED": "0"}, False), ({"HOP_SUITE_PLANTED": "1"}, True)],
)
def test_planted_rows_only_with_the_env_var(env: dict[str, str], planted: bool) -> None:
    rows = load_catalog(env)
    assert any(c.hop.startswith("_planted") for c in rows) is planted
    assert rows[-len(CATALOG) :] == CATALOG


@pytest.mark.parametrize(
    ("patterns", "expected"),
    [
        ((), None),
        (("while_loop.s*",), {"while_loop.simple", "while_loop.submodule"}),
        (("while_loop.simple",), {"while_loop.simple"}),
        (("*scan.reverse",), {"scan.reverse", "associative_scan.reverse"}),
        (("out_dtype",), {"out_dtype.int8_mm"}),
        (("nothing",), set()),
    ],
)
def test_hop_filters_match_hop_or_hop_dot_variant(
    patterns: tuple[str, ...], expected: set[str] | None
) -> None:
    got = {f"{c.hop}.{c.variant}" for c in select(CATALOG, patterns)}
    assert got == (expected if expected is not None else {f"{c.hop}.{c.variant}" for c in CATALOG})


def test_plan_is_case_then_device_then_mode() -> None:
    (case, cells), *_ = plan(CATALOG[:1], (Mode.AOT, Mode.SERIALIZE), (Device.CPU, Device.CUDA))
    assert case is CATALOG[0]
    assert [c.name for c in cells] == ["aot[cpu]", "serialize[cpu]", "aot[cuda]", "serialize[cuda]"]


def _never_built(device: str) -> Any:
    raise AssertionError("a missing HOP must not be built")


MISSING = Case(
    "no_such_hop", "simple", _never_built, requires("torch._higher_order_ops:no_such_hop")
)


@pytest.mark.parametrize("mode", list(Mode))
def test_a_missing_hop_is_missing_in_every_mode_with_a_reason(mode: Mode) -> None:
    result = run_cell(MISSING, mode, Device.CPU)
    assert result.status is Status.MISSING
    assert "no_such_hop" in (result.prop(Prop.REASON) or "")
    assert result.message == result.prop(Prop.REASON)
    assert result.prop(Prop.GAP) == Gap.HOP_NOT_REGISTERED


@pytest.mark.parametrize(
    ("specs", "absent"),
    [
        (("torch:cond",), ()),
        (("torch:no_such_thing|torch:cond",), ()),  # a renamed entry point: either name
        (("torch:cond", "torch:no_such_thing"), ("torch.no_such_thing",)),
        (("torch:no_such_thing|torch:nor_this",), ("torch.no_such_thing or torch.nor_this",)),
        (("torch.no_such_module:x", "torch:y"), ("torch.no_such_module.x", "torch.y")),
    ],
)
def test_requires_names_what_is_absent(specs: tuple[str, ...], absent: tuple[str, ...]) -> None:
    assert requires(*specs).absent() == absent


def test_every_catalogue_row_runs_here_or_says_why() -> None:
    # torch 2.13 has every HOP the catalogue knows; an older torch says which gap.
    for case in CATALOG:
        for mode in Mode:
            gap = resolve_gap(case, mode)
            assert gap is None or torch.__version__ in gap.reason


def _double(x: Any) -> Any:
    return x * 2


def _raise(x: Any) -> Any:
    raise ValueError("boom 0x1234 at /tmp/some/where.py line 12")


@pytest.mark.parametrize(
    ("fn", "status", "error_type"),
    [(_double, Status.PASS, None), (torch.nn.functional.relu, Status.PASS, None)],
)
def test_one_body_measures_a_real_export(fn: Any, status: Status, error_type: str | None) -> None:
    case = Case("toy", "simple", lambda d: (module_of(fn), (Sample((torch.ones(2, device=d),)),)))
    result = run_cell(case, Mode.AOT, Device.CPU)
    assert result.status is status
    assert result.prop(Prop.SAMPLES) == "1"
    assert result.prop(Prop.STRICT) in ("true", "false")
    assert leaked_state() is None


def test_an_exception_is_an_error_with_type_message_and_signature() -> None:
    case = Case("toy", "raises", lambda d: (module_of(_raise), (Sample((torch.ones(2),)),)))
    result = run_cell(case, Mode.NON_STRICT, Device.CPU)
    assert result.status is Status.ERROR
    assert result.prop(Prop.ERROR_TYPE) == "ValueError"
    assert "boom" in (result.prop(Prop.ERROR_MESSAGE) or "")
    assert result.prop(Prop.SIGNATURE) == result.message
    assert re.fullmatch(r"ValueError: boom <addr> at <path> line <n>", result.message)
    assert result.prop(Prop.SAMPLES) == "0"
    assert result.detail.splitlines()[-1] == "ValueError: boom 0x1234 at /tmp/some/where.py line 12"


def test_a_cell_error_is_scrubbed_before_any_cut() -> None:
    # Issue #15: the signature's cut fell between the password and its "@", so the token stayed.
    url = "https://user:hunter2QZX@pypi.example/simple"
    head = "cannot fetch " + "x" * (
        MAX_SIGNATURE - 1 - len("cannot fetch  from " + url.partition("@")[0])
    )
    message = f"{head} from {url}/torch/\n" + "y" * (MAX_DETAIL_CHARS + 10)  # every cut

    def leaks(device: str) -> Any:
        raise RuntimeError(message)

    result = run_cell(Case("toy", "leaks", leaks), Mode.AOT, Device.CPU)
    assert result.status is Status.ERROR
    texts = [result.message, result.detail, *(v for _, v in result.properties)]
    assert not [text for text in texts if "hunter2QZX" in text or "user:" in text]
    assert "https://pypi.example/simple" in (result.prop(Prop.ERROR_MESSAGE) or "")


def test_an_output_mismatch_is_a_fail() -> None:
    calls = {"n": 0}

    def differs(x: Any) -> Any:
        calls["n"] += 1  # eager runs once per sample, after export has traced it
        return x + calls["n"]

    case = Case("toy", "differs", lambda d: (module_of(differs), (Sample((torch.ones(2),)),)))
    result = run_cell(case, Mode.NON_STRICT, Device.CPU)
    assert result.status is Status.FAIL
    assert result.prop(Prop.ERROR_TYPE) == "AssertionError"
    assert result.prop(Prop.SAMPLES) == "1"


def test_catalogue_while_loop_serialize_records_carried_input_containers() -> None:
    (case,) = select(CATALOG, ("while_loop.simple",))
    result = run_cell(case, Mode.SERIALIZE, Device.CPU)
    assert result.prop(Prop.CARRIED_BEFORE) == "tuple"
    assert result.prop(Prop.CARRIED_AFTER) in ("tuple", "list")
    assert result.status in (Status.XFAIL, Status.XPASS, Status.PASS, Status.ERROR)
    if result.status is Status.XFAIL:
        assert "while_loop.serde-carried-inputs" in (result.prop(Prop.BEHAVIOURS) or "")


def test_modes_that_share_an_export_still_get_their_own_outcome() -> None:
    # aot shares its export with the mode that makes the same call: forward runs once to be
    # traced, then once per mode for eager. Its third call, the partner's eager run, raises:
    # the partner errs at "run" (had it exported again, at "export"), and aot still passes.
    calls = {"n": 0}

    def third_call_raises(x: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("the third call")
        return x * 2

    partner = Mode.STRICT if modes.aot_strict() else Mode.NON_STRICT
    case = Case(
        "toy", "third", lambda d: (module_of(third_call_raises), (Sample((torch.ones(2),)),))
    )
    aot, other = run_unit(case, (Mode.AOT, partner), Device.CPU)
    assert (aot.status, aot.prop(Prop.SAMPLES)) == (Status.PASS, "1")
    assert (other.status, other.prop(Prop.STEP)) == (Status.ERROR, "run")
    assert other.prop(Prop.SAMPLES) == "0"
