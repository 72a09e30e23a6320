"""compat.timeline: spans, the lines that group modes with one history, and their text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from packaging.version import Version
from report_fixtures import read_report

from compat.facts import resolve_facts
from compat.layout import CHANGE_LABEL
from compat.model import Cell, ChangeKind, Report, TargetInfo
from compat.timeline import (
    MISSING,
    Span,
    Timeline,
    members_text,
    report_axes,
    resolve_spans,
    resolve_timelines,
    span_versions,
    spans_text,
    version_names,
)
from suites.schema import CellId, Device, Mode, Prop, Status

P, E, F, X, XP, S, M = (
    Status.PASS,
    Status.ERROR,
    Status.FAIL,
    Status.XFAIL,
    Status.XPASS,
    Status.SKIP,
    Status.MISSING,
)
STORY = Path(__file__).parent / "data" / "junit" / "story"
TWO_CASES = Path(__file__).parent / "data" / "junit" / "timeline"  # nine real targets
CUDA = ["2.4.1-cu121", "2.5.1-cu124", "2.7.1-cu126", "2.8.0-cu128", "2.9.1-cu128"]


def _target(tid: str) -> TargetInfo:
    version, build = tid.split("-", 1)
    return TargetInfo(tid, Version(version), build, f"{version}+{build}", f"{tid}.xml")


def _report(targets: Sequence[str], rows: Mapping[str, Sequence[Status | None]]) -> Report:
    """A report of these targets; per cell id its status in each target (None: no cell)."""
    cells = [
        Cell(target=t, id=CellId.parse(cid), status=status)
        for cid, statuses in rows.items()
        for t, status in zip(targets, statuses, strict=True)
        if status is not None
    ]
    return Report.from_cells(tuple(_target(t) for t in targets), cells, ())


def _lines(report: Report) -> list[str]:
    """Each timeline as text, as report.md writes it without Markdown."""
    facts = resolve_facts(report)
    names, axes = version_names(report.targets), report_axes(report)
    return [
        f"{t.case} · {t.family} · {members_text(t.members, *axes)}: "
        + spans_text(t.spans, names, lambda k: CHANGE_LABEL[k][0])
        for t in resolve_timelines(report, facts)
    ]


@pytest.mark.parametrize(
    ("points", "spans"),
    [
        ([], []),
        ([("a", "pass", False)], [("pass", ("a",))]),
        (
            [("a", "error", False), ("b", "error", False), ("c", "pass", False)],
            [("error", ("a", "b")), ("pass", ("c",))],
        ),
        # an expected failure is a state of its own
        (
            [("a", "error", True), ("b", "error", False), ("c", "error", False)],
            [("error", ("a",)), ("error", ("b", "c"))],
        ),
        (
            [("a", "pass", False), ("b", "skip", False), ("c", "pass", False)],
            [("pass", ("a",)), ("skip", ("b",)), ("pass", ("c",))],
        ),
    ],
)
def test_spans_run_length_encode_the_points(
    points: list[tuple[str, str, bool]], spans: list[tuple[str, tuple[str, ...]]]
) -> None:
    assert [(s.state, s.targets) for s in resolve_spans(points)] == spans


NAMES = {"a": "2.3.1", "b": "2.4.1", "c": "2.5.1", "d": "2.6.0"}


@pytest.mark.parametrize(
    ("targets", "position", "count", "text"),
    [
        (("a", "b"), 0, 3, "≤2.4.1"),  # the first of several: older versions were not measured
        (("c", "d"), 2, 3, "≥2.5.1"),  # the last: it holds in the newest
        (("b", "c"), 1, 3, "2.4.1–2.5.1"),  # noqa: RUF001
        (("b",), 1, 3, "2.4.1"),
        (("a", "d"), 0, 1, "2.3.1–2.6.0"),  # the only one: no change to bound it  # noqa: RUF001
        (("a",), 0, 1, "2.3.1"),
    ],
)
def test_span_versions(targets: tuple[str, ...], position: int, count: int, text: str) -> None:
    assert span_versions(Span("pass", targets), position, count, NAMES) == text


def test_spans_text_marks_the_change_into_a_state_and_expected_failures() -> None:
    spans = (
        Span("error", ("a",), expected=True),
        Span("pass", ("b", "c"), change=ChangeKind.FIX),
        Span("error", ("d",), change=ChangeKind.REGRESSION),
    )
    text = spans_text(spans, NAMES, lambda k: CHANGE_LABEL[k][0], "🔸")
    assert text == "error🔸 ≤2.3.1 → 🔺pass 2.4.1–2.5.1 → 🔻error ≥2.6.0"  # noqa: RUF001
    assert spans_text(spans, NAMES) == "error ≤2.3.1 → pass 2.4.1–2.5.1 → error ≥2.6.0"  # noqa: RUF001


ALL = tuple(Mode)


@pytest.mark.parametrize(
    ("members", "devices", "text"),
    [
        ([(Mode.AOT, Device.CPU), (Mode.RETRACE, Device.CPU)], [Device.CPU], "aot, retrace"),
        ([(m, Device.CPU) for m in ALL], [Device.CPU], "all modes"),
        (
            [(m, d) for m in ALL for d in (Device.CPU, Device.CUDA)],
            [Device.CPU, Device.CUDA],
            "all modes on cpu, cuda",
        ),
        (
            [(Mode.AOT, Device.CPU), (Mode.SERIALIZE, Device.CPU), (Mode.SERIALIZE, Device.CUDA)],
            [Device.CPU, Device.CUDA],
            "aot on cpu; serialize on cpu, cuda",
        ),
    ],
)
def test_members_text(members: list[tuple[Mode, Device]], devices: list[Device], text: str) -> None:
    assert members_text(members, ALL, devices) == text


def test_version_names_use_the_id_where_a_family_has_a_version_twice() -> None:
    targets = [_target(t) for t in ("2.8.0-cu126", "2.8.0-cu128", "2.9.1-cu128", "2.8.0-cpu")]
    assert version_names(targets) == {
        "2.8.0-cu126": "2.8.0-cu126",
        "2.8.0-cu128": "2.8.0-cu128",
        "2.9.1-cu128": "2.9.1",
        "2.8.0-cpu": "2.8.0",
    }


AOT = "catalog:associative_scan.cumsum/aot[cpu]"
PRE = "catalog:associative_scan.cumsum/pre_dispatch[cpu]"
SER = "catalog:associative_scan.cumsum/serialize[cpu]"
COND = "catalog:cond.simple/aot[cpu]"


def test_modes_with_the_same_history_share_a_line() -> None:
    report = _report(
        CUDA,
        {
            AOT: [E, P, E, E, P],
            PRE: [E, P, E, E, P],
            SER: [E, E, E, E, P],
        },
    )
    assert _lines(report) == [
        "catalog:associative_scan.cumsum · cuda · aot, pre_dispatch: "
        "error ≤2.4.1 → 🔺pass 2.5.1 → 🔻error 2.7.1–2.8.0 → 🔺pass ≥2.9.1",  # noqa: RUF001
        "catalog:associative_scan.cumsum · cuda · serialize: error ≤2.8.0 → 🔺pass ≥2.9.1",
    ]


def test_lines_without_a_change_are_left_out_and_kinds_come_in_order() -> None:
    report = _report(
        CUDA,
        {
            COND: [P, P, P, P, P],  # no change
            "catalog:cond.simple/retrace[cpu]": [E, E, P, P, P],  # a fix
            "catalog:map.simple/aot[cpu]": [M, M, P, P, P],  # new
            "catalog:scan.simple/aot[cpu]": [P, P, P, E, E],  # a regression
        },
    )
    timelines = resolve_timelines(report, resolve_facts(report))
    assert [(t.case, t.kind) for t in timelines] == [
        ("catalog:scan.simple", ChangeKind.REGRESSION),
        ("catalog:cond.simple", ChangeKind.FIX),
        ("catalog:map.simple", ChangeKind.NEW),
    ]


def test_newest_change_first_within_a_kind() -> None:
    report = _report(
        CUDA,
        {
            "catalog:a.x/aot[cpu]": [P, E, E, E, E],
            "catalog:b.x/aot[cpu]": [P, P, P, E, E],
            "catalog:c.x/aot[cpu]": [P, P, E, E, E],
        },
    )
    timelines = resolve_timelines(report, resolve_facts(report))
    assert [t.case for t in timelines] == ["catalog:b.x", "catalog:c.x", "catalog:a.x"]


def test_a_case_that_did_not_exist_is_missing_and_its_first_state_is_new() -> None:
    report = _report(CUDA, {AOT: [M, E, P, P, P]})
    (line,) = _lines(report)
    assert line.endswith(": missing ≤2.4.1 → 🆕error 2.5.1 → 🔺pass ≥2.7.1")


def test_a_skipped_version_shows_but_the_change_spans_it() -> None:
    report = _report(CUDA, {AOT: [P, P, S, E, E]})
    (timeline,) = resolve_timelines(report, resolve_facts(report))
    assert [(s.state, s.change) for s in timeline.spans] == [
        ("pass", None),
        ("skip", None),
        ("error", ChangeKind.REGRESSION),
    ]
    assert timeline.changes(ChangeKind.REGRESSION) == 1


def test_families_get_lines_of_their_own() -> None:
    targets = ["2.6.0-cu124", "2.9.1-cu128", "2.6.0-cpu", "2.9.1-cpu"]
    report = _report(targets, {COND: [P, E, E, P]})
    assert _lines(report) == [
        "catalog:cond.simple · cuda · aot: pass ≤2.6.0 → 🔻error ≥2.9.1",
        "catalog:cond.simple · cpu · aot: error ≤2.6.0 → 🔺pass ≥2.9.1",
    ]


def test_default_changed_is_not_grouped_with_a_fix() -> None:
    strict = {"true": (("strict", "true"),), "false": (("strict", "false"),)}
    cells = [
        Cell(t, CellId.parse(cid), status, properties=strict[flag])
        for cid, flags in ((AOT, ("true", "false")), (PRE, ("false", "false")))
        for t, status, flag in zip(CUDA[3:], (E, P), flags, strict=True)
    ]
    report = Report.from_cells(tuple(_target(t) for t in CUDA[3:]), cells, ())
    timelines = resolve_timelines(report, resolve_facts(report))
    assert [(t.members, t.kind, t.notes) for t in timelines] == [
        (((Mode.PRE_DISPATCH, Device.CPU),), ChangeKind.FIX, ()),
        (((Mode.AOT, Device.CPU),), ChangeKind.DEFAULT_CHANGED, ("strict true → false",)),
    ]


def test_expected_failures_are_marked() -> None:
    cell = Cell(
        "2.5.1-cu124",
        CellId.parse("upstream:cond.simple/aot[cpu]"),
        E,
        properties=((Prop.EXPECTATION.value, "onlyCUDA"),),
    )
    other = Cell("2.4.1-cu121", CellId.parse("upstream:cond.simple/aot[cpu]"), M)
    report = Report.from_cells((_target(CUDA[0]), _target(CUDA[1])), [other, cell], ())
    (timeline,) = resolve_timelines(report, resolve_facts(report))
    assert [(s.state, s.expected) for s in timeline.spans] == [(MISSING, False), ("error", True)]


def test_real_regressions_read_as_two_lines() -> None:
    # The real run: associative_scan.cumsum regressed in 2.7.1 in every mode and came back in
    # 2.9.1; wrap_with_autocast.bfloat16 regressed in 2.8.0 in four modes. The flat list of
    # changes had 35 rows for the two cases, ten of them regressions.
    report = read_report([str(TWO_CASES)])
    assert _lines(report)[:2] == [
        "catalog:wrap_with_autocast.bfloat16 · cuda · strict, pre_dispatch, retrace, serialize: "
        "missing ≤2.4.1 → 🆕pass 2.5.1–2.7.1 → 🔻error ≥2.8.0",  # noqa: RUF001
        "catalog:associative_scan.cumsum · cuda · all modes: "
        "missing ≤2.3.1 → 🆕error 2.4.1 → 🔺pass 2.5.1 → 🔻error 2.7.1–2.8.0 → 🔺pass ≥2.9.1",  # noqa: RUF001
    ]
    facts = resolve_facts(report)
    assert sum(c.kind is ChangeKind.REGRESSION for c in facts.changes) == 10
    assert len(facts.changes) == 35 and len(_lines(report)) == 4


@pytest.mark.parametrize("folder", [STORY, TWO_CASES])
def test_every_change_is_on_exactly_one_line(folder: Path) -> None:
    report = read_report([str(folder)])
    facts = resolve_facts(report)
    timelines = resolve_timelines(report, facts)
    for kind in ChangeKind:
        assert sum(t.changes(kind) for t in timelines) == sum(c.kind is kind for c in facts.changes)
    keys = [(t.case, t.family, t.members) for t in timelines]
    assert all(isinstance(t, Timeline) for t in timelines) and len(keys) == len(set(keys))
