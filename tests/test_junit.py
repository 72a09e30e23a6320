"""compat.junit: both JUnit flavours in; real files as fixtures."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from junitparser import xunit2
from reference import reference_junit

from compat.artifacts import write_env_error
from compat.errors import JUnitFileError
from compat.junit import (
    HOP_DB_VARIANTS,
    KNOWN_HOPS,
    Flavour,
    KnownNames,
    SuiteDoc,
    known_names,
    parse_junit,
    resolve_foreign,
    split_exception,
    split_hop,
)
from compat.model import Report
from compat.render_junit import render_junit
from suites.schema import CellId, Device, Mode, Prop, Source, Status, SuiteProp

DATA = Path(__file__).parent / "data" / "junit"
CARRIED = "while_loop.serde-carried-inputs"


def _parse(name: str) -> tuple:
    path = DATA / name
    return parse_junit(path.read_bytes(), str(path))


def _statuses(cells) -> dict[str, int]:
    return dict(Counter(c.status.value for c in cells))


# --- the suite's own files ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "target", "statuses", "left_out", "env_error"),
    [
        (
            "suite/hand-2.9.1-cpu.xml",
            "2.9.1-cpu",
            {"pass": 3, "error": 1, "xpass": 1, "missing": 1, "skip": 1},
            0,
            None,
        ),
        (
            "suite/hand-2.10.0-cpu.xml",
            "",
            {"pass": 3, "error": 1, "xfail": 1},
            1,
            None,
        ),
        ("suite/env-error-2.5.1-cpu.xml", "2.5.1-cpu", {}, 0, "uv pip install torch==2.5.1"),
        # Real files written by `python -m suites --hop 'while_loop*'` in torch 2.13 and 2.6.
        ("suite/suite-2.13.0-cpu.xml", "2.13.0-cpu", {"pass": 16, "xpass": 4}, 0, None),
        (
            "suite/suite-2.6.0-cu124.xml",
            "2.6.0-cu124",
            {"pass": 9, "xfail": 3, "error": 3},
            0,
            None,
        ),
    ],
)
def test_suite_flavour(
    name: str, target: str, statuses: dict[str, int], left_out: int, env_error: str | None
) -> None:
    (suite,) = _parse(name)
    assert suite.flavour is Flavour.SUITE
    assert dict(suite.properties)[SuiteProp.TARGET] == target
    assert _statuses(suite.cells) == statuses  # counted from testcases, never the root
    assert len(suite.left_out) == left_out
    if env_error is None:
        assert suite.env_error is None
    else:
        assert suite.env_error is not None and suite.env_error.startswith(env_error)


def test_suite_cell_carries_its_facts() -> None:
    (suite,) = _parse("suite/hand-2.10.0-cpu.xml")
    by_id = {str(c.id): c for c in suite.cells}
    cell = by_id["catalog:while_loop.simple/serialize[cpu]"]
    assert cell.status is Status.XFAIL
    assert cell.error_type == "RuntimeError"
    assert cell.message == "carried_inputs must be a tuple but got <class 'list'>"
    assert cell.signature == "RuntimeError: carried_inputs must be a tuple but got <class 'list'>"
    props = dict(cell.properties)
    assert props[Prop.CARRIED_AFTER] == "list"
    assert cell.time == pytest.approx(1.0)
    assert suite.left_out == ("suite.setup::warmup (not named like a cell)",)


def test_suite_signature_is_never_recomputed() -> None:
    (suite,) = _parse("suite/hand-2.9.1-cpu.xml")
    (error,) = [c for c in suite.cells if c.status is Status.ERROR]
    assert error.signature == (
        "Unsupported: map_impl is not supported at <addr> (see https://pypi.internal.example/simple)"
    )


# --- broken inputs -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("broken/empty.xml", "is empty"),
        ("broken/truncated.xml", "not well-formed XML"),
        ("broken/not-junit.xml", "not JUnit (its root element is <project>, not <testsuites>"),
    ],
)
def test_broken_inputs_name_the_file_and_the_fix(name: str, words: str) -> None:
    with pytest.raises(JUnitFileError) as info:
        _parse(name)
    message = str(info.value)
    assert str(DATA / name) in message
    assert words in message
    assert message.endswith(".") and ("re-run" in message or "pass files" in message)


def test_unknown_schema_version_is_refused() -> None:
    data = (DATA / "suite/hand-2.9.1-cpu.xml").read_bytes()
    data = data.replace(b'name="schema_version" value="1"', b'name="schema_version" value="9"')
    with pytest.raises(JUnitFileError, match="schema '9'"):
        parse_junit(data, "new.xml")


# --- foreign (pytest) files --------------------------------------------------------------


def _foreign(name: str):
    (suite,) = _parse(name)
    assert suite.flavour is Flavour.FOREIGN
    return resolve_foreign(suite.raw, KNOWN_HOPS)


def test_seed_on_2_6_while_loop_serialize_passing_is_the_known_error() -> None:
    result = _foreign("seed-2.6.0.xml")
    by_id = {str(c.id): c for c in result.cells}
    assert len(result.cells) == 28  # 7 ops x 4 modes; TestHOPGeneric is not a cell
    assert result.left_out == (
        "test_hop_seed.TestHOPGeneric::test_all_hops_have_op_info (not a HOP export test)",
    )
    cell = by_id["upstream:while_loop.simple/serialize[cpu]"]
    assert (cell.status, cell.asserted, cell.error_type) == (
        Status.XFAIL,
        (CARRIED,),
        "RuntimeError",
    )
    assert by_id["upstream:while_loop.simple/retrace[cpu]"].status is Status.PASS
    skip = by_id["upstream:flex_attention_backward.simple/aot[cpu]"]
    assert skip.status is Status.SKIP
    assert dict(skip.properties)[Prop.REASON] == "Only runs on cuda"
    modes = {c.id.mode for c in result.cells}
    assert modes == {Mode.AOT, Mode.PRE_DISPATCH, Mode.RETRACE, Mode.SERIALIZE}


def test_seed_on_2_13_not_raised_is_xpass_and_wrapped_exceptions_are_unwrapped() -> None:
    result = _foreign("seed-2.13.0.xml")
    by_id = {str(c.id): c for c in result.cells}
    for hop in ("while_loop", "while_loop_stack_output"):
        cell = by_id[f"upstream:{hop}.simple/serialize[cpu]"]
        assert cell.status is Status.XPASS
        assert "RuntimeError not raised" in (cell.message or "")
    quant = by_id["upstream:invoke_quant.simple/aot[cpu]"]
    assert quant.status is Status.ERROR
    assert quant.error_type == "torch._export.verifier.SpecViolationError"
    assert quant.signature == "SpecViolationError: Node.meta invoke_quant is missing val field."
    assert _statuses(result.cells) == {"pass": 27, "error": 7, "xpass": 2}


def test_collection_error_makes_the_target_an_env_error() -> None:
    result = _foreign("seed-2.13.0-collection-error.xml")
    assert result.cells == ()
    assert result.env_error is not None
    assert "ImportError: cannot import name 'hop_that_doesnt_have_opinfo_test_allowlist'" in (
        result.env_error
    )


@pytest.mark.parametrize(
    ("name", "hop", "variant", "mode", "device"),
    [
        (
            "test_serialize_export_while_loop_simple_cpu_float32",
            "while_loop",
            "simple",
            "serialize",
            "cpu",
        ),
        (
            "test_aot_export_while_loop_stack_output_simple_cpu_float32",
            "while_loop_stack_output",
            "simple",
            "aot",
            "cpu",
        ),
        (
            "test_retrace_export_flex_attention_backward_explicit_buffers_cuda_float32",
            "flex_attention_backward",
            "explicit_buffers",
            "retrace",
            "cuda",
        ),
        (
            "test_pre_dispatch_export_map_triple_nested_cpu_float32",
            "map",
            "triple_nested",
            "pre_dispatch",
            "cpu",
        ),
        ("test_aot_export_cond_cpu_float32", "cond", "default", "aot", "cpu"),
        (
            "test_aot_export_brand_new_op_simple_cpu_float32",
            "brand_new_op",
            "simple",
            "aot",
            "cpu",
        ),
        ("test_aot_export_brand_new_op_cpu_float32", "brand_new_op", "default", "aot", "cpu"),
        ("test_aot_export_scan_simple_cuda0_float32", "scan", "simple", "aot", "cuda"),
    ],
)
def test_foreign_names_split_on_the_longest_known_hop(
    name: str, hop: str, variant: str, mode: str, device: str
) -> None:
    from compat.junit import RawCase

    raw = RawCase("test_hop.TestHOPCPU", name, 0.1, (), None, "", "", "")
    (cell,) = resolve_foreign([raw], KNOWN_HOPS).cells
    assert cell.id == CellId(Source.UPSTREAM, hop, variant, Mode(mode), Device(device))
    # Not the reference module: a pass is a pass, even for while_loop/serialize.
    assert cell.status is Status.PASS


_OLD_HOPS = KNOWN_HOPS - {"switch", "flex_gemm"}  # what this code knew up to 2.13


@pytest.mark.parametrize(
    ("body", "hops", "variants", "split"),
    [
        ("switch_simple", _OLD_HOPS, HOP_DB_VARIANTS, ("switch", "simple")),
        ("flex_gemm_simple", _OLD_HOPS, HOP_DB_VARIANTS, ("flex_gemm", "simple")),
        # A new HOP named after an old one: the known variant wins over the known prefix.
        ("cond_v2_simple", KNOWN_HOPS, HOP_DB_VARIANTS, ("cond_v2", "simple")),
        (
            "while_loop_stack_output_simple",
            set(),
            HOP_DB_VARIANTS,
            ("while_loop_stack_output", "simple"),
        ),
        # A variant a suite file names (hop_db 2.13+: flex_attention_backward.explicit_buffers).
        (
            "flex_attention_backward_explicit_buffers",
            set(),
            {"simple", "explicit_buffers"},
            ("flex_attention_backward", "explicit_buffers"),
        ),
        ("map_nested_simple", KNOWN_HOPS, {"simple", "nested_simple"}, ("map", "nested_simple")),
        ("cond", KNOWN_HOPS, HOP_DB_VARIANTS, ("cond", "default")),
        ("brand_new", set(), HOP_DB_VARIANTS, ("brand_new", "default")),
        ("_simple", set(), HOP_DB_VARIANTS, ("_simple", "default")),
    ],
)
def test_split_hop(body: str, hops: set[str], variants: set[str], split: tuple[str, str]) -> None:
    assert split_hop(body, KnownNames(frozenset(hops), frozenset(variants))) == split


def test_suite_files_add_their_hops_and_upstream_variants() -> None:
    (suite,) = _parse("suite/suite-2.6.0-cu124.xml")
    known = known_names([suite])
    registered = dict(suite.properties)[SuiteProp.REGISTERED_HOPS].split(",")
    assert set(registered) <= known.hops
    assert {c.id.hop for c in suite.cells} <= known.hops
    assert known.variants == HOP_DB_VARIANTS | {
        c.id.variant for c in suite.cells if c.id.source is Source.UPSTREAM
    }


def test_upstream_2_15_read_alone_splits_every_name() -> None:
    path = reference_junit("upstream-2.15.0.xml")
    (suite,) = parse_junit(path.read_bytes(), str(path))
    result = resolve_foreign(suite.raw)
    assert result.left_out == ()
    cases = {(c.id.hop, c.id.variant) for c in result.cells}
    assert cases == {
        (hop, "simple")
        for hop in (
            "auto_functionalize",
            "cond",
            "flex_gemm",
            "invoke_quant",
            "invoke_quant_packed",
            "invoke_subgraph",
            "register_hook",
            "scan",
            "switch",
            "while_loop",
            "while_loop_stack_output",
        )
    }
    assert len(result.cells) == 44  # 11 op infos x 4 modes, cpu
    # The same with what this code knew before 2.14: the variant rule finds switch, flex_gemm.
    before = resolve_foreign(suite.raw, KnownNames(hops=_OLD_HOPS))
    assert [c.id for c in before.cells] == [c.id for c in result.cells]


@pytest.mark.parametrize(
    ("result", "type_", "message", "status"),
    [
        (None, "", "", Status.PASS),
        ("skipped", "pytest.xfail", "known bug", Status.XFAIL),
        ("skipped", "pytest.skip", "Only runs on cuda", Status.SKIP),
        ("failure", "", "AssertionError: Tensor-likes are not close!", Status.FAIL),
        ("failure", "", "RuntimeError: boom", Status.ERROR),
        ("error", "", "fixture 'x' not found", Status.ERROR),
        ("failure", "", "[XPASS(strict)] known bug", Status.XPASS),
    ],
)
def test_pytest_outcomes(result: str | None, type_: str, message: str, status: Status) -> None:
    from compat.junit import RawCase

    raw = RawCase(
        "t.TestHOPCPU", "test_aot_export_cond_simple_cpu_float32", 0, (), result, type_, message, ""
    )
    (cell,) = resolve_foreign([raw], KNOWN_HOPS).cells
    assert cell.status is status


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("RuntimeError: boom", ("RuntimeError", "boom")),
        ("torch._dynamo.exc.UserError: a\nb", ("torch._dynamo.exc.UserError", "a\nb")),
        ("KeyboardInterrupt", ("KeyboardInterrupt", "")),
        ("Mismatched elements", (None, "Mismatched elements")),
        ("collection failure", (None, "collection failure")),
    ],
)
def test_split_exception(text: str, expected: tuple[str | None, str]) -> None:
    assert split_exception(text) == expected


# --- writing -----------------------------------------------------------------------------


def _read_back(text: str) -> xunit2.JUnitXml:
    return xunit2.JUnitXml.fromstring(text.encode("utf-8"))


def test_env_error_file_is_suite_format_and_scrubbed(tmp_path: Path) -> None:
    path = write_env_error(
        tmp_path / "env.xml",
        "2.6.0-cu124",
        "no wheel on https://bot:t0ken@pypi.example/simple",
        build="cu124",
    )
    text = path.read_text(encoding="utf-8")
    assert "t0ken" not in text
    (suite,) = parse_junit(text.encode(), "env.xml")
    assert suite.flavour is Flavour.SUITE
    assert suite.cells == ()
    assert suite.env_error == "no wheel on https://pypi.example/simple"
    props = dict(suite.properties)
    assert props[SuiteProp.TARGET] == "2.6.0-cu124" and props[SuiteProp.BUILD] == "cu124"
    (case,) = next(iter(_read_back(text)))
    assert {p.name: p.value for p in case.properties()}[Prop.STATUS] == "env-error"


# --- odd but valid XML, and broken XML -------------------------------------------------------

_SUITE = (DATA / "suite/suite-2.6.0-cu124.xml").read_text(encoding="utf-8")
_CASE = '<testcase classname="upstream.while_loop.simple" name="aot[cpu]"'
_WL_AOT = "upstream:while_loop.simple/aot[cpu]"


def _cells(suites: tuple[SuiteDoc, ...]) -> list[tuple[str, Status]]:
    return [(str(c.id), c.status) for suite in suites for c in suite.cells]


_AS_WRITTEN = _cells(parse_junit(_SUITE.encode("utf-8"), "x.xml"))


@pytest.mark.parametrize(
    ("change", "text"),
    [
        ("a comment between testcases", _SUITE.replace(_CASE, "<!-- x -->" + _CASE, 1)),
        ("a testcase in a comment", _SUITE.replace(_CASE, f"<!-- {_CASE} time='1' -->{_CASE}")),
        ("CDATA", _SUITE.replace("</properties>", "<x><![CDATA[<testcase ]]></x></properties>")),
        ("a processing instruction", _SUITE.replace(_CASE, "<?pi <testcase x?>" + _CASE, 1)),
        ("a newline after the tag name", _SUITE.replace("<testcase ", "<testcase\n")),
        ("latin-1", _SUITE.replace("encoding='utf-8'", "encoding='latin-1'")),
        ("no declaration", _SUITE[_SUITE.index("<testsuites") :]),
        ("a DOCTYPE", _SUITE.replace("<testsuites", '<!DOCTYPE x [<!ENTITY e "1">]><testsuites')),
    ],
)
def test_odd_but_valid_xml_reads_as_written(change: str, text: str) -> None:
    assert _cells(parse_junit(text.encode("utf-8"), "x.xml")) == _AS_WRITTEN, change


@pytest.mark.parametrize(
    ("change", "text"),
    [
        ("no time", _SUITE.replace(' time="', ' t="')),
        ("an empty time", _SUITE.replace(f'{_CASE} time="0.915"', f'{_CASE} time=""')),
        ("a time that is no number", _SUITE.replace(f'{_CASE} time="0.915"', f'{_CASE} time="x"')),
    ],
)
def test_a_missing_or_bad_time_is_zero(change: str, text: str) -> None:
    (suite,) = parse_junit(text.encode("utf-8"), "x.xml")
    (cell,) = [c for c in suite.cells if str(c.id) == _WL_AOT]
    assert cell.time == 0.0, change
    assert _cells((suite,)) == _AS_WRITTEN


@pytest.mark.parametrize(
    "text",
    [
        _SUITE.replace(_CASE, _CASE + ' time="1"></testcase>' + _CASE, 1),
        _SUITE.replace(_CASE, _CASE + ' time="1" />' + _CASE, 1),
    ],
)
def test_a_second_result_for_a_cell_is_left_out(text: str) -> None:
    (suite,) = parse_junit(text.encode("utf-8"), "x.xml")
    assert _cells((suite,)) == _AS_WRITTEN
    assert suite.left_out == (
        "upstream.while_loop.simple::aot[cpu] (a second result for this cell)",
    )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (_SUITE[: _SUITE.rindex("</testsuite>")], "not well-formed XML"),
        (_SUITE[: _SUITE.index("</testcase>", 6000)], "not well-formed XML"),
        (_SUITE.replace('ion" value="1"', 'ion" value="9"', 1), "schema '9'"),
    ],
)
def test_cut_off_or_future_files_are_refused(text: str, words: str) -> None:
    with pytest.raises(JUnitFileError, match=words):
        parse_junit(text.encode("utf-8"), "x.xml")


def test_an_entity_is_read_as_its_text() -> None:
    text = _SUITE.replace('value="while_loop"', 'value="w&amp;&#104;ile"', 1)
    (suite,) = parse_junit(text.encode("utf-8"), "x.xml")
    assert ("hop", "w&hile") in suite.cells[0].properties


def test_merged_junit_reads_back_as_the_same_cells_with_their_own_times() -> None:
    import dataclasses

    from report_fixtures import realistic_facts, realistic_report

    report = realistic_report()
    times = [0.0, 1e-7, 0.0005, 0.0015, 2.5, 123.4567, 7.0]
    cells = [dataclasses.replace(c, time=times[i % len(times)]) for i, c in enumerate(report.cells)]
    merged = Report.from_cells(report.targets, cells, report.behaviours)
    text = render_junit(merged, realistic_facts())
    want = Counter((c.target, c.id.classname, c.id.name, f"{c.time:.3f}") for c in cells)
    got: Counter[tuple[str, str, str, str]] = Counter()
    for suite in _read_back(text):
        target = {p.name: p.value for p in suite.properties()}[SuiteProp.TARGET]
        for case in suite:
            if case.classname != "environment":
                got[target, case.classname, case.name, case._elem.get("time")] += 1
    assert got == want
    read = parse_junit(text.encode("utf-8"), "junit.xml")
    by_target = {dict(s.properties)[SuiteProp.TARGET]: s for s in read}
    for cell in cells:
        (again,) = [c for c in by_target[cell.target].cells if c.id == cell.id]
        assert (again.status, again.error_type) == (cell.status, cell.error_type)
        if cell.message is not None:  # else the reader sees the status as the element's message
            assert again.message == cell.message
    broken = {t.id: t.env_error for t in report.targets if t.env_error}
    assert {t: by_target[t].env_error for t in broken} == broken
