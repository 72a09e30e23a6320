"""Report -> summary.md: what a pull request comment or a CI job summary has room for.

Headline counts, the timelines of regressions and fixes, the known behaviours
in one compact table and one overview line per HOP, in that order and in that
order of claim on ``LIMIT`` characters (GitHub cuts a comment at 65,536): what
does not fit is counted and left to report.md, which is always complete.
Beyond the first ``OPEN_LINES`` lines of a kind, timelines sit in a collapsed
``<details>`` block.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from compat.facts import build_families
from compat.layout import (
    CHANGE_HEADING,
    CHANGE_LABEL,
    CLAIMS_HEADING,
    EXPECTED,
    STATUS_STYLE,
    TIMELINES_MEANING,
    change_counts,
    changes_line,
    claims_count,
    expected_words,
    status_counts,
    summary_line,
    timeline_count,
    verdict_summary,
)
from compat.markdown import md_code, md_table, md_text
from compat.model import BehaviourRow, ChangeKind, Facts, Report, Verdict
from compat.overview import resolve_hop_overview
from compat.render_md import HOP_LINES_MEANING, hop_line, timeline_line
from compat.timeline import (
    Timeline,
    report_axes,
    resolve_spans,
    resolve_timelines,
    spans_text,
    version_names,
)
from suites.schema import Device, Mode

LIMIT = 60_000
OPEN_LINES = 10
_MARGIN = 400  # the notes that say what was left out
FOOTER = (
    "report.md beside this file holds the whole report (every change, the matrix per mode, "
    "gaps, HOP inventory, error signatures); report.html shows it as an overview grid."
)


def render_summary(report: Report, facts: Facts, limit: int = LIMIT) -> str:
    """summary.md: under ``limit`` characters whatever the report's size."""
    lines = ["# torch-hop-compat summary", "", *_headline(report, facts)]
    budget = limit - len("\n".join(lines)) - len(FOOTER) - _MARGIN
    for section in (_timelines(report, facts), _behaviours(report, facts), _hops(report)):
        kept = _fit(section, budget, limit)
        budget -= len("\n".join(kept)) + 1
        lines += kept
    return "\n".join([*lines, FOOTER]).rstrip("\n") + "\n"


def _fit(section: Sequence[str], budget: int, limit: int) -> list[str]:
    """The section's lines that fit in ``budget``, then a note of how many list items and
    table rows did not; a ``<details>`` block cut short is closed, a table left with no
    row is dropped."""
    kept: list[str] = []
    used = 0
    for i, line in enumerate(section):
        if used + len(line) + 1 <= budget:
            kept.append(line)
            used += len(line) + 1
            continue
        left = sum(1 for x in section[i:] if x.startswith(("- ", "| ")))
        if kept and kept[-1].startswith("| ---"):
            kept = kept[:-2]
        if _open_details(kept):
            kept += ["", "</details>"]
        note = f"*{left} more lines are in report.md: summary.md stops at {limit:,} characters.*"
        return [*kept, "", note, ""]
    return kept


def _open_details(lines: Sequence[str]) -> bool:
    opened = sum(line.startswith("<details>") for line in lines)
    return opened > sum(line == "</details>" for line in lines)


def _headline(report: Report, facts: Facts) -> list[str]:
    counts = [f"{STATUS_STYLE[s].symbol} {n} {s}" for s, n in status_counts(report)]
    expected = expected_words(report)
    if expected:
        counts.append(f"{EXPECTED.symbol} {expected}")
    lines = [summary_line(report), ""]
    if counts:
        lines += [" · ".join(counts), ""]
    lines += [changes_line(facts, "**"), ""]
    if facts.claims:
        lines += [
            f"{CLAIMS_HEADING}: {claims_count(facts)} disagree with the support level "
            "ExportDB declares; report.md lists them.",
            "",
        ]
    return lines


def _timelines(report: Report, facts: Facts) -> list[str]:
    """The regressions' and fixes' timelines, the first ``OPEN_LINES`` of each kind open."""
    timelines = resolve_timelines(report, facts)
    totals = change_counts(facts)
    names, axes = version_names(report.targets), report_axes(report)
    lines: list[str] = []
    for kind in (ChangeKind.REGRESSION, ChangeKind.FIX):
        found = [t for t in timelines if t.kind is kind]
        if not found:
            continue
        mark, heading = CHANGE_LABEL[kind][0], CHANGE_HEADING[kind]
        lines += [f"## {mark} {heading}: {timeline_count(kind, found, totals[kind])}", ""]
        lines += [timeline_line(t, names, axes) for t in found[:OPEN_LINES]]
        rest = found[OPEN_LINES:]
        if rest:
            more = f"{len(rest)} more {CHANGE_HEADING[kind].lower()}"
            lines += ["", *_details(more, rest, names, axes)]
        lines.append("")
    if lines:
        lines += [TIMELINES_MEANING, ""]
    others = (ChangeKind.NEW, ChangeKind.GONE, ChangeKind.DEFAULT_CHANGED)
    if any(totals[k] for k in others):
        listed = ", ".join(f"{totals[k]} {k}" for k in others)
        lines += [f"Changes that are not regressions or fixes ({listed}) are in report.md.", ""]
    return lines


def _details(
    title: str,
    timelines: Sequence[Timeline],
    names: Mapping[str, str],
    axes: tuple[Sequence[Mode], Sequence[Device]],
) -> list[str]:
    """A collapsed block: its Markdown needs the blank lines around it to render on GitHub."""
    return [
        f"<details><summary>{title}</summary>",
        "",
        *(timeline_line(t, names, axes) for t in timelines),
        "",
        "</details>",
    ]


def _behaviours(report: Report, facts: Facts) -> list[str]:
    """One row per known behaviour: its verdicts per build family as spans, and where it is now."""
    if not facts.behaviours:
        return []
    names = version_names(report.targets)
    families = build_families(report.targets)
    rows = [
        [
            md_code(b.behaviour.id),
            md_text(_verdict_history(b, families, names)),
            md_text(verdict_summary(b)),
        ]
        for b in facts.behaviours
    ]
    return ["## Known behaviours", "", *md_table(["behaviour", "history", "now"], rows), ""]


def _verdict_history(
    row: BehaviourRow, families: Mapping[str, list[str]], names: Mapping[str, str]
) -> str:
    """``cuda: reproduced ≤2.5.1 → absent ≥2.7.1 · cpu: absent 2.13.0``; n/a left out."""
    verdicts = dict(row.verdicts)
    parts = []
    for family, ids in families.items():
        points = [
            (t, str(verdicts[t]), False)
            for t in ids
            if verdicts.get(t) not in (None, Verdict.NOT_APPLICABLE)
        ]
        if points:
            parts.append(f"{family}: {spans_text(resolve_spans(points), names)}")
    return " · ".join(parts) or "not applicable"


def _hops(report: Report) -> list[str]:
    hops = resolve_hop_overview(report)
    if not hops:
        return []
    names = version_names(report.targets)
    return ["## HOPs", "", HOP_LINES_MEANING, "", *(hop_line(h, names) for h in hops), ""]
