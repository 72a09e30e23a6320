"""compat.junit: both JUnit flavours in, one writer out; real files as fixtures."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from junitparser import xunit2

from compat.errors import JUnitFileError
from compat.junit import (
    KNOWN_HOPS,
    CaseOut,
    Counts,
    Flavour,
    ReadCache,
    SuiteCells,
    SuiteOut,
    count_elements,
    format_env_error,
    format_junit,
    parse_junit,
    read_suites,
    resolve_foreign,
    split_exception,
)
from suites.schema import JUNIT_ELEMENT, CellId, Device, Mode, Prop, Source, Status, SuiteProp

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
            "brand_new_op_simple",
            "default",
            "aot",
            "cpu",
        ),
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


def test_format_junit_reads_back_through_junitparser_xunit2() -> None:
    cases = [
        CaseOut("catalog.cond.simple", "aot[cpu]", Status.PASS, None, (("hop", "cond"),), 0.5),
        CaseOut(
            "catalog.scan.simple",
            "serialize[cpu]",
            Status.ERROR,
            'SerializeError: <"scan">\x1b[31m & more\nsecond line',
            (("hop", "scan"), ("error_message", "a\x00b & <c>")),
            1.25,
        ),
        CaseOut("catalog.map.simple", "aot[cpu]", Status.XFAIL, "known", (), 0.0),
    ]
    text = format_junit([SuiteOut("s[1]", (("target", "t1"),), cases), SuiteOut("s[2]", (), [])])
    xml = _read_back(text)
    suites = list(xml)
    assert [s.name for s in suites] == ["s[1]", "s[2]"]
    first = suites[0]
    assert (first.tests, first.errors, first.skipped, first.failures) == (3, 1, 1, 0)
    assert {p.name: p.value for p in first.properties()} == {"target": "t1"}
    got = list(first)
    props = {p.name: p.value for p in got[1].properties()}
    assert props == {"hop": "scan", "error_message": "a\ufffdb & <c>"}
    (error,) = got[1].result
    assert error.type == "error"
    assert error.message == 'SerializeError: <"scan">\ufffd[31m & more'
    assert error.text == 'SerializeError: <"scan">\ufffd[31m & more\nsecond line'
    assert got[2].result[0].type == "xfail"
    assert xml.tests == 3


def test_env_error_file_is_suite_format_and_scrubbed() -> None:
    text = format_env_error(
        "2.6.0-cu124", "no wheel on https://bot:t0ken@pypi.example/simple", build="cu124"
    )
    assert "t0ken" not in text
    (suite,) = parse_junit(text.encode(), "env.xml")
    assert suite.flavour is Flavour.SUITE
    assert suite.cells == ()
    assert suite.env_error == "no wheel on https://pypi.example/simple"
    props = dict(suite.properties)
    assert props[SuiteProp.TARGET] == "2.6.0-cu124" and props[SuiteProp.BUILD] == "cu124"
    (case,) = next(iter(_read_back(text)))
    assert {p.name: p.value for p in case.properties()}[Prop.STATUS] == "env-error"


# --- reading many files through one cache ------------------------------------------------

_SUITE = (DATA / "suite/suite-2.6.0-cu124.xml").read_text(encoding="utf-8")  # no comment
_CASE = '<testcase classname="upstream.while_loop.simple" name="aot[cpu]"'


def _merged() -> str:
    from report_fixtures import realistic_report

    from compat.render_junit import render_junit

    return render_junit(realistic_report())


@pytest.mark.parametrize(
    ("change", "text"),
    [
        ("as written", _SUITE),
        ("hand-written, with a comment", (DATA / "suite/hand-2.9.1-cpu.xml").read_text()),
        ("hand-written, not a cell", (DATA / "suite/hand-2.10.0-cpu.xml").read_text()),
        ("a comment between testcases", _SUITE.replace(_CASE, "<!-- x -->" + _CASE, 1)),
        ("a testcase in a comment", _SUITE.replace(_CASE, f"<!-- {_CASE} time='1' -->{_CASE}")),
        ("CDATA", _SUITE.replace("</properties>", "<x><![CDATA[<testcase ]]></x></properties>")),
        ("a processing instruction", _SUITE.replace(_CASE, "<?pi <testcase x?>" + _CASE, 1)),
        ("a newline after the tag name", _SUITE.replace("<testcase ", "<testcase\n")),
        ("one tag without a space", _SUITE.replace(_CASE, _CASE.replace(" ", "\t", 1), 1)),
        ("single quotes", _SUITE.replace('time="', "time='").replace("' >", "' >")),
        ("no time", _SUITE.replace(' time="', ' t="')),
        ("an empty time", _SUITE.replace(f'{_CASE} time="0.915"', f'{_CASE} time=""')),
        ("a time that is no number", _SUITE.replace(f'{_CASE} time="0.915"', f'{_CASE} time="x"')),
        ("a second result", _SUITE.replace(_CASE, _CASE + ' time="1"></testcase>' + _CASE, 1)),
        ("a self-closing testcase", _SUITE.replace(_CASE, _CASE + ' time="1" />' + _CASE, 1)),
        ("an entity", _SUITE.replace('value="while_loop"', 'value="w&amp;&#104;ile"', 1)),
        ("latin-1", _SUITE.replace("encoding='utf-8'", "encoding='latin-1'")),
        ("no declaration", _SUITE[_SUITE.index("<testsuites") :]),
        ("a DOCTYPE", _SUITE.replace("<testsuites", '<!DOCTYPE x [<!ENTITY e "1">]><testsuites')),
        ("cut off", _SUITE[: _SUITE.rindex("</testsuite>")]),
        ("cut off in a testcase", _SUITE[: _SUITE.index("</testcase>", 6000)]),
        ("a schema from the future", _SUITE.replace('ion" value="1"', 'ion" value="9"', 1)),
        ("a merged report", _merged()),
        ("an env-error file", format_env_error("2.6.0-cu124", "no wheel")),
    ],
)
def test_read_through_a_cache_as_without(change: str, text: str) -> None:
    data = text.encode("utf-8")
    try:
        expected: object = parse_junit(data, "x.xml")
    except JUnitFileError as err:
        expected = str(err)
    cache = ReadCache()
    primed = ReadCache()
    parse_junit(_SUITE.encode("utf-8"), "primer.xml", primed)
    for reader in (cache, cache, primed):  # cold, then the same file again, then another's
        try:
            got: object = parse_junit(data, "x.xml", reader)
        except JUnitFileError as err:
            got = str(err)
        assert got == expected, change


def test_the_suites_own_files_are_read_through_the_cache() -> None:
    (suite,) = read_suites(_SUITE.encode("utf-8"), "x.xml", ReadCache())
    assert isinstance(suite, SuiteCells)  # not the full reader's SuiteDoc


def test_read_suites_gives_the_cells_as_shared_results_and_times() -> None:
    cache = ReadCache()
    data = _SUITE.encode("utf-8")
    (first,) = read_suites(data, "a.xml", cache)
    later = data.replace(b'time="', b'time="7')
    (second,) = read_suites(later, "b.xml", cache)
    assert isinstance(first, SuiteCells) and isinstance(second, SuiteCells)
    assert [r is s for r, s in zip(first.results, second.results, strict=True)] == [True] * len(
        first.results
    )
    assert second.times == [c.time for c in parse_junit(later, "b.xml")[0].cells]
    assert all(t > 7 for t in second.times)
    (doc,) = parse_junit(data, "a.xml")
    assert first.doc() == doc


def test_merged_junit_writes_each_cells_own_time() -> None:
    """Times are formatted once per distinct value: each testcase still gets its own."""
    import dataclasses

    from report_fixtures import realistic_report

    from compat.render_junit import render_junit

    report = realistic_report()
    times = [0.0, 1e-7, 0.0005, 0.0015, 2.5, 123.4567, 7.0]
    cells = [dataclasses.replace(c, time=times[i % len(times)]) for i, c in enumerate(report.cells)]
    merged = dataclasses.replace(report, cells=tuple(cells))
    want = Counter((c.target, c.id.classname, c.id.name, f"{c.time:.3f}") for c in cells)
    got: Counter[tuple[str, str, str, str]] = Counter()
    for suite in _read_back(render_junit(merged)):
        target = {p.name: p.value for p in suite.properties()}[SuiteProp.TARGET]
        for case in suite:
            if case.classname != "environment":
                got[target, case.classname, case.name, case._elem.get("time")] += 1
    assert got == want


@pytest.mark.parametrize("as_text", [False, True])
def test_count_elements_counts_each_junit_element(as_text: bool) -> None:
    statuses = [Status.PASS, Status.FAIL, Status.FAIL, Status.SKIP, Status.XFAIL]
    statuses += [Status.ERROR, Status.CRASH, Status.TIMEOUT, Status.MISSING, Status.ENV_ERROR]
    given = [str(s.value) for s in statuses] if as_text else statuses
    expected = Counter(JUNIT_ELEMENT[s][0] for s in statuses)
    assert count_elements(iter(given)) == Counts(
        len(statuses), expected["failure"], expected["error"], expected["skipped"]
    )
