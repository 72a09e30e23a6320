"""The report tells the true story: each finding of a real multi-release run, on its real JUnit.

``tests/data/junit/story/`` holds the suite's own JUnit of nine torch targets
(2.3.1 ... 2.15.0 default builds and 2.13.0 cpu), cut down to the testcases of
nine cases and otherwise as the suite wrote them (see its README). Every
assertion here is about one finding: a new op read as a fix, aot's default
strictness flip read as a fix, expected failures counted as errors, xpass
where nothing was expected, behaviours matched by wording, gaps without a
reason, and "since" claiming versions never tested.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from report_fixtures import read_report

from compat.facts import expected_reason, resolve_facts
from compat.layout import since_label, strictness_flips
from compat.load import TargetOverrides
from compat.model import ChangeKind, Facts, Gap, Report, Verdict
from compat.render_json import render_json
from compat.render_md import render_markdown
from suites.schema import CellId, Status

STORY = Path(__file__).parent / "data" / "junit" / "story"
SEED = Path(__file__).parent / "data" / "junit" / "seed-2.6.0.xml"
CARRIED = "while_loop.serde-carried-inputs"
TUPLE = "while_loop.serde-tuple-to-list"


@pytest.fixture(scope="module")
def story() -> tuple[Report, Facts]:
    report = read_report([str(STORY)])
    return report, resolve_facts(report)


def _cell(report: Report, target: str, cell: str):  # type: ignore[no-untyped-def]
    wanted = CellId.parse(cell)
    return next(c for c in report.cells if c.target == target and c.id == wanted)


def _code_span(text: str) -> str:
    return f"`{text}`"


def _changes(facts: Facts, cell: str) -> list[tuple[str, str, str]]:
    return [(c.kind.value, c.before, c.after) for c in facts.changes if str(c.cell) == cell]


def test_the_story_has_the_targets_of_the_run(story: tuple[Report, Facts]) -> None:
    report, _ = story
    assert [t.id for t in report.targets] == [
        "2.3.1-cu121",
        "2.4.1-cu121",
        "2.5.1-cu124",
        "2.7.1-cu126",
        "2.8.0-cu128",
        "2.9.1-cu128",
        "2.15.0-cu132",
        "2.13.0-cpu",
    ]


def test_an_op_that_appears_is_new_not_fixed(story: tuple[Report, Facts]) -> None:
    _, facts = story
    # hop_db gains scan in 2.7 (not in 2.5.1's hop_db); the catalogue's scan is missing before.
    assert _changes(facts, "upstream:scan.simple/aot[cpu]") == [
        ("new", "2.5.1-cu124", "2.7.1-cu126")
    ]
    assert _changes(facts, "catalog:scan.simple/aot[cpu]") == [
        ("new", "2.5.1-cu124", "2.7.1-cu126")
    ]
    fixes = [c for c in facts.changes if c.kind is ChangeKind.FIX]
    assert fixes and all(c.before_status not in (None, Status.MISSING) for c in fixes)


def test_the_default_strictness_flip_is_not_a_fix(story: tuple[Report, Facts]) -> None:
    report, facts = story
    (flip,) = [
        c
        for c in facts.changes
        if str(c.cell) == "catalog:flex_attention.causal/aot[cpu]" and c.after == "2.8.0-cu128"
    ]
    assert (flip.kind, flip.before, flip.after) == (
        ChangeKind.DEFAULT_CHANGED,
        "2.7.1-cu126",
        "2.8.0-cu128",
    )
    assert flip.note == "strict true → false"
    assert strictness_flips(report) == ("cuda: aot strict ≤ 2.7.1, non-strict ≥ 2.8.0",)
    text = render_markdown(report, facts)
    assert "Default strictness flips: cuda: aot strict ≤ 2.7.1, non-strict ≥ 2.8.0." in text


def test_strict_export_is_measured_beside_aot(story: tuple[Report, Facts]) -> None:
    report, _ = story
    # From 2.8 aot is non-strict; the strict mode still measures strict export there.
    strict = _cell(report, "2.8.0-cu128", "catalog:flex_attention.causal/strict[cpu]")
    aot = _cell(report, "2.8.0-cu128", "catalog:flex_attention.causal/aot[cpu]")
    assert dict(strict.properties)["strict"] == "true"
    assert dict(aot.properties)["strict"] == "false"
    assert strict.status is Status.ERROR and aot.status is Status.PASS


def test_expected_failures_are_shown_and_counted_apart(story: tuple[Report, Facts]) -> None:
    report, facts = story
    cell = _cell(report, "2.9.1-cu128", "upstream:flex_attention.simple/aot[cpu]")
    assert cell.status is Status.ERROR
    assert expected_reason(cell) is not None
    text = render_markdown(report, facts)
    row = next(
        line for line in text.splitlines() if line.startswith("| `upstream:flex_attention.simple`")
    )
    assert "💥🔸" in row
    summary = text.splitlines()[4]
    expected = sum(expected_reason(c) is not None for c in report.cells)
    errors = sum(c.status is Status.ERROR and expected_reason(c) is None for c in report.cells)
    assert f"🔸 {expected} expected" in summary and f"💥 {errors} error" in summary
    assert '"expected":"upstream' in render_json(report, facts)
    # report.md says why, once per case and reason.
    section = text[text.index("## Expected failures") : text.index("## Gaps")]
    assert f"{_code_span('upstream:flex_attention.simple')} (" in section
    assert "upstream's op info has no float32 on cpu" in section or "only under CUDA" in section


def test_xpass_only_where_the_row_had_the_behaviour(story: tuple[Report, Facts]) -> None:
    report, facts = story
    # while_loop_stack_output first appears in 2.9.1, after the error was gone: a pass.
    first = _cell(report, "2.9.1-cu128", "upstream:while_loop_stack_output.simple/serialize[cpu]")
    assert first.status is Status.PASS
    # catalog while_loop reproduced the error up to 2.5.1: from 2.7.1 it is xpass, fixed.
    assert _cell(report, "2.7.1-cu126", "catalog:while_loop.simple/serialize[cpu]").status is (
        Status.XPASS
    )
    (fix,) = [
        c
        for c in facts.changes
        if str(c.cell) == "catalog:while_loop.simple/serialize[cpu]" and c.kind is ChangeKind.FIX
    ]
    # The symptom is gone; its cause, tuple -> list after save/load, is not.
    assert fix.note == f"still shows {TUPLE}"


def test_a_passing_cell_shows_the_behaviour_it_carries(story: tuple[Report, Facts]) -> None:
    report, facts = story
    cell = _cell(report, "2.15.0-cu132", "catalog:while_loop.simple/serialize[cpu]")
    assert cell.status in (Status.PASS, Status.XPASS) and TUPLE in cell.behaviours
    text = render_markdown(report, facts)
    block = text[text.index("### `serialize`") :]
    row = next(line for line in block.splitlines() if "`catalog:while_loop.simple`" in line)
    assert row.split(" | ")[7] in ("✅²", "🎉²")  # the 2.15.0 column


def test_the_2_3_wording_is_the_same_cause(story: tuple[Report, Facts]) -> None:
    report, facts = story
    old = _cell(report, "2.3.1-cu121", "catalog:while_loop.simple/serialize[cpu]")
    assert "operands must be a tuple" in (old.message or "")
    assert CARRIED in old.behaviours and TUPLE in old.behaviours
    verdicts = dict(next(r for r in facts.behaviours if r.behaviour.id == CARRIED).verdicts)
    assert verdicts["2.3.1-cu121"] is Verdict.REPRODUCED
    # closure fails on 2.3.1 before any save/load (its retrace fails too): not this cause.
    closure = _cell(report, "2.3.1-cu121", "catalog:while_loop.closure/serialize[cpu]")
    assert CARRIED not in closure.behaviours


def test_every_gap_has_its_reason(story: tuple[Report, Facts]) -> None:
    report, facts = story
    gap = facts.gap_of[("2.3.1-cu121", CellId.parse("upstream:while_loop.simple/aot[cpu]"))]
    assert gap.gap is Gap.HOP_DB_UNAVAILABLE and "hop_db" in gap.reason
    gap = facts.gap_of[("2.5.1-cu124", CellId.parse("upstream:scan.simple/aot[cpu]"))]
    assert gap.gap is Gap.NOT_IN_HOP_DB
    gap = facts.gap_of[("2.3.1-cu121", CellId.parse("catalog:flex_attention.causal/aot[cpu]"))]
    assert gap.gap is Gap.HOP_NOT_REGISTERED
    # 2.4.1 registers the flex_attention HOP; only the public API is absent.
    gap = facts.gap_of[("2.4.1-cu121", CellId.parse("catalog:flex_attention.causal/aot[cpu]"))]
    assert gap.gap is Gap.API_ABSENT and "torch.nn.attention.flex_attention" in gap.reason
    text = render_markdown(report, facts)
    assert "## Gaps" in text and "public API absent" in text and "hop\\_db unavailable" in text
    assert '"gap":"not in this release' in render_json(report, facts)


def test_since_claims_only_what_was_measured(story: tuple[Report, Facts]) -> None:
    report, facts = story
    by_id = {t.id: t for t in report.targets}
    since = {(str(s.cell), s.build): s for s in facts.since}
    # cond passes in 2.3.1, the oldest target: older ones were never tested.
    assert since_label(since["catalog:cond.simple/aot[cpu]", "cuda"], by_id) == "≤ 2.3.1"
    # scan did not exist before 2.7.1: that is where it starts, exactly.
    assert since_label(since["catalog:scan.simple/aot[cpu]", "cuda"], by_id) == "2.7.1"
    # upstream rows: 2.3.1 could not import hop_db, so 2.4.1 is the oldest measured.
    assert since_label(since["upstream:while_loop.simple/aot[cpu]", "cuda"], by_id) == "≤ 2.4.1"
    # One cpu target: nothing to compare, no "since cpu".
    assert not [s for s in facts.since if s.build == "cpu"]
    assert "since cpu" not in render_markdown(report, facts)


def test_a_foreign_file_cannot_measure_the_graph_behaviour() -> None:
    report = read_report([str(SEED)], overrides=TargetOverrides(default="2.6.0-cpu"))
    facts = resolve_facts(report)
    row = next(r for r in facts.behaviours if r.behaviour.id == TUPLE)
    assert dict(row.verdicts)["2.6.0-cpu"] is Verdict.NOT_MEASURED
    assert "| `while_loop.serde-tuple-to-list` | not measured |" in render_markdown(report, facts)
