"""What ``python -m compat report`` prints after its first line: counts, regressions, files.

Pure: the report, its facts and where it was written in, ``rich`` texts out
(the CLI prints them). The regressions are the timelines of ``compat.timeline``,
the first ``MAX_LINES`` of them; summary.md and report.md hold the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.text import Text

from compat.artifacts import HTML_NAME, MD_NAME, SUMMARY_NAME
from compat.layout import (
    CHANGE_GLYPH,
    change_counts,
    claims_count,
    expected_words,
    plural,
    status_counts,
)
from compat.model import ChangeKind, Facts, Report
from compat.timeline import (
    members_text,
    report_axes,
    resolve_timelines,
    spans_text,
    version_names,
)

MAX_LINES = 10
_INDENT = "  "


def render_terminal(report: Report, facts: Facts, folder: Path, files: Sequence[str]) -> list[Text]:
    """The lines under "wrote …": cells per status, the regressions' timelines, the files."""
    lines = [_counts(report), *_claims(facts), *_regressions(report, facts)]
    shown = [name for name in (SUMMARY_NAME, MD_NAME, HTML_NAME) if name in files]
    if shown:
        where = Text(f"{_INDENT}read   ", style="bold") + Text(f"{folder / shown[0]}")
        for name in shown[1:]:
            where += Text(f" · {name}")
        lines.append(where)
    return lines


def _counts(report: Report) -> Text:
    parts = [f"{n} {status}" for status, n in status_counts(report)]
    expected = expected_words(report)
    if expected:
        parts.append(expected)
    return Text(f"{_INDENT}cells  ", style="bold") + Text(" · ".join(parts) or "none")


def _claims(facts: Facts) -> list[Text]:
    """One line when the measurement contradicts ExportDB's declared support levels."""
    if not facts.claims:
        return []
    said = f"{claims_count(facts)} disagree with the support level ExportDB declares"
    return [Text(f"{_INDENT}claims ", style="bold") + Text(said)]


def _regressions(report: Report, facts: Facts) -> list[Text]:
    count = change_counts(facts)[ChangeKind.REGRESSION]
    if not count:
        return [Text(f"{_INDENT}no regressions", style="green")]
    found = [t for t in resolve_timelines(report, facts) if t.kind is ChangeKind.REGRESSION]
    names, axes = version_names(report.targets), report_axes(report)
    head = f"{_INDENT}{plural(count, 'regression')} in {plural(len(found), 'line')}:"
    lines = [Text(head, style="bold red")]
    for timeline in found[:MAX_LINES]:
        spans = spans_text(timeline.spans, names, lambda k: f"{CHANGE_GLYPH[k]} ")
        members = members_text(timeline.members, *axes)
        lines.append(
            Text(f"{_INDENT * 2}{timeline.case} · {timeline.family} · {members}: ", style="red")
            + Text(spans)
        )
    if len(found) > MAX_LINES:
        more = len(found) - MAX_LINES
        lines.append(Text(f"{_INDENT * 2}and {plural(more, 'more line')} in {SUMMARY_NAME}"))
    return lines
