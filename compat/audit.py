"""An audit: a candidate torch against its baseline, with a gate. Pure: Report in, text out.

The report of an audit holds exactly two targets. Its changes are those of
``compat.facts.compare_targets`` from the baseline to the candidate (the two
may be of different build families), so the standard four files say what
``summary.md`` says; ``summary.md`` leads with the candidate's regressions
and their error signatures, then fixes, new, gone and default changed, then
the two-column matrix. The exit code is the gate: 0 nothing regressed, 1 the
candidate regressed, 2 the audit could not run (``compat.audit_run``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace

from compat.artifacts import HTML_NAME, JSON_NAME, JUNIT_NAME, MD_NAME
from compat.facts import NOT_MEASURED, compare_targets, resolve_facts
from compat.layout import (
    CHANGE_LABEL,
    CLAIMS_HEADING,
    STATUS_STYLE,
    claims_count,
    plural,
    specialised_dims,
)

# report.md's own Markdown helpers and matrix: summary.md shows the same data the same way.
from compat.markdown import md_code, md_table, md_text
from compat.model import Cell, Change, ChangeKind, Facts, Report
from compat.render_html import render_html
from compat.render_json import render_json
from compat.render_junit import render_junit
from compat.render_md import _matrices, render_markdown
from compat.repro import build_repros, repro_files
from suites.schema import Status, SuiteProp

SUMMARY_NAME = "summary.md"


class AuditExit(enum.IntEnum):
    """What ``nox -s audit`` exits with: CI's gate."""

    OK = 0  # nothing regressed
    REGRESSED = 1  # the candidate regressed against the baseline
    NOT_RUN = 2  # the audit could not run: a side not installable, or the audit misconfigured


class AuditError(Exception):
    """The two targets are not in the report as the audit expects (a bug of the caller)."""


@dataclass(frozen=True)
class AuditSide:
    """One of the two targets: its role, its id, and where its torch came from, in words."""

    role: str  # "candidate" or "baseline"
    target: str  # the target id in the report
    source: str  # "the interpreter /opt/torch/bin/python", "the wheel dist/torch-...whl", ...


@dataclass(frozen=True)
class Audit:
    """The candidate's changes against the baseline, and the gate they decide."""

    candidate: AuditSide
    baseline: AuditSide
    changes: tuple[Change, ...]  # regressions first, then fixes, new, gone, default changed

    def of(self, kind: ChangeKind) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.kind is kind)

    @property
    def exit_code(self) -> AuditExit:
        return AuditExit.REGRESSED if self.of(ChangeKind.REGRESSION) else AuditExit.OK


def audit_folder_name(candidate: str, baseline: str) -> str:
    """``audit-<candidate>-vs-<baseline>``: the report folder's name after its date."""
    return f"audit-{candidate}-vs-{baseline}"


def order_audit(report: Report, candidate: str, baseline: str) -> Report:
    """The report with exactly its two columns, the baseline first, the candidate second."""
    by_id = {t.id: t for t in report.targets}
    missing = [t for t in (baseline, candidate) if t not in by_id]
    if missing or len(by_id) != 2:
        raise AuditError(
            f"an audit report holds the baseline {baseline} and the candidate {candidate}, "
            f"and nothing else; this one holds {', '.join(by_id) or 'no target'}"
        )
    targets = (by_id[baseline], by_id[candidate])
    return Report.from_cells(targets, report.cells, report.behaviours, report.skipped_inputs)


def resolve_audit(
    report: Report, candidate: AuditSide, baseline: AuditSide
) -> tuple[Report, Facts, Audit]:
    """The audit of a report of its two targets; its facts carry the audit's changes."""
    ordered = order_audit(report, candidate.target, baseline.target)
    facts = resolve_facts(ordered)
    changes = compare_targets(ordered, facts, baseline.target, candidate.target)
    # "since" needs a family's versions in a row; two targets cannot say it.
    audited = replace(facts, since=(), changes=changes)
    return ordered, audited, Audit(candidate, baseline, changes)


def render_audit_files(
    report: Report, facts: Facts, audit: Audit, metadata: Mapping[str, str]
) -> dict[str, str]:
    """The audit folder's files: the four of every report, its repro scripts, and summary.md."""
    repros = build_repros(report)
    return {
        JSON_NAME: render_json(report, facts, metadata),
        JUNIT_NAME: render_junit(report, facts),
        MD_NAME: render_markdown(report, facts),
        HTML_NAME: render_html(report, facts, repros),
        SUMMARY_NAME: render_audit_summary(report, facts, audit),
        **repro_files(repros),
    }


# --- summary.md ----------------------------------------------------------------------------

_SECTION: Mapping[ChangeKind, tuple[str, str]] = {
    ChangeKind.REGRESSION: ("Regressions", "Passed in the baseline, fails in the candidate."),
    ChangeKind.FIX: ("Fixes", "Failed in the baseline, passes in the candidate."),
    ChangeKind.NEW: ("New", "The HOP, case or mode does not exist in the baseline."),
    ChangeKind.GONE: ("Gone", "The HOP, case or mode no longer exists in the candidate."),
    ChangeKind.DEFAULT_CHANGED: (
        "Default changed",
        "The outcome changed with a recorded mode parameter (strictness): not the same test.",
    ),
}


def render_audit_summary(report: Report, facts: Facts, audit: Audit) -> str:
    """summary.md: the verdict, the two sides, the changes by kind, then the matrix."""
    lines = [
        f"# Audit: {md_text(audit.candidate.target)} against {md_text(audit.baseline.target)}",
        "",
        _verdict(audit),
        "",
        *_sides(report, audit),
        *_scope(report, audit),
        " · ".join(f"{CHANGE_LABEL[kind][0]} {change_count(audit, kind)}" for kind in ChangeKind),
        "",
        *_claims(facts),
    ]
    for kind in ChangeKind:
        lines += _section(kind, audit, report, facts)
    lines += _matrices(report, facts)
    lines += [
        "Symbols and the numbers after them (known behaviours) are explained in report.md's "
        "legend; the gaps, behaviours and error signatures are there too.",
    ]
    return "\n".join(lines).rstrip("\n") + "\n"


def change_count(audit: Audit, kind: ChangeKind) -> str:
    """``2 regressions``, ``1 fix``, ``0 new``: how many changes of a kind."""
    n = len(audit.of(kind))
    if kind in (ChangeKind.REGRESSION, ChangeKind.FIX):
        return plural(n, kind.value)
    return f"{n} {kind}"


def render_not_run(sentence: str) -> str:
    """What the job summary says when the audit could not run."""
    return f"# Audit could not run\n\n{md_text(sentence)}\n\n`nox -s audit` exits 2.\n"


def _verdict(audit: Audit) -> str:
    regressions = len(audit.of(ChangeKind.REGRESSION))
    if regressions:
        return (
            f"**{plural(regressions, 'regression')}**: the candidate fails where the baseline "
            f"passes; `nox -s audit` exits {int(AuditExit.REGRESSED)}."
        )
    return f"**No regressions**: `nox -s audit` exits {int(AuditExit.OK)}."


def _sides(report: Report, audit: Audit) -> list[str]:
    by_id = {t.id: t for t in report.targets}
    rows = []
    for side in (audit.candidate, audit.baseline):
        t = by_id[side.target]
        rows.append(
            [
                side.role,
                md_code(t.id),
                md_text(t.torch_version),
                md_text(t.build),
                md_text(side.source),
            ]
        )
    return [*md_table(["", "target", "torch", "build", "from"], rows), ""]


def _scope(report: Report, audit: Audit) -> list[str]:
    """What was compared: the same cells on both sides, and what could not be."""
    by_id = {t.id: t for t in report.targets}
    base, cand = by_id[audit.baseline.target], by_id[audit.candidate.target]
    both = sum(
        len(row.cells) == 2 and all(_measured(cell) for cell in row.cells) for row in report.rows
    )
    ids = [row.id for row in report.rows]
    lines = [
        f"Both ran the same {plural(len(ids), 'cell')} "
        f"({plural(len({i.case for i in ids}), 'case')} · "
        f"{plural(len({i.mode for i in ids}), 'mode')} · "
        f"{plural(len({i.device for i in ids}), 'device')}); "
        f"{both} measured on both sides are compared.",
        "",
    ]
    if base.family != cand.family:
        lines += [
            f"The two are of different build families ({md_text(base.family)} and "
            f"{md_text(cand.family)}): a change may come from the build as well as the version.",
            "",
        ]
    for side, t in ((audit.candidate, cand), (audit.baseline, base)):
        if t.incomplete:
            lines += [
                f"The {side.role}'s run was cut short ({md_text(t.incomplete)}): the cells it did "
                "not reach are not compared, so a regression there would not show.",
                "",
            ]
        hop_db = dict(t.properties).get(SuiteProp.HOP_DB, "")
        if hop_db.startswith("unavailable"):
            lines += [
                f"hop_db could not be imported in the {side.role} ({md_text(hop_db)}): "
                "its upstream cases are not compared.",
                "",
            ]
    return lines


def _claims(facts: Facts) -> list[str]:
    """A line when either side contradicts ExportDB's declared support levels."""
    if not facts.claims:
        return []
    return [
        f"{CLAIMS_HEADING}: {claims_count(facts)} disagree with the support level ExportDB "
        "declares; report.md lists them.",
        "",
    ]


def _measured(cell: Cell) -> bool:
    return cell.status not in NOT_MEASURED and cell.status is not Status.MISSING


def _section(kind: ChangeKind, audit: Audit, report: Report, facts: Facts) -> list[str]:
    """One kind of change: a table of its cells, the regressions with their error signatures."""
    changes = audit.of(kind)
    name, meaning = _SECTION[kind]
    title = f"## {CHANGE_LABEL[kind][0]} {name} ({len(changes)})"
    if not changes:
        return [title, "", "None.", ""]
    cells = {(c.target, c.id): c for c in report.cells}
    last = "error signature" if kind is ChangeKind.REGRESSION else "note"
    rows = []
    for c in changes:
        if kind is ChangeKind.REGRESSION:
            cell = cells.get((c.after, c.cell))
            detail = _regression_detail(cell) if cell is not None else ""
        else:
            detail = md_text(c.note or _absent(c, facts))
        rows.append(
            [md_code(str(c.cell)), _status(c.before_status), _status(c.after_status), detail]
        )
    header = ["cell", "baseline", "candidate", last]
    return [title, "", meaning, "", *md_table(header, rows), ""]


def _regression_detail(cell: Cell) -> str:
    """The cell's error signature, and the dims export specialised where a dynamic cell
    records some (the signature has their sizes normalised away)."""
    detail = md_code(cell.signature or cell.message or "")
    dims = specialised_dims(cell)
    return f"{detail} ({md_text(', '.join(dims))})" if dims else detail


def _absent(change: Change, facts: Facts) -> str:
    """Why the side without the cell lacks it (new: the baseline; gone: the candidate)."""
    side = change.before if change.kind is ChangeKind.NEW else change.after
    gap = facts.gap_of.get((side, change.cell))
    return f"{side}: {gap.gap}" if gap is not None else ""


def _status(status: Status | None) -> str:
    return "no result" if status is None else f"{STATUS_STYLE[status].symbol} {status}"
