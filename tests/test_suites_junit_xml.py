"""suites.results and suites.junit_xml: the wire format and the JUnit writer (no torch needed)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from suites.junit_xml import counts, render_junit, suite_name, write_junit
from suites.results import CellResult, make_result
from suites.schema import JUNIT_ELEMENT, CellId, Device, Mode, Prop, Source, Status

CELL = CellId(Source.CATALOG, "while_loop", "simple", Mode.SERIALIZE, Device.CPU)


def _result(status: Status, **props: str) -> CellResult:
    return make_result(
        CELL, status, 1.25, props, message=f"{status} message", detail="line 1\nline 2"
    )


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


@pytest.mark.parametrize(("status", "element"), [(s, e) for s, (e, _) in JUNIT_ELEMENT.items()])
def test_each_status_is_spelled_per_schema(status: Status, element: str | None) -> None:
    root = ET.fromstring(render_junit("hop-suite[x]", {}, [_result(status)]))
    case = root.find("testsuite/testcase")
    assert case is not None
    children = [c for c in case if c.tag != "properties"]
    if element is None:
        assert children == []
    else:
        (child,) = children
        assert child.tag == element
        assert child.get("type") == JUNIT_ELEMENT[status][1]
        assert child.get("message") == f"{status} message"
        assert child.text == "line 1\nline 2"


def test_junit_parses_back_into_cell_ids_and_properties() -> None:
    results = [_result(Status.PASS), _result(Status.ERROR), _result(Status.MISSING)]
    data = render_junit("hop-suite[2.6.0-cu124]", {"torch_version": "2.6.0"}, results)
    suite = ET.fromstring(data).find("testsuite")
    assert suite is not None
    assert suite.get("name") == "hop-suite[2.6.0-cu124]"
    assert {p.get("name"): p.get("value") for p in suite.iterfind("properties/property")} == {
        "torch_version": "2.6.0"
    }
    cases = suite.findall("testcase")
    assert [CellId.from_junit(c.get("classname", ""), c.get("name", "")) for c in cases] == [
        CELL
    ] * 3
    props = {p.get("name"): p.get("value") for p in cases[0].iterfind("properties/property")}
    assert props["status"] == "pass"
    assert cases[0].get("time") == "1.250"


def test_counts_are_rebuilt_from_cells() -> None:
    statuses = [Status.PASS, Status.FAIL, Status.ERROR, Status.TIMEOUT, Status.XFAIL, Status.SKIP]
    got = counts([_result(s) for s in statuses])
    assert got == {"tests": "6", "failures": "1", "errors": "2", "skipped": "2", "time": "7.500"}


def test_control_characters_and_ansi_codes_never_reach_the_xml() -> None:
    result = make_result(CELL, Status.ERROR, message="\x1b[31mred\x1b[0m\x00", detail="a\x07b")
    data = render_junit("s", {"k": "v\x01"}, [result])
    root = ET.fromstring(data)  # would raise on an illegal character
    error = root.find("testsuite/testcase/error")
    assert error is not None
    assert error.get("message") == "red"
    assert error.text == "ab"


def test_multiline_property_values_survive() -> None:
    result = make_result(CELL, Status.ERROR, properties={Prop.ERROR_MESSAGE: "one\ntwo"})
    root = ET.fromstring(render_junit("s", {}, [result]))
    props = {p.get("name"): p.get("value") for p in root.iterfind(".//testcase//property")}
    assert props["error_message"] == "one\ntwo"


@pytest.mark.parametrize(
    ("target", "version", "expected"),
    [
        ("2.6.0-cu124", "2.6.0+cu124", "hop-suite[2.6.0-cu124]"),
        (None, "2.13.0", "hop-suite[2.13.0]"),
    ],
)
def test_suite_name(target: str | None, version: str, expected: str) -> None:
    assert suite_name(target, version) == expected


def test_write_junit_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "out" / "junit.xml"
    write_junit(path, b"<a/>")
    write_junit(path, b"<b/>")
    assert path.read_bytes() == b"<b/>"
    assert [p.name for p in path.parent.iterdir()] == ["junit.xml"]
