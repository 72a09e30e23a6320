"""The report tells the truth about what #18 adds, on JUnit the suite's own writer made.

``report_fixtures.write_coverage_junit`` writes two cpu targets (2.6.0, 2.9.1) with the
``dynamic`` and ``aoti`` modes, a case too old for 2.6.0, ExportDB rows with their
declared support level, and a user case. Each test is one claim the report makes about
them, checked in every output that makes it.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
from report_fixtures import COVERAGE_TARGETS, SPECIALISED, coverage_report

from compat.audit import AuditSide, render_audit_summary, resolve_audit
from compat.facts import expected_reason, resolve_facts
from compat.layout import MODE_MEANING, status_counts
from compat.model import ChangeKind, ClaimMiss, Facts, Gap, Report
from compat.overview import ran
from compat.render_html import render_html
from compat.render_json import render_json
from compat.render_md import render_markdown
from compat.render_summary import render_summary
from compat.render_svg import _MODE_LOOK
from compat.render_terminal import render_terminal
from compat.timeline import resolve_timelines
from suites.schema import CellId, Mode, Source, Status

OLD, NEW = COVERAGE_TARGETS
_DATA_BLOCK = re.compile(r'<script type="application/json" id="report-data">(.*?)</script>', re.S)


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> tuple[Report, Facts]:
    report = coverage_report(tmp_path_factory.mktemp("coverage"))
    return report, resolve_facts(report)


@pytest.fixture(scope="module")
def no_aoti(tmp_path_factory: pytest.TempPathFactory) -> tuple[Report, Facts]:
    report = coverage_report(tmp_path_factory.mktemp("without"), aoti=False)
    return report, resolve_facts(report)


def _html_data(html: str) -> dict[str, Any]:
    match = _DATA_BLOCK.search(html)
    assert match is not None
    data = json.loads(match[1])
    assert isinstance(data, dict)
    return data


def _section(text: str, heading: str) -> str:
    """A report.md section: from its heading to the next one of its level."""
    start = text.index(heading)
    level = heading.split(" ")[0] + " "
    end = text.find("\n" + level, start + len(heading))
    return text[start : end if end != -1 else len(text)]


def _cell(report: Report, target: str, cell: str):  # type: ignore[no-untyped-def]
    wanted = CellId.parse(cell)
    return next(c for c in report.cells if c.target == target and c.id == wanted)


# --- the modes ------------------------------------------------------------------------


def test_every_mode_has_a_meaning_and_a_look() -> None:
    assert set(MODE_MEANING) == set(Mode)
    assert set(_MODE_LOOK) == set(Mode)
    assert len({look for look in _MODE_LOOK.values()}) == len(Mode)  # no two alike


def test_dynamic_and_aoti_cells_get_their_blocks_everywhere(story: tuple[Report, Facts]) -> None:
    report, facts = story
    text = render_markdown(report, facts)
    for mode in (Mode.DYNAMIC, Mode.AOTI):
        block = _section(text, f"### `{mode}`")
        assert f"{MODE_MEANING[mode]}." in block
        assert "| `user:cond.my_model` | ✅ | ✅ |" in block
    assert "4 modes" in text.splitlines()[2]
    html = render_html(report, facts)
    data = _html_data(html)
    assert [b["mode"] for b in data["blocks"]] == ["aot", "serialize", "dynamic", "aoti"]
    assert data["overview"]["modes"] == ["aot", "serialize", "dynamic", "aoti"]
    assert 'name="mode" value="aoti"' in html and 'data-mode="dynamic"' in html
    modes = {row["mode"] for row in json.loads(render_json(report, facts))["cells"]}
    assert modes == {"aot", "serialize", "dynamic", "aoti"}


def test_a_matrix_without_aoti_cells_shows_no_aoti_anywhere(
    no_aoti: tuple[Report, Facts],
) -> None:
    report, facts = no_aoti
    assert {row.id.mode for row in report.rows} == {Mode.AOT, Mode.SERIALIZE, Mode.DYNAMIC}
    outputs = {
        "report.md": render_markdown(report, facts),
        "report.html": render_html(report, facts),
        "report.json": render_json(report, facts),
        "summary.md": render_summary(report, facts),
    }
    for name, text in outputs.items():
        assert "aoti" not in text, name  # no block, column, segment, filter, legend or row
    # and no gap claims that 2.6.0 or 2.9.1 lacks an aoti column
    assert not [g for g in facts.gaps if g.gap is Gap.NOT_RUN]


def test_aoti_compile_times_per_target(story: tuple[Report, Facts]) -> None:
    report, facts = story
    block = _section(render_markdown(report, facts), "### `aoti`")
    assert "- 2.6.0-cpu: median 38.4 s, longest 45.6 s (catalog:cond.fixed\\_batch), 2 cells" in (
        block
    )
    assert "- 2.9.1-cpu: median 16.3 s, longest 20.1 s" in block
    html = render_html(report, facts)
    assert "Compile time of torch._inductor.aoti_compile_and_package" in html
    notes = [r[9] for r in _html_data(html)["results"]]
    assert ["compile time (s)", "31.2"] in [n for found in notes for n in found]


# --- dynamic: a specialised batch is a failure, and says so -------------------------------


def test_a_specialised_batch_reads_as_such_wherever_the_failure_is_listed(
    story: tuple[Report, Facts],
) -> None:
    report, facts = story
    cell = _cell(report, NEW, "catalog:cond.fixed_batch/dynamic[cpu]")
    assert cell.status is Status.FAIL and cell.message == SPECIALISED
    (regression,) = [
        c for c in facts.changes if c.kind is ChangeKind.REGRESSION and c.cell == cell.id
    ]
    assert (regression.before, regression.after) == (OLD, NEW)

    text = render_markdown(report, facts)
    regressions = _section(text, "### 🔻 Regressions")
    assert (
        "- `catalog:cond.fixed_batch` · cpu · dynamic: pass ≤2.6.0 → 🔻fail ≥2.9.1" in regressions
    )
    block = _section(text, "### `dynamic`")
    assert "| `catalog:cond.fixed_batch` | ✅ | ❌ | never |" in block
    assert (
        "- `catalog:cond.fixed_batch`: args\\[1\\].0 specialised to 4 on 2.6.0-cpu; "
        "args\\[0\\].0 specialised to 3, args\\[1\\].0 specialised to 4 on 2.9.1-cpu"
    ) in block
    assert "`AssertionError: export specialised the batch dimension" in text

    # report.html: the cell's tooltip detail names the dims, its details panel lists them
    data = _html_data(render_html(report, facts))
    (result,) = [r for r in data["results"] if r[3] == SPECIALISED]
    assert result[6].endswith("· args[0].0 specialised to 3, args[1].0 specialised to 4")
    assert ["dynamic dims", "args[0].0 specialised to 3, args[1].0 specialised to 4"] in result[9]

    # an audit of 2.9.1 against 2.6.0 lists the regression with the dims its signature lost
    audited, audit_facts, audit = resolve_audit(
        report, AuditSide("candidate", NEW, "x"), AuditSide("baseline", OLD, "y")
    )
    summary = render_audit_summary(audited, audit_facts, audit)
    row = next(line for line in summary.splitlines() if "fixed_batch/dynamic" in line)
    assert row.endswith("(args\\[0\\].0 specialised to 3, args\\[1\\].0 specialised to 4) |"), row


# --- a release too old for a case ---------------------------------------------------------


def test_a_release_too_old_is_a_gap_of_its_own_and_what_follows_is_new(
    story: tuple[Report, Facts],
) -> None:
    report, facts = story
    rows = [row.id for row in report.rows if row.id.case == "catalog:scan.dict_carry"]
    assert len(rows) == 4
    for cell_id in rows:
        gap = facts.gap_of[OLD, cell_id]
        assert gap.gap is Gap.TOO_OLD and "needs torch 2.7 or newer" in gap.reason
    changes = [c for c in facts.changes if c.cell in rows]
    assert [c.kind for c in changes] == [ChangeKind.NEW] * 4
    (line,) = [t for t in resolve_timelines(report, facts) if t.case == "catalog:scan.dict_carry"]
    assert line.kind is ChangeKind.NEW
    assert [(s.state, s.change) for s in line.spans] == [
        ("missing", None),
        ("pass", ChangeKind.NEW),
    ]

    text = render_markdown(report, facts)
    assert "- `catalog:scan.dict_carry` · cpu · all modes: missing ≤2.6.0 → 🆕pass ≥2.9.1" in text
    assert "| `catalog:scan.dict_carry` | ◁ | ✅ | 2.9.1 |" in _section(text, "### `aot`")
    assert "◁ release too old: the case's public API needs a newer torch" in text
    assert "| `2.6.0-cpu` | release too old | 4 |" in _section(text, "## Gaps")
    gaps = json.loads(render_json(report, facts))["facts"]["gaps"]
    assert {g["gap"] for g in gaps if g["target"] == OLD} >= {"release too old"}

    data = _html_data(render_html(report, facts))
    codes = {code[2]: chr(97 + i) for i, code in enumerate(data["statuses"])}
    (row,) = [r for b in data["blocks"] if b["mode"] == "aot" for r in b["rows"] if "scan" in r[0]]
    assert row[3] == codes["release too old"] + codes["pass"]
    assert data["statuses"][ord(codes["release too old"]) - 97] == [
        "missing",
        "◁",
        "release too old",
        True,
    ]


def test_an_exportdb_row_without_a_cell_says_why_and_is_new_only_where_it_did_not_exist(
    story: tuple[Report, Facts],
) -> None:
    report, facts = story
    cell = CellId.parse("exportdb:map.map_over_dict/aot[cpu]")
    assert facts.gap_of[OLD, cell].gap is Gap.NOT_IN_EXPORTDB
    assert [c.kind for c in facts.changes if c.cell == cell] == [ChangeKind.NEW]
    # ... unless that release's run was cut short: then it may just not have got there
    old = report.targets[0]
    cut = dataclasses.replace(old, properties=(*old.properties, ("interrupted", "killed")))
    facts = resolve_facts(dataclasses.replace(report, targets=(cut, *report.targets[1:])))
    assert facts.gap_of[OLD, cell].gap is Gap.CUT_SHORT
    assert [c.kind for c in facts.changes if c.cell == cell] == []
    # ... and where ExportDB could not be loaded at all, every exportdb row says so
    broken = dataclasses.replace(
        old, properties=(*old.properties, ("exportdb", "unavailable: ImportError: no examples"))
    )
    without = Report.from_cells(
        (broken, *report.targets[1:]),
        [c for c in report.cells if c.target != OLD or c.id.source is not Source.EXPORTDB],
        report.behaviours,
    )
    facts = resolve_facts(without)
    exportdb = [r.id for r in without.rows if r.id.source is Source.EXPORTDB]
    assert {facts.gap_of[OLD, c].gap for c in exportdb} == {Gap.EXPORTDB_UNAVAILABLE}
    assert facts.gap_of[OLD, cell].reason == "ImportError: no examples"
    assert not [c for c in facts.changes if c.cell in exportdb]


# --- ExportDB's claims ----------------------------------------------------------------------


def test_not_supported_yet_failures_are_expected_ones(story: tuple[Report, Facts]) -> None:
    report, facts = story
    cell = _cell(report, OLD, "exportdb:cond.dynamic_shape_if_guard/aot[cpu]")
    assert cell.status is Status.ERROR
    assert expected_reason(cell) == "ExportDB declares it not supported yet"
    assert not ran(cell)  # left out of the overview's pass rates, as upstream's are
    assert dict(status_counts(report))[Status.ERROR] == 1  # only the unexpected one
    text = render_markdown(report, facts)
    assert "💥 1 error · ∅ 4 missing · 🔸 5 expected (ExportDB declares them)" in text
    assert "| `exportdb:cond.dynamic_shape_if_guard` | 💥🔸 | ✅ |" in _section(text, "### `aot`")
    assert (
        "- `exportdb:cond.dynamic_shape_if_guard` (aot[cpu], aoti[cpu], dynamic[cpu], "
        "serialize[cpu]): ExportDB declares it not supported yet; 2 targets"
    ) in _section(text, "## Expected failures")
    assert "🔸 5 expected (ExportDB declares them)" in render_summary(report, facts)
    assert '"expected":"ExportDB declares it not supported yet"' in render_json(report, facts)


def test_claims_list_where_the_declared_level_and_the_measurement_disagree(
    story: tuple[Report, Facts],
) -> None:
    report, facts = story
    assert [(row.case, row.misses) for row in facts.claims] == [
        (
            "exportdb:cond.cond_branch_class_method",
            (
                ClaimMiss(
                    NEW,
                    CellId.parse("exportdb:cond.cond_branch_class_method/serialize[cpu]"),
                    "SUPPORTED",
                    Status.ERROR,
                ),
            ),
        ),
        (
            "exportdb:cond.dynamic_shape_if_guard",
            tuple(
                ClaimMiss(
                    NEW,
                    CellId.parse(f"exportdb:cond.dynamic_shape_if_guard/{mode}[cpu]"),
                    "NOT_SUPPORTED_YET",
                    Status.PASS,
                )
                for mode in ("aot", "aoti", "serialize")  # in cell id order
            ),
        ),
    ]

    section = _section(render_markdown(report, facts), "## ExportDB's claims")
    assert section.splitlines()[4:8] == [
        "2 exportdb cases, 4 cells disagree:",
        "",
        "- `exportdb:cond.cond_branch_class_method` · declared SUPPORTED · "
        "2.9.1-cpu: error in serialize",
        "- `exportdb:cond.dynamic_shape_if_guard` · declared NOT\\_SUPPORTED\\_YET · "
        "2.9.1-cpu: pass in aot, serialize, aoti",
    ]

    claims = json.loads(render_json(report, facts))["facts"]["exportdb_claims"]
    assert [c["case"] for c in claims] == [row.case for row in facts.claims]
    assert claims[0]["cells"] == [
        {
            "cell": "exportdb:cond.cond_branch_class_method/serialize[cpu]",
            "declared": "SUPPORTED",
            "status": "error",
            "target": NEW,
        }
    ]

    html = render_html(report, facts)
    assert '<a href="#claims">' in html
    claims_html = html[html.index('<section id="claims">') : html.index('<section id="matrix">')]
    assert (
        '<li><a class="case" href="#case:exportdb:cond.dynamic_shape_if_guard">'
        "<code>exportdb:cond.dynamic_shape_if_guard</code></a> · declared NOT_SUPPORTED_YET · "
        '<a href="#at:2.9.1-cpu/exportdb:cond.dynamic_shape_if_guard">2.9.1-cpu</a>: '
        "pass in aot, serialize, aoti</li>"
    ) in claims_html

    summary = render_summary(report, facts)
    assert (
        "ExportDB's claims against the measurement: 2 exportdb cases, 4 cells disagree with "
        "the support level ExportDB declares; report.md lists them."
    ) in summary
    lines = [t.plain for t in render_terminal(report, facts, Path("reports/x"), [])]
    assert (
        "  claims 2 exportdb cases, 4 cells disagree with the support level ExportDB declares"
        in lines
    )


def test_claims_say_none_when_exportdb_agrees_and_nothing_without_exportdb_rows(
    story: tuple[Report, Facts],
) -> None:
    report, _ = story
    agreeing = Report.from_cells(
        report.targets,
        [c for c in report.cells if "exportdb:cond" not in str(c.id)],
        report.behaviours,
    )
    facts = resolve_facts(agreeing)
    assert facts.claims == ()
    text = render_markdown(agreeing, facts)
    assert "None: every exportdb cell agrees with its declared support level." in text
    assert "ExportDB's claims" not in render_summary(agreeing, facts)
    assert "None: every exportdb cell agrees" in render_html(agreeing, facts)

    without = Report.from_cells(
        report.targets,
        [c for c in report.cells if c.id.source is not Source.EXPORTDB],
        report.behaviours,
    )
    facts = resolve_facts(without)
    assert "ExportDB's claims" not in render_markdown(without, facts)
    assert 'id="claims"' not in render_html(without, facts)
    assert json.loads(render_json(without, facts))["facts"]["exportdb_claims"] == []


# --- a cell's own properties ----------------------------------------------------------------


def test_a_cells_details_name_its_dims_compile_time_graph_hops_and_oldest_release(
    story: tuple[Report, Facts],
) -> None:
    report, facts = story
    data = _html_data(render_html(report, facts))
    notes = {tuple(map(tuple, r[9])) for r in data["results"]}
    assert (("dynamic dims", "args[0].0 dynamic"), ("oldest release", "2.4")) in notes
    assert (("compile time (s)", "12.5"), ("oldest release", "2.4")) in notes
    assert (("HOPs in the graph", "cond"),) in notes
    cells = {row["id"]: row for row in json.loads(render_json(report, facts))["cells"]}
    (old, new) = cells["catalog:cond.simple/aoti[cpu]"]["results"]
    assert old["properties"]["compile_seconds"] == "31.2" and new["properties"]["since"] == "2.4"
    (result,) = cells["exportdb:map.map_over_dict/aot[cpu]"]["results"]
    assert result["properties"]["graph_hops"] == "map_impl"
