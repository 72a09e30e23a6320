"""suites.results and suites.junit_xml: the wire format and the one JUnit writer (no torch)."""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import junitparser
import pytest

from suites.junit_xml import (
    ENV_CLASSNAME,
    Counts,
    Provenance,
    Testcase,
    Testsuite,
    count_elements,
    env_error_suite,
    junit_document,
    junit_timestamp,
    stamped,
    suite_name,
    write_junit,
    xml_safe,
)
from suites.results import CellResult, make_result
from suites.schema import JUNIT_ELEMENT, CellId, Device, Mode, Prop, Source, Status

CELL = CellId(Source.CATALOG, "while_loop", "simple", Mode.SERIALIZE, Device.CPU)
STAMP = Provenance("2026-11-30T09:15:02+00:00", "ci-7")


def _result(status: Status, **props: str) -> CellResult:
    return make_result(
        CELL, status, 1.25, props, message=f"{status} message", detail="line 1\nline 2"
    )


def _case(
    status: Status,
    *,
    seconds: float = 0.0,
    properties: tuple[tuple[str, str], ...] = (),
    message: str = "",
    detail: str = "",
) -> Testcase:
    return Testcase("c", "n", status, seconds, properties, message, detail)


def _one(case: Testcase, **render: bool) -> ET.Element:
    """The testcase element of a file holding only ``case``."""
    root = ET.fromstring(junit_document([Testsuite("s", (), (case,))], "r", **render))
    found = root.find("testsuite/testcase")
    assert found is not None
    return found


def _props(element: ET.Element) -> dict[str, str]:
    return {p.get("name", ""): p.get("value", "") for p in element.iterfind("properties/property")}


# ---------------------------------------------------------------- wire format


@pytest.mark.parametrize("status", list(Status))
def test_result_json_round_trip(status: Status) -> None:
    result = _result(status, **{Prop.SAMPLES: "1", Prop.ERROR_MESSAGE: "two\nlines"})
    assert CellResult.from_json(result.to_json()) == result


def test_make_result_carries_identity_and_orders_properties() -> None:
    result = make_result(CELL, Status.XFAIL, properties={Prop.SAMPLES: "1", Prop.BEHAVIOURS: "b"})
    names = [k for k, _ in result.properties]
    assert names == [
        "hop",
        "variant",
        "source",
        "mode",
        "device",
        "status",
        "behaviours",
        "samples",
    ]
    assert result.prop(Prop.STATUS) == "xfail"
    assert result.prop(Prop.HOP) == "while_loop"


def test_make_result_drops_empty_properties() -> None:
    result = make_result(CELL, Status.PASS, properties={Prop.EXPECTATION: ""})
    assert result.prop(Prop.EXPECTATION) is None


def test_a_cell_result_becomes_a_testcase_named_after_its_cell() -> None:
    result = _result(Status.ERROR, **{Prop.SAMPLES: "1"})
    case = result.testcase()
    assert CellId.from_junit(case.classname, case.name) == CELL
    assert (case.status, case.seconds, case.properties) == (
        result.status,
        result.seconds,
        result.properties,
    )
    assert (case.message, case.detail) == (result.message, result.detail)


# ---------------------------------------------------------------- result elements


@pytest.mark.parametrize(
    ("status", "element", "kind"), [(s, e, k) for s, (e, k) in JUNIT_ELEMENT.items()]
)
def test_each_status_is_spelled_per_schema(status: Status, element: str | None, kind: str) -> None:
    case = _one(_case(status, message=f"{status} message", detail="line 1\nline 2"))
    children = [c for c in case if c.tag != "properties"]
    if element is None:
        assert children == []
        return
    (child,) = children
    assert (child.tag, child.get("type"), child.get("message")) == (
        element,
        kind,
        f"{status} message",
    )
    assert child.text == "line 1\nline 2"


@pytest.mark.parametrize(
    ("status", "message", "detail", "attribute", "text"),
    [
        # A reader needs a message: without one, the status stands in.
        (Status.FAIL, "", "", "fail", None),
        (Status.TIMEOUT, "", "the log tail", "timeout", "the log tail"),
        (Status.ENV_ERROR, "", "", "env-error", None),
        (Status.SKIP, "why", "", "why", None),
        (Status.CRASH, "died", "faulthandler's stacks", "died", "faulthandler's stacks"),
    ],
)
def test_message_and_detail(
    status: Status, message: str, detail: str, attribute: str, text: str | None
) -> None:
    (child,) = [c for c in _one(_case(status, message=message, detail=detail))]
    assert child.get("message") == attribute
    assert child.text == text


def test_properties_are_written_in_order_and_omitted_when_empty() -> None:
    props = (("b", "2"), ("a", "1"), ("multi", "one\ntwo"))
    with_props = _one(_case(Status.PASS, properties=props))
    assert [(p.get("name"), p.get("value")) for p in with_props.iter("property")] == list(props)
    assert _one(_case(Status.PASS)).find("properties") is None


def test_times_have_three_decimals() -> None:
    assert _one(_case(Status.PASS, seconds=1.23456)).get("time") == "1.235"


# ---------------------------------------------------------------- counts


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], Counts(0, 0, 0, 0)),
        ([Status.PASS, Status.XPASS], Counts(2, 0, 0, 0)),
        ([Status.FAIL, Status.FAIL], Counts(2, 2, 0, 0)),
        (
            [Status.ERROR, Status.TIMEOUT, Status.CRASH, Status.ENV_ERROR],
            Counts(4, 0, 4, 0),
        ),
        ([Status.XFAIL, Status.SKIP, Status.MISSING], Counts(3, 0, 0, 3)),
        (list(Status), Counts(10, 1, 4, 3)),
    ],
)
def test_count_elements(statuses: list[Status], expected: Counts) -> None:
    assert count_elements(statuses) == expected
    assert count_elements(iter(statuses)) == expected


def test_counts_are_rebuilt_from_the_testcases_at_every_level() -> None:
    first = (Status.PASS, Status.FAIL, Status.ERROR, Status.XFAIL)
    second = (Status.TIMEOUT, Status.SKIP, Status.MISSING)
    suites = [
        Testsuite("one", (), tuple(_case(s, seconds=1.0) for s in first)),
        Testsuite("two", (), tuple(_case(s, seconds=0.5) for s in second)),
        Testsuite("empty", (), ()),
    ]
    root = ET.fromstring(junit_document(suites, "all"))

    def attrs(element: ET.Element) -> dict[str, str | None]:
        return {k: element.get(k) for k in ("tests", "failures", "errors", "skipped", "time")}

    assert attrs(root) == {
        "tests": "7",
        "failures": "1",
        "errors": "2",
        "skipped": "3",
        "time": "5.500",
    }
    one, two, empty = root.findall("testsuite")
    assert attrs(one) == {
        "tests": "4",
        "failures": "1",
        "errors": "1",
        "skipped": "1",
        "time": "4.000",
    }
    assert attrs(two) == {
        "tests": "3",
        "failures": "0",
        "errors": "1",
        "skipped": "2",
        "time": "1.500",
    }
    assert attrs(empty)["tests"] == "0"
    assert [s.get("name") for s in (one, two, empty)] == ["one", "two", "empty"]


def test_a_plain_junit_reader_sees_the_same_counts() -> None:
    cases = tuple(_case(s, message="m") for s in Status)
    data = junit_document([Testsuite("s", (("k", "v"),), cases)], "r")
    xml = junitparser.JUnitXml.fromstring(data.decode("utf-8"))
    (suite,) = list(xml)
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (10, 1, 4, 3)
    assert {p.name: p.value for p in suite.properties()} == {"k": "v"}


# ---------------------------------------------------------------- text


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("plain text", "plain text"),
        ("tab\tnewline\ncr\r", "tab\tnewline\ncr\r"),  # the three legal controls stay
        ("\x1b[31mred\x1b[0m", "red"),
        ("\x1b[1;32mbold green\x1b[m", "bold green"),
        ("\x1b[?25lcursor", "cursor"),
        ("nul\x00bel\x07", "nul\ufffdbel\ufffd"),
        ("\x0b\x0c\x0e\x1f", "\ufffd" * 4),
        ("lone \ud800 surrogate", "lone \ufffd surrogate"),
        ("\ufffe\uffff", "\ufffd\ufffd"),
        ("a lone \x1b escape", "a lone \ufffd escape"),
        ("unicode é ✓ 𝛑", "unicode é ✓ 𝛑"),
        ("", ""),
    ],
)
def test_xml_safe(text: str, safe: str) -> None:
    assert xml_safe(text) == safe


def test_illegal_characters_and_ansi_never_reach_the_xml() -> None:
    dirty = "\x1b[31mred\x1b[0m\x00\ud800"
    case = Testcase(
        classname=f"c{dirty}",
        name=f"n{dirty}",
        status=Status.ERROR,
        properties=((f"k{dirty}", f"v{dirty}"),),
        message=f"m{dirty}",
        detail=f"d{dirty}",
    )
    suite = Testsuite(f"s{dirty}", ((f"sk{dirty}", f"sv{dirty}"),), (case,))
    data = junit_document([suite], f"r{dirty}")
    root = ET.fromstring(data)  # would raise on an illegal character
    clean = "red\ufffd\ufffd"
    testsuite = root.find("testsuite")
    testcase = root.find("testsuite/testcase")
    error = root.find("testsuite/testcase/error")
    assert testsuite is not None and testcase is not None and error is not None
    assert root.get("name") == f"r{clean}"
    assert testsuite.get("name") == f"s{clean}"
    assert _props(testsuite) == {f"sk{clean}": f"sv{clean}"}
    assert (testcase.get("classname"), testcase.get("name")) == (f"c{clean}", f"n{clean}")
    assert _props(testcase) == {f"k{clean}": f"v{clean}"}
    assert (error.get("message"), error.text) == (f"m{clean}", f"d{clean}")


def test_markup_in_text_is_escaped() -> None:
    detail = "x < y && \"z\" > 'w' ]]>"
    (child,) = list(_one(_case(Status.FAIL, message=detail, detail=detail)))
    assert (child.get("message"), child.text) == (detail, detail)


# ---------------------------------------------------------------- layout


def test_indent_changes_only_whitespace() -> None:
    cases = tuple(_case(s, message="m", detail="d", properties=(("k", "v"),)) for s in Status)
    suites = [Testsuite("s", (("k", "v"),), cases)]
    indented = junit_document(suites, "r")
    flat = junit_document(suites, "r", indent=False)
    assert indented.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<testsuites ')
    assert flat.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<testsuites ')
    assert b"\n  <testsuite " in indented and flat.count(b"\n") == 2
    a, b = ET.fromstring(indented), ET.fromstring(flat)
    ET.indent(a)
    ET.indent(b)
    assert ET.tostring(a) == ET.tostring(b)


def test_the_suites_file_parses_back_into_cell_ids_and_properties() -> None:
    results = [_result(Status.PASS), _result(Status.ERROR), _result(Status.MISSING)]
    name = suite_name("2.6.0-cu124", "2.6.0+cu124")
    suite = Testsuite(name, (("torch_version", "2.6.0"),), tuple(r.testcase() for r in results))
    root = ET.fromstring(junit_document([suite], name))
    testsuite = root.find("testsuite")
    assert testsuite is not None
    assert root.get("name") == testsuite.get("name") == "hop-suite[2.6.0-cu124]"
    assert _props(testsuite) == {"torch_version": "2.6.0"}
    cases = testsuite.findall("testcase")
    assert [CellId.from_junit(c.get("classname", ""), c.get("name", "")) for c in cases] == [
        CELL
    ] * 3
    assert _props(cases[0])["status"] == "pass"
    assert cases[0].get("time") == "1.250"


# ---------------------------------------------------------------- env-error


@pytest.mark.parametrize(
    ("message", "build", "first_line"),
    [
        ("uv failed: no wheel", "cpu", "uv failed: no wheel"),
        ("target 2.6.0-cu124: could not install\nline two\nline three", None, None),
        ("colour \x1b[31mred\x1b[0m and nul \x00", "cu124", None),
    ],
)
def test_env_error_suite(message: str, build: str | None, first_line: str | None) -> None:
    suite = env_error_suite("2.6.0-cu124", message, build, STAMP)
    expected_props = [("schema_version", "1"), ("target", "2.6.0-cu124")]
    if build is not None:
        expected_props.append(("build", build))
    expected_props += [("run_date", STAMP.run_date), ("host", STAMP.host)]
    assert (suite.timestamp, suite.hostname) == ("2026-11-30T09:15:02", "ci-7")
    assert suite.name == suite_name("2.6.0-cu124", None) == "hop-suite[2.6.0-cu124]"
    assert list(suite.properties) == expected_props
    (case,) = suite.cases
    assert (case.classname, case.name, case.status) == (
        ENV_CLASSNAME,
        "install[2.6.0-cu124]",
        Status.ENV_ERROR,
    )
    assert dict(case.properties) == {"status": "env-error", "error_message": message}
    assert case.message == (first_line or message.splitlines()[0])
    assert case.detail == message

    root = ET.fromstring(junit_document([suite], suite.name))
    assert (root.get("tests"), root.get("errors")) == ("1", "1")
    error = root.find("testsuite/testcase/error")
    assert error is not None
    assert error.get("type") == "env-error"
    assert error.get("message") == xml_safe(case.message)
    assert error.text == xml_safe(message)


def test_an_env_error_suite_is_stamped_now_on_this_machine_by_default() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    props = dict(env_error_suite("2.6.0-cu124", "uv failed").properties)
    run_date = datetime.fromisoformat(props["run_date"])
    assert run_date.tzinfo == UTC and before <= run_date <= datetime.now(UTC)
    assert props["host"] == socket.gethostname()


# ---------------------------------------------------------------- provenance


@pytest.mark.parametrize(
    ("run_date", "timestamp"),
    [
        ("2026-11-30T09:15:02+00:00", "2026-11-30T09:15:02"),
        ("2026-11-30T10:15:02+01:00", "2026-11-30T09:15:02"),  # to UTC: JUnit's has no zone
        ("2026-11-30T09:15:02Z", "2026-11-30T09:15:02"),
        ("2026-11-30T09:15:02", "2026-11-30T09:15:02"),
        ("yesterday", ""),
        ("", ""),
    ],
)
def test_junit_timestamp(run_date: str, timestamp: str) -> None:
    assert junit_timestamp(run_date) == timestamp


def test_provenance_now_is_utc_to_the_second_on_this_host() -> None:
    stamp = Provenance.now()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", stamp.run_date)
    assert stamp.host == socket.gethostname()
    assert Provenance("", "").properties() == ()


def test_a_stamped_suite_carries_timestamp_and_hostname_for_every_junit_reader(
    tmp_path: Path,
) -> None:
    props = (("schema_version", "1"), *STAMP.properties())
    suite = stamped(Testsuite("hop-suite[t]", props, (_case(Status.PASS),)))
    path = tmp_path / "t.xml"
    write_junit(path, junit_document([suite], suite.name))
    element = ET.parse(path).getroot().find("testsuite")
    assert element is not None
    assert (element.get("timestamp"), element.get("hostname")) == ("2026-11-30T09:15:02", "ci-7")
    assert _props(element)["run_date"] == STAMP.run_date
    (read,) = junitparser.JUnitXml.fromfile(str(path))
    assert (read.timestamp, read.hostname) == ("2026-11-30T09:15:02", "ci-7")


def test_an_unstamped_suite_writes_neither_attribute() -> None:
    root = ET.fromstring(junit_document([Testsuite("s", (), ())], "r"))
    element = root.find("testsuite")
    assert element is not None and "timestamp" not in element.attrib
    assert "hostname" not in element.attrib


# ---------------------------------------------------------------- names and files


@pytest.mark.parametrize(
    ("target", "version", "expected"),
    [
        ("2.6.0-cu124", "2.6.0+cu124", "hop-suite[2.6.0-cu124]"),
        (None, "2.13.0", "hop-suite[2.13.0]"),
        (None, None, "hop-suite[unknown]"),
    ],
)
def test_suite_name(target: str | None, version: str | None, expected: str) -> None:
    assert suite_name(target, version) == expected


def test_write_junit_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "out" / "junit.xml"
    write_junit(path, b"<a/>")
    write_junit(path, b"<b/>")
    assert path.read_bytes() == b"<b/>"
    assert [p.name for p in path.parent.iterdir()] == ["junit.xml"]
