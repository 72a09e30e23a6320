"""Report -> GitHub-flavoured Markdown: the whole report (report.md; summary.md is its cut)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from compat.facts import expected_reason
from compat.layout import (
    CHANGE_HEADING,
    CHANGE_LABEL,
    CLAIMS_HEADING,
    CLAIMS_MEANING,
    EXPECTED,
    GAP_STYLE,
    MISSING_STYLE,
    MODE_MEANING,
    NO_RESULT,
    STATUS_STYLE,
    TIMELINES_MEANING,
    MatrixBlock,
    aot_strictness,
    behaviour_marks,
    cell_style,
    change_counts,
    changes_line,
    claim_text,
    claims_count,
    compile_text,
    cut,
    expected_words,
    has_exportdb,
    plural,
    resolve_compile_times,
    resolve_matrix,
    resolve_specialised,
    since_label,
    specialised_text,
    status_counts,
    strictness_flips,
    summary_line,
    timeline_count,
    timeline_groups,
    verdict_summary,
)
from compat.markdown import md_code, md_table, md_text
from compat.model import Cell, ClaimRow, Facts, Report, TargetInfo, Verdict
from compat.overview import HopOverview, resolve_hop_overview
from compat.provenance import resolve_provenance
from compat.timeline import (
    Timeline,
    members_text,
    report_axes,
    resolve_timelines,
    spans_text,
    version_names,
)
from suites.behaviours import Behaviour
from suites.schema import CellId, Device, Mode, Status, SuiteProp

MAX_SIGNATURES = 10
MAX_CELLS_LISTED = 5
# After a cell's symbol: two runs of the cell disagreed.
FLAKY_MARK = "🎲"


def _capped(items: Sequence[str], limit: int = MAX_CELLS_LISTED) -> str:
    shown = ", ".join(md_code(i) for i in items[:limit])
    more = len(items) - limit
    return f"{shown} and {more} more" if more > 0 else shown


def _symbol(
    cell: Cell | None, target: TargetInfo, cell_id: CellId, facts: Facts, marks: dict[str, str]
) -> str:
    """The cell's status symbol, then: 🔸 expected, the behaviours' numbers, 🎲 flaky."""
    if cell is not None:
        flaky = (cell.target, cell.id) in facts.flaky
        return (
            cell_style(cell, facts).symbol
            + (EXPECTED.symbol if expected_reason(cell) else "")
            + "".join(marks.get(b, "") for b in cell.behaviours)
            + (FLAKY_MARK if flaky else "")
        )
    if target.env_error is not None:
        return STATUS_STYLE[Status.ENV_ERROR].symbol
    gap = facts.gap_of.get((target.id, cell_id))
    return GAP_STYLE.get(gap.gap, NO_RESULT).symbol if gap is not None else NO_RESULT.symbol


# --- sections ----------------------------------------------------------------


def _summary(report: Report, facts: Facts) -> list[str]:
    lines = [summary_line(report), ""]
    counts = [f"{STATUS_STYLE[s].symbol} {n} {s}" for s, n in status_counts(report)]
    expected = expected_words(report)
    if expected:
        counts.append(f"{EXPECTED.symbol} {expected}")
    if counts:
        lines += [" · ".join(counts), ""]
    return [*lines, f"{changes_line(facts, '**')}", ""]


def _environments(report: Report, facts: Facts) -> list[str]:
    lines = ["## Environments", ""]
    if not report.targets:
        return [*lines, "No targets.", ""]
    any_error = any(t.env_error or t.incomplete for t in report.targets)
    rows = []
    for t in report.targets:
        props = dict(t.properties)
        origin = resolve_provenance(t)
        row = [
            md_code(t.id),
            md_text(origin.torch),
            md_text(t.build),
            md_text(props.get(SuiteProp.PYTHON, "")),
            md_text(props.get(SuiteProp.HOP_DB, "")),
            md_text(aot_strictness(t)),
            f"{md_text(origin.made_by)}: {md_code(origin.source_file)}",
            md_text(origin.run_date),
            md_text(origin.host),
        ]
        if any_error:
            row.append(_problem(t))
        rows.append(row)
    header = ["target", "torch", "build", "python", "hop_db", "aot strictness"]
    header += ["results from", "run date", "host"]
    if any_error:
        header.append("problem")
    return [*lines, *md_table(header, rows), ""]


def _problem(t: TargetInfo) -> str:
    """Why a target has no or only some results: not installed, or its run cut short."""
    if t.env_error:
        return f"🚫 {md_code(cut(t.env_error))}"
    if t.incomplete:
        return f"⏹️ run cut short: {md_code(t.incomplete)}"
    return ""


def _legend(_report: Report, facts: Facts) -> list[str]:
    items = [f"{STATUS_STYLE[s].symbol} {s} ({STATUS_STYLE[s].meaning})" for s in Status]
    items += [f"{g.symbol} {g.meaning}" for g in (*MISSING_STYLE.values(), *GAP_STYLE.values())]
    items.append(f"{NO_RESULT.symbol} {NO_RESULT.meaning}")
    marks = behaviour_marks(_report)
    lines = [
        "## Legend",
        "",
        " · ".join(items),
        "",
        f"After a symbol: {EXPECTED.symbol} expected, {EXPECTED.meaning} (see the cell's "
        "`expectation` in report.json); a number, the known behaviour the cell shows "
        "(also on a passing cell): "
        + ", ".join(f"{n} {md_code(b, table=False)}" for b, n in marks.items())
        + ".",
        "",
        '"since *build*": the first version of that build from which the row passes '
        "(pass or xpass) in every newer version; ≤: it already passes in the oldest version "
        "that measured it; never: not passing in the newest; gone: the newest no longer has "
        "it. A build with one target has no since.",
        "",
    ]
    if facts.flaky:
        lines += [
            f"{FLAKY_MARK} after a symbol: flaky, two runs of the cell disagreed (both outcomes "
            "are in its `flaky` property); it counts as neither a regression nor a fix.",
            "",
        ]
    return lines


def _matrices(report: Report, facts: Facts) -> list[str]:
    lines = ["## Matrix", ""]
    blocks = resolve_matrix(report, facts)
    if not blocks:
        return [*lines, "No cells.", ""]
    by_id = {t.id: t for t in report.targets}
    marks = behaviour_marks(report)
    several = len({b.device for b in blocks}) > 1
    for block in blocks:
        title = f"`{block.mode}` on {block.device}" if several else f"`{block.mode}`"
        header = [
            "case",
            *(md_text(t.id) for t in block.targets),
            *(f"since {md_text(b)}" for b in block.builds),
        ]
        rows = [
            [
                md_code(row.cell.case),
                *(
                    _symbol(c, t, row.cell, facts, marks)
                    for c, t in zip(row.cells, block.targets, strict=True)
                ),
                *(md_text(since_label(s, by_id)) for s in row.since),
            ]
            for row in block.rows
        ]
        align = "l" + "c" * len(block.targets)
        lines += [f"### {title}", "", f"{MODE_MEANING[block.mode]}.", ""]
        if block.mode is Mode.AOT:
            lines += [f"Default strictness flips: {md_text(f)}." for f in strictness_flips(report)]
            lines += [""] if lines[-1] else []
        lines += [*md_table(header, rows, align), "", *_block_notes(block)]
    return lines


def _block_notes(block: MatrixBlock) -> list[str]:
    """Under a dynamic block, the dims export specialised; under aoti, the compile times."""
    lines = []
    specialised = resolve_specialised(block)
    if specialised:
        lines += ["Dimensions marked dynamic that export specialised:", ""]
        lines += [
            f"- {md_code(item.case, table=False)}: {md_text(specialised_text(item))}"
            for item in specialised
        ]
        lines.append("")
    times = resolve_compile_times(block)
    if times:
        function = md_code("torch._inductor.aoti_compile_and_package", table=False)
        lines += [f"Compile time of {function}, per target:", ""]
        lines += [f"- {md_text(compile_text(t))}" for t in times]
        lines.append("")
    return lines


def timeline_line(
    timeline: Timeline,
    names: Mapping[str, str],
    axes: tuple[Sequence[Mode], Sequence[Device]],
) -> str:
    """``- `case` · family · modes: error ≤2.4.1 → 🔺pass ≥2.5.1``, as a list item."""
    spans = spans_text(timeline.spans, names, lambda k: CHANGE_LABEL[k][0], EXPECTED.symbol)
    notes = f" ({'; '.join(timeline.notes)})" if timeline.notes else ""
    return (
        f"- {md_code(timeline.case, table=False)} · {md_text(timeline.family)} · "
        f"{md_text(members_text(timeline.members, *axes))}: {md_text(spans + notes)}"
    )


def hop_line(hop: HopOverview, names: Mapping[str, str]) -> str:
    """``- `cond` (3 cases) · cuda: 0/6 ≤2.5.1 → 6/6 ≥2.7.1 · cpu: 6/6 2.13.0``."""
    families = " · ".join(
        f"{md_text(line.family)}: {md_text(spans_text(line.spans, names))}" for line in hop.families
    )
    return f"- {md_code(hop.hop, table=False)} ({plural(hop.cases, 'case')}) · {families}"


HOP_LINES_MEANING = (
    "Per HOP and build family, from version to version: k/n, every case of the HOP passes "
    "in k of the n modes in which one ran; —, none ran (missing or skipped). Failures "
    "upstream or ExportDB declares are left out."
)


def _overview(report: Report, _facts: Facts) -> list[str]:
    lines = ["## Overview", ""]
    hops = resolve_hop_overview(report)
    if not hops:
        return [*lines, "No cells.", ""]
    names = version_names(report.targets)
    return [*lines, HOP_LINES_MEANING, "", *(hop_line(h, names) for h in hops), ""]


def _changes(report: Report, facts: Facts) -> list[str]:
    lines = ["## Changes", ""]
    if not facts.changes:
        return [*lines, "None between consecutive versions of a build family.", ""]
    lines += [
        " · ".join(f"{mark} {kind}: {meaning}" for kind, (mark, meaning) in CHANGE_LABEL.items()),
        "",
        TIMELINES_MEANING,
        "",
    ]
    names, axes = version_names(report.targets), report_axes(report)
    totals = change_counts(facts)
    for kind, found in timeline_groups(resolve_timelines(report, facts)):
        count = timeline_count(kind, found, totals[kind])
        heading = f"{CHANGE_LABEL[kind][0]} {CHANGE_HEADING[kind]}: {count}"
        lines += [f"### {heading}", "", *(timeline_line(t, names, axes) for t in found), ""]
    return lines


def _expected(report: Report, _facts: Facts) -> list[str]:
    """The failures upstream or ExportDB declares, one line per case and reason: where, why."""
    lines = ["## Expected failures", ""]
    found: dict[tuple[str, str], tuple[dict[str, None], dict[str, None]]] = {}
    for row in report.rows:
        for cell in row.cells:
            reason = expected_reason(cell)
            if reason is not None:
                modes, targets = found.setdefault((row.id.case, reason), ({}, {}))
                modes[f"{row.id.mode}[{row.id.device}]"] = None
                targets[cell.target] = None
    if not found:
        return [*lines, "None: no failing cell is one that upstream or ExportDB declares.", ""]
    items = [
        f"- {md_code(case, table=False)} ({', '.join(modes)}): {md_text(reason)}; "
        f"{plural(len(targets), 'target')}: {', '.join(md_text(t) for t in targets)}"
        for (case, reason), (modes, targets) in found.items()
    ]
    return [*lines, *items, ""]


def claims_line(row: ClaimRow, axes: tuple[Sequence[Mode], Sequence[Device]]) -> str:
    """``- `exportdb:case` · declared SUPPORTED · 2.6.0-cpu: error in serialize``."""
    parts = claim_text(row, axes)
    return " · ".join([f"- {md_code(row.case, table=False)}", *(md_text(p) for p in parts)])


def _claims(report: Report, facts: Facts) -> list[str]:
    """Where ExportDB's declared support level and the measurement disagree, per case."""
    if not has_exportdb(report):
        return []
    lines = [f"## {CLAIMS_HEADING}", "", CLAIMS_MEANING, ""]
    if not facts.claims:
        return [*lines, "None: every exportdb cell agrees with its declared support level.", ""]
    axes = report_axes(report)
    lines += [f"{claims_count(facts)} disagree:", ""]
    return [*lines, *(claims_line(row, axes) for row in facts.claims), ""]


def _gaps(report: Report, facts: Facts) -> list[str]:
    lines = ["## Gaps", ""]
    if not facts.gaps:
        return [*lines, "None: every target has a measured result for every row.", ""]
    lines += ["Cells without a measured result, per target, and why.", ""]
    rows = [
        [
            md_code(g.target),
            md_text(g.gap),
            str(len(g.cells)),
            _capped([str(c) for c in g.cells], 3),
            md_code(cut(g.reason, 300)) if g.reason else "",
        ]
        for g in facts.gaps
    ]
    return [*lines, *md_table(["target", "gap", "cells", "which", "reason"], rows), ""]


def _behaviours(report: Report, facts: Facts) -> list[str]:
    lines = ["## Known behaviours", ""]
    if not report.behaviours and not facts.behaviours:
        return [*lines, "None declared.", ""]
    if facts.behaviours:
        header = [
            "behaviour",
            *(md_text(t.id) for t in report.targets),
            "first seen",
            "last seen",
            "now",
        ]
        rows = []
        for b in facts.behaviours:
            verdicts: dict[str, Verdict] = dict(b.verdicts)
            rows.append(
                [
                    md_code(b.behaviour.id),
                    *(md_text(verdicts[t.id]) if t.id in verdicts else "" for t in report.targets),
                    md_text(b.first_seen or "—"),
                    md_text(b.last_seen or "—"),
                    md_text(verdict_summary(b)),
                ]
            )
        lines += [*md_table(header, rows), ""]
    lines += [_behaviour_line(beh) for beh in report.behaviours]
    return [*lines, ""]


def _behaviour_line(beh: Behaviour) -> str:
    """``- `id` (hop …, mode …, raises …; origin): sentence. See links.``"""
    where = f"hop {md_code(beh.hop, table=False)}, mode {md_code(beh.mode, table=False)}"
    if beh.exception or beh.message:
        raised = " ".join(
            part
            for part in (
                md_code(beh.exception, table=False) if beh.exception else "",
                f"matching {md_code(beh.message, table=False)}" if beh.message else "",
            )
            if part
        )
        where += f", raises {raised}"
    if beh.evidence:
        shown = ", ".join(f"{k} {v}" for k, v in beh.evidence)
        where += f", by evidence first: {md_code(shown, table=False)}"
    links = "; ".join(md_text(link) for link in beh.links)
    return (
        f"- {md_code(beh.id, table=False)} ({where}; {md_text(beh.origin)}): "
        f"{md_text(beh.sentence)}" + (f" See {links}." if links else "")
    )


def _inventory(report: Report, facts: Facts) -> list[str]:
    lines = ["## HOP inventory", ""]
    if not facts.inventory:
        return [*lines, "No registered HOPs recorded.", ""]
    uncovered = sum(not r.covered for r in facts.inventory)
    ran = [t for t in report.targets if t.env_error is None]
    header = ["HOP", "covered", *(md_text(t.id) for t in ran)]
    rows = [
        [
            md_code(r.hop),
            "yes" if r.covered else "**no**",
            *("✓" if t.id in r.registered_in else "" for t in ran),
        ]
        for r in facts.inventory
    ]
    lines.append(
        f"{plural(len(facts.inventory), 'HOP')} registered by at least one target; "
        f"{uncovered} not covered by any case. ✓: registered in that target."
    )
    return [*lines, "", *md_table(header, rows, "lc" + "c" * len(ran)), ""]


def _signatures(_report: Report, facts: Facts) -> list[str]:
    lines = ["## Most frequent error signatures", ""]
    rows_all = facts.signatures
    if not rows_all:
        return [*lines, "No errors.", ""]
    rows = [
        [str(r.count), md_code(r.signature), _capped(r.cells)] for r in rows_all[:MAX_SIGNATURES]
    ]
    lines += md_table(["cells", "signature", "where"], rows)
    if len(rows_all) > MAX_SIGNATURES:
        hidden = plural(len(rows_all) - MAX_SIGNATURES, "less frequent signature")
        lines += ["", f"{hidden} not shown."]
    return [*lines, ""]


def _skipped(report: Report, _facts: Facts) -> list[str]:
    lines = ["## Inputs skipped", ""]
    if not report.skipped_inputs:
        return [*lines, "None: every input was merged.", ""]
    items = [
        f"- {md_code(s.path, table=False)}: {md_text(s.reason)}" for s in report.skipped_inputs
    ]
    return [*lines, *items, ""]


Section = Callable[[Report, Facts], list[str]]


def render_markdown(report: Report, facts: Facts) -> str:
    """The whole report as GitHub-flavoured Markdown."""
    lines = ["# torch-hop-compat report", ""]
    sections: tuple[Section, ...] = (
        _summary,
        _environments,
        _legend,
        _overview,
        _changes,
        _matrices,
        _expected,
        _claims,
        _gaps,
        _behaviours,
        _inventory,
        _signatures,
        _skipped,
    )
    for section in sections:
        lines += section(report, facts)
    return "\n".join(lines).rstrip("\n") + "\n"
