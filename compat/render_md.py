"""Report -> GitHub-flavoured Markdown, compact enough for a PR comment."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from compat.facts import expected_reason
from compat.layout import (
    CHANGE_LABEL,
    EXPECTED,
    GAP_STYLE,
    MODE_MEANING,
    NO_RESULT,
    STATUS_STYLE,
    aot_strictness,
    behaviour_marks,
    changes_line,
    cut,
    expected_count,
    ordered_changes,
    plural,
    resolve_matrix,
    since_label,
    status_counts,
    strictness_flips,
    summary_line,
    verdict_summary,
)
from compat.model import Cell, Facts, Report, TargetInfo, Verdict
from compat.provenance import resolve_provenance
from suites.behaviours import Behaviour
from suites.schema import CellId, Mode, Status, SuiteProp

MAX_SIGNATURES = 10
MAX_CELLS_LISTED = 5
# After a cell's symbol: two runs of the cell disagreed.
FLAKY_MARK = "🎲"


# --- Markdown text -----------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&#!])")
_NEWLINES = re.compile(r"\s*[\r\n]+\s*")


def _one_line(text: str) -> str:
    return _NEWLINES.sub(" ", text).strip()


def _text(text: str) -> str:
    """Data as Markdown text: one line, every significant character backslash-escaped.

    Text with an ``@`` goes into a code span: GitHub turns ``@name`` in text, never in
    code, into a mention that notifies that person when report.md is pasted into a PR.
    """
    if "@" in text:
        return _code(text)
    return _MD_SPECIAL.sub(r"\\\1", _one_line(text))


def _code(text: str, *, table: bool = True) -> str:
    """Data as a code span, fenced past any backticks it holds; pipes escaped in tables."""
    body = _one_line(text)
    if not body:
        return ""
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * (longest + 1)
    if body.startswith("`") or body.endswith("`"):
        body = f" {body} "
    if table:
        body = body.replace("|", "\\|")
    return f"{fence}{body}{fence}"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], align: str = "") -> list[str]:
    """A GFM table; ``align`` holds one of l/c per column (default left)."""
    rule = [":-:" if (align[i : i + 1] == "c") else "---" for i in range(len(header))]
    return [_row(header), _row(rule), *(_row(r) for r in rows)]


def _capped(items: Sequence[str], limit: int = MAX_CELLS_LISTED) -> str:
    shown = ", ".join(_code(i) for i in items[:limit])
    more = len(items) - limit
    return f"{shown} and {more} more" if more > 0 else shown


def _symbol(
    cell: Cell | None, target: TargetInfo, cell_id: CellId, facts: Facts, marks: dict[str, str]
) -> str:
    """The cell's status symbol, then: 🔸 expected, the behaviours' numbers, 🎲 flaky."""
    if cell is not None:
        flaky = (cell.target, cell.id) in facts.flaky
        return (
            STATUS_STYLE[cell.status].symbol
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
    expected = expected_count(report)
    if expected:
        counts.append(f"{EXPECTED.symbol} {expected} expected (upstream declares them)")
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
            _code(t.id),
            _text(origin.torch),
            _text(t.build),
            _text(props.get(SuiteProp.PYTHON, "")),
            _text(props.get(SuiteProp.HOP_DB, "")),
            _text(aot_strictness(t)),
            f"{_text(origin.made_by)}: {_code(origin.source_file)}",
            _text(origin.run_date),
            _text(origin.host),
        ]
        if any_error:
            row.append(_problem(t))
        rows.append(row)
    header = ["target", "torch", "build", "python", "hop_db", "aot strictness"]
    header += ["results from", "run date", "host"]
    if any_error:
        header.append("problem")
    return [*lines, *_table(header, rows), ""]


def _problem(t: TargetInfo) -> str:
    """Why a target has no or only some results: not installed, or its run cut short."""
    if t.env_error:
        return f"🚫 {_code(cut(t.env_error))}"
    if t.incomplete:
        return f"⏹️ run cut short: {_code(t.incomplete)}"
    return ""


def _legend(_report: Report, facts: Facts) -> list[str]:
    items = [f"{STATUS_STYLE[s].symbol} {s} ({STATUS_STYLE[s].meaning})" for s in Status]
    items += [f"{g.symbol} {g.meaning}" for g in (*GAP_STYLE.values(), NO_RESULT)]
    marks = behaviour_marks(_report)
    lines = [
        "## Legend",
        "",
        " · ".join(items),
        "",
        f"After a symbol: {EXPECTED.symbol} expected, {EXPECTED.meaning} (see the cell's "
        "`expectation` in report.json); a number, the known behaviour the cell shows "
        "(also on a passing cell): "
        + ", ".join(f"{n} {_code(b, table=False)}" for b, n in marks.items())
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
            *(_text(t.id) for t in block.targets),
            *(f"since {_text(b)}" for b in block.builds),
        ]
        rows = [
            [
                _code(row.cell.case),
                *(
                    _symbol(c, t, row.cell, facts, marks)
                    for c, t in zip(row.cells, block.targets, strict=True)
                ),
                *(_text(since_label(s, by_id)) for s in row.since),
            ]
            for row in block.rows
        ]
        align = "l" + "c" * len(block.targets)
        lines += [f"### {title}", "", f"{MODE_MEANING[block.mode]}.", ""]
        if block.mode is Mode.AOT:
            lines += [f"Default strictness flips: {_text(f)}." for f in strictness_flips(report)]
            lines += [""] if lines[-1] else []
        lines += [*_table(header, rows, align), ""]
    return lines


def _status_text(status: Status | None) -> str:
    return "no result" if status is None else f"{STATUS_STYLE[status].symbol} {status}"


def _changes(_report: Report, facts: Facts) -> list[str]:
    lines = ["## Changes", ""]
    if not facts.changes:
        return [*lines, "None between consecutive versions of a build family.", ""]
    lines += [
        " · ".join(f"{mark} {kind}: {meaning}" for kind, (mark, meaning) in CHANGE_LABEL.items()),
        "",
    ]
    rows = [
        [
            f"{CHANGE_LABEL[c.kind][0]} {c.kind}",
            _code(str(c.cell)),
            _text(c.build),
            f"{_text(c.before)} → {_text(c.after)}",
            f"{_status_text(c.before_status)} → {_status_text(c.after_status)}",
            _text(c.note),
        ]
        for c in ordered_changes(facts)
    ]
    header = ["change", "cell", "build", "versions", "status", "note"]
    return [*lines, *_table(header, rows), ""]


def _expected(report: Report, _facts: Facts) -> list[str]:
    """The failures upstream declares, one line per case and reason: where, and why."""
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
        return [*lines, "None: no failing cell is one that upstream declares.", ""]
    items = [
        f"- {_code(case, table=False)} ({', '.join(modes)}): {_text(reason)}; "
        f"{plural(len(targets), 'target')}: {', '.join(_text(t) for t in targets)}"
        for (case, reason), (modes, targets) in found.items()
    ]
    return [*lines, *items, ""]


def _gaps(report: Report, facts: Facts) -> list[str]:
    lines = ["## Gaps", ""]
    if not facts.gaps:
        return [*lines, "None: every target has a measured result for every row.", ""]
    lines += ["Cells without a measured result, per target, and why.", ""]
    rows = [
        [
            _code(g.target),
            _text(g.gap),
            str(len(g.cells)),
            _capped([str(c) for c in g.cells], 3),
            _code(cut(g.reason, 300)) if g.reason else "",
        ]
        for g in facts.gaps
    ]
    return [*lines, *_table(["target", "gap", "cells", "which", "reason"], rows), ""]


def _behaviours(report: Report, facts: Facts) -> list[str]:
    lines = ["## Known behaviours", ""]
    if not report.behaviours and not facts.behaviours:
        return [*lines, "None declared.", ""]
    if facts.behaviours:
        header = [
            "behaviour",
            *(_text(t.id) for t in report.targets),
            "first seen",
            "last seen",
            "now",
        ]
        rows = []
        for b in facts.behaviours:
            verdicts: dict[str, Verdict] = dict(b.verdicts)
            rows.append(
                [
                    _code(b.behaviour.id),
                    *(_text(verdicts[t.id]) if t.id in verdicts else "" for t in report.targets),
                    _text(b.first_seen or "—"),
                    _text(b.last_seen or "—"),
                    _text(verdict_summary(b)),
                ]
            )
        lines += [*_table(header, rows), ""]
    lines += [_behaviour_line(beh) for beh in report.behaviours]
    return [*lines, ""]


def _behaviour_line(beh: Behaviour) -> str:
    """One declared behaviour: what it matches, where it comes from, its sentence."""
    where = f"hop {_code(beh.hop, table=False)}, mode {_code(beh.mode, table=False)}"
    if beh.exception or beh.message:
        raised = " ".join(
            part
            for part in (
                _code(beh.exception, table=False) if beh.exception else "",
                f"matching {_code(beh.message, table=False)}" if beh.message else "",
            )
            if part
        )
        where += f", raises {raised}"
    if beh.evidence:
        shown = ", ".join(f"{k} {v}" for k, v in beh.evidence)
        where += f", by evidence first: {_code(shown, table=False)}"
    links = "; ".join(_text(link) for link in beh.links)
    return (
        f"- {_code(beh.id, table=False)} ({where}; {_text(beh.origin)}): "
        f"{_text(beh.sentence)}" + (f" See {links}." if links else "")
    )


def _inventory(report: Report, facts: Facts) -> list[str]:
    lines = ["## HOP inventory", ""]
    if not facts.inventory:
        return [*lines, "No registered HOPs recorded.", ""]
    uncovered = sum(not r.covered for r in facts.inventory)
    ran = [t for t in report.targets if t.env_error is None]
    header = ["HOP", "covered", *(_text(t.id) for t in ran)]
    rows = [
        [
            _code(r.hop),
            "yes" if r.covered else "**no**",
            *("✓" if t.id in r.registered_in else "" for t in ran),
        ]
        for r in facts.inventory
    ]
    lines.append(
        f"{plural(len(facts.inventory), 'HOP')} registered by at least one target; "
        f"{uncovered} not covered by any case. ✓: registered in that target."
    )
    return [*lines, "", *_table(header, rows, "lc" + "c" * len(ran)), ""]


def _signatures(_report: Report, facts: Facts) -> list[str]:
    lines = ["## Most frequent error signatures", ""]
    rows_all = facts.signatures
    if not rows_all:
        return [*lines, "No errors.", ""]
    rows = [[str(r.count), _code(r.signature), _capped(r.cells)] for r in rows_all[:MAX_SIGNATURES]]
    lines += _table(["cells", "signature", "where"], rows)
    if len(rows_all) > MAX_SIGNATURES:
        hidden = plural(len(rows_all) - MAX_SIGNATURES, "less frequent signature")
        lines += ["", f"{hidden} not shown."]
    return [*lines, ""]


def _skipped(report: Report, _facts: Facts) -> list[str]:
    lines = ["## Inputs skipped", ""]
    if not report.skipped_inputs:
        return [*lines, "None: every input was merged.", ""]
    items = [f"- {_code(s.path, table=False)}: {_text(s.reason)}" for s in report.skipped_inputs]
    return [*lines, *items, ""]


Section = Callable[[Report, Facts], list[str]]


def render_markdown(report: Report, facts: Facts) -> str:
    """The whole report as GitHub-flavoured Markdown."""
    lines = ["# torch-hop-compat report", ""]
    sections: tuple[Section, ...] = (
        _summary,
        _environments,
        _legend,
        _changes,
        _matrices,
        _expected,
        _gaps,
        _behaviours,
        _inventory,
        _signatures,
        _skipped,
    )
    for section in sections:
        lines += section(report, facts)
    return "\n".join(lines).rstrip("\n") + "\n"
