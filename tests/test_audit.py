"""compat.audit: a candidate against its baseline, from a report of the two, to summary.md."""

from __future__ import annotations

from dataclasses import replace

import pytest
from packaging.version import Version

from compat.audit import (
    SUMMARY_NAME,
    AuditError,
    AuditExit,
    AuditSide,
    audit_folder_name,
    order_audit,
    render_audit_files,
    render_not_run,
    resolve_audit,
)
from compat.model import Cell, ChangeKind, Report, TargetInfo
from suites.schema import CellId, Status

P, F, E, X, M, S = (
    Status.PASS,
    Status.FAIL,
    Status.ERROR,
    Status.XFAIL,
    Status.MISSING,
    Status.SKIP,
)
BASE, CAND = "2.12.1-cu130", "local"
CANDIDATE = AuditSide("candidate", CAND, "the interpreter /opt/torch/bin/python")
BASELINE = AuditSide("baseline", BASE, "torch 2.12.1 from the default index (uv's default)")
SIG = "RuntimeError: carried inputs lost after torch.export.load (<n> of <n>)"
WL = "catalog:while_loop.simple/serialize[cpu]"


def _targets() -> tuple[TargetInfo, ...]:
    # Given candidate first: the audit puts the baseline first whatever the input order.
    return (
        TargetInfo(CAND, Version("2.13.0"), "cpu", "2.13.0+cpu", "candidate.xml"),
        TargetInfo(BASE, Version("2.12.1"), "cu130", "2.12.1+cu130", "baseline.xml"),
    )


def _report(rows: dict[str, tuple[Status | None, Status | None]]) -> Report:
    cells = []
    for cell, (before, after) in rows.items():
        cid = CellId.parse(cell)
        if before is not None:
            cells.append(Cell(BASE, cid, before))
        if after is not None:
            sig = SIG if after in (E, F) else None
            cells.append(Cell(CAND, cid, after, error_type="RuntimeError", signature=sig))
    return Report.from_cells(_targets(), cells, ())


ROWS: dict[str, tuple[Status | None, Status | None]] = {
    WL: (P, E),  # regression
    "catalog:while_loop.simple/retrace[cpu]": (P, P),
    "catalog:cond.simple/aot[cpu]": (E, P),  # fix
    "catalog:scan.simple/aot[cpu]": (M, P),  # new
    "upstream:map.simple/aot[cpu]": (P, M),  # gone
    "catalog:map.simple/aot[cpu]": (P, S),  # not measured by the candidate: nothing
}


def test_the_audit_leads_with_the_regressions_and_gates_on_them() -> None:
    report, facts, audit = resolve_audit(_report(ROWS), CANDIDATE, BASELINE)
    assert [t.id for t in report.targets] == [BASE, CAND]
    assert [(c.kind, str(c.cell), c.build) for c in audit.changes] == [
        (ChangeKind.REGRESSION, WL, "cuda → cpu"),
        (ChangeKind.FIX, "catalog:cond.simple/aot[cpu]", "cuda → cpu"),
        (ChangeKind.NEW, "catalog:scan.simple/aot[cpu]", "cuda → cpu"),
        (ChangeKind.GONE, "upstream:map.simple/aot[cpu]", "cuda → cpu"),
    ]
    assert audit.exit_code is AuditExit.REGRESSED
    # The standard files carry the audit's changes, and no "since" of two targets.
    assert facts.changes == audit.changes and facts.since == ()

    summary = render_audit_files(report, facts, audit, {"generator": "test"})[SUMMARY_NAME]
    lines = summary.splitlines()
    assert lines[0] == "# Audit: local against 2.12.1-cu130"
    assert lines[2] == (
        "**1 regression**: the candidate fails where the baseline passes; `nox -s audit` exits 1."
    )
    order = [
        summary.index(h)
        for h in ("Regressions (1)", "Fixes (1)", "New (1)", "Gone (1)", "Default changed (0)")
    ]
    assert order == sorted(order) and summary.index("## Matrix") > order[-1]
    regression = next(line for line in lines if line.startswith(f"| `{WL}`"))
    assert regression == f"| `{WL}` | ✅ pass | 💥 error | `{SIG}` |"
    assert "| candidate | `local` | 2.13.0+cpu | cpu | the interpreter" in summary
    assert "different build families (cuda and cpu)" in summary
    # New and gone say why the other side has no result.
    new = next(line for line in lines if line.startswith("| `catalog:scan.simple/aot[cpu]`"))
    assert new.split(" | ")[1:] == ["∅ missing", "✅ pass", "2.12.1-cu130: hop not registered |"]
    assert "Both ran the same 6 cells (5 cases · 3 modes · 1 device); 3 measured" in summary


def test_nothing_regressed_exits_0() -> None:
    rows = {k: v for k, v in ROWS.items() if k != WL}
    report, facts, audit = resolve_audit(_report(rows), CANDIDATE, BASELINE)
    assert audit.exit_code is AuditExit.OK
    assert (
        "**No regressions**: `nox -s audit` exits 0."
        in render_audit_files(report, facts, audit, {})[SUMMARY_NAME]
    )


def test_the_four_files_of_every_report_and_the_summary() -> None:
    report, facts, audit = resolve_audit(_report(ROWS), CANDIDATE, BASELINE)
    files = render_audit_files(report, facts, audit, {"generator": "test"})
    assert sorted(files) == ["junit.xml", "report.html", "report.json", "report.md", "summary.md"]
    assert '"kind":"regression"' in files["report.json"]


@pytest.mark.parametrize(
    "targets",
    [
        (BASE,),
        (BASE, CAND, "2.13.0-cpu"),
        (BASE, "2.13.0-cpu"),
    ],
)
def test_an_audit_report_holds_its_two_targets_and_nothing_else(targets: tuple[str, ...]) -> None:
    infos = tuple(TargetInfo(t, Version("2.12.1"), "cpu", "2.12.1", f"{t}.xml") for t in targets)
    with pytest.raises(
        AuditError, match=r"holds the baseline 2\.12\.1-cu130 and the candidate local"
    ):
        order_audit(Report.from_cells(infos, [], ()), CAND, BASE)


def test_folder_name_and_the_sentence_when_it_could_not_run() -> None:
    assert audit_folder_name("local", BASE) == "audit-local-vs-2.12.1-cu130"
    text = render_not_run("The audit could not run: the baseline 2.12.1-cu130: no wheel.")
    assert text.startswith(
        "# Audit could not run\n\nThe audit could not run: the baseline 2.12.1-cu130"
    )
    assert text.endswith("`nox -s audit` exits 2.\n")


def test_a_side_cut_short_or_without_hop_db_is_said_before_the_changes() -> None:
    cand, base = _targets()
    cand = replace(cand, properties=(("interrupted", "killed by SIGTERM after 40 cells"),))
    base = replace(base, properties=(("hop_db", "unavailable: No module named 'expecttest'"),))
    report = Report.from_cells((cand, base), _report(ROWS).cells, ())
    report, facts, audit = resolve_audit(report, CANDIDATE, BASELINE)
    summary = render_audit_files(report, facts, audit, {})[SUMMARY_NAME]
    cut = summary.index("The candidate's run was cut short (killed by SIGTERM after 40 cells)")
    hop_db = summary.index("hop_db could not be imported in the baseline (unavailable: No")
    assert cut < hop_db < summary.index("## 🔻 Regressions")
