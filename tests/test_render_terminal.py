"""compat.render_terminal: the lines under "wrote …": counts, regressions, files."""

from __future__ import annotations

from pathlib import Path

from packaging.version import Version
from report_fixtures import realistic_facts, realistic_report

from compat.facts import resolve_facts
from compat.model import Cell, Facts, Report, TargetInfo
from compat.render_terminal import MAX_LINES, render_terminal
from suites.schema import CellId, Status

FILES = ("junit.xml", "report.html", "report.json", "report.md", "summary.md")


def _plain(report: Report, facts: Facts) -> list[str]:
    return [t.plain for t in render_terminal(report, facts, Path("reports/x"), FILES)]


def test_realistic() -> None:
    lines = _plain(realistic_report(), realistic_facts())
    assert lines == [
        "  cells  105 pass · 1 fail · 5 error · 2 xfail · 5 xpass · 15 skip · 5 missing · "
        "1 timeout · 1 crash",
        "  2 regressions in 2 lines:",
        "    catalog:map.simple · cpu · pre_dispatch on cpu: pass ≤2.9.1 → ▼ fail ≥2.13.0",
        "    catalog:scan.simple · cpu · serialize on cpu: pass ≤2.9.1 → ▼ crash ≥2.13.0",
        "  read   reports/x/summary.md · report.md · report.html",
    ]


def test_no_regressions() -> None:
    assert _plain(realistic_report(), Facts())[1] == "  no regressions"


def test_many_regressions_are_cut_and_counted() -> None:
    targets = tuple(
        TargetInfo(t, Version(t.split("-")[0]), "cpu", t, f"{t}.xml")
        for t in ("2.6.0-cpu", "2.9.1-cpu")
    )
    cells = [
        Cell(t.id, CellId.parse(f"catalog:cond.v{i:02d}/aot[cpu]"), status)
        for i in range(MAX_LINES + 3)
        for t, status in zip(targets, (Status.PASS, Status.ERROR), strict=True)
    ]
    report = Report.from_cells(targets, cells, ())
    lines = _plain(report, resolve_facts(report))
    assert lines[1] == f"  {MAX_LINES + 3} regressions in {MAX_LINES + 3} lines:"
    assert lines[2 + MAX_LINES] == "    and 3 more lines in summary.md"
