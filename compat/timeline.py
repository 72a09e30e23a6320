"""Change timelines: one line per case and build family, the modes that share a history grouped.

Pure: a ``Report`` and its ``Facts`` in, ``Timeline`` values out. A row's
history in a family is its state in each version that knows it (a status, or
``missing`` where the HOP, API, case or mode did not exist), run-length
encoded into spans; a version where nothing says either way (hop_db not
importable, not run) is left out, as ``compat.facts`` looks past it. The
changes the facts list between the family's versions say which span begins
with a regression, a fix, new, gone or default changed; a timeline is listed
under the first of those kinds it holds, so the line
``error ≤2.4.1 → pass 2.5.1 → error 2.7.1 to 2.8.0 → pass ≥2.9.1`` is a
regression, whatever else it holds. Markdown, HTML, summary.md and the
terminal format the same values with ``spans_text``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from packaging.version import Version

from compat.facts import build_families, expected_reason
from compat.model import ABSENT_GAPS, Change, ChangeKind, Facts, Report, Row, TargetInfo
from suites.schema import CellId, Device, Mode

MISSING = "missing"  # the state of a version where the row did not exist
EN_DASH = "\u2013"  # between the first and last version of a span
_KIND_ORDER = {kind: i for i, kind in enumerate(ChangeKind)}


@dataclass(frozen=True)
class Span:
    """Consecutive versions of a family in which a row is in one state."""

    state: str  # a status value, or ``MISSING``
    targets: tuple[str, ...]  # target ids, oldest first
    expected: bool = False  # every cell of it is a failure upstream or ExportDB declares
    change: ChangeKind | None = None  # the change (per the facts) that leads into it


@dataclass(frozen=True)
class Timeline:
    """One case's history in one build family, shared by the modes (and devices) in ``members``."""

    case: str  # "catalog:associative_scan.cumsum"
    hop: str
    family: str
    members: tuple[tuple[Mode, Device], ...]  # in Mode, then Device order
    spans: tuple[Span, ...]
    notes: tuple[str, ...] = ()  # what the changes note: "strict true → false", ...

    @property
    def kind(self) -> ChangeKind | None:
        """The first of regression, fix, new, gone, default changed that the timeline holds."""
        kinds = [s.change for s in self.spans if s.change is not None]
        return min(kinds, key=_KIND_ORDER.__getitem__) if kinds else None

    def changes(self, kind: ChangeKind) -> int:
        """How many of the facts' changes of ``kind`` this line stands for (one per member)."""
        return sum(s.change is kind for s in self.spans) * len(self.members)


def resolve_spans(points: Sequence[tuple[str, str, bool]]) -> tuple[Span, ...]:
    """``(target, state, expected)`` points, oldest first, as runs of one state."""
    spans: list[Span] = []
    for target, state, expected in points:
        last = spans[-1] if spans else None
        if last is not None and (last.state, last.expected) == (state, expected):
            spans[-1] = Span(state, (*last.targets, target), expected)
        else:
            spans.append(Span(state, (target,), expected))
    return tuple(spans)


def resolve_timelines(report: Report, facts: Facts) -> tuple[Timeline, ...]:
    """The timelines that hold a change: regressions first, then fixes, new, gone, default
    changed; within a kind, the newest change first, then by case and family."""
    families = build_families(report.targets)
    changes: dict[tuple[CellId, str], list[Change]] = defaultdict(list)
    for change in facts.changes:
        changes[change.cell, change.build].append(change)
    groups: dict[tuple[object, ...], list[tuple[Mode, Device]]] = defaultdict(list)
    found: dict[tuple[object, ...], Timeline] = {}
    for row in report.rows:
        for family, ids in families.items():
            listed = changes.get((row.id, family))
            if not listed:
                continue
            spans = _with_changes(resolve_spans(_history(row, ids, facts)), listed)
            notes = tuple(dict.fromkeys(c.note for c in listed if c.note))
            key = (row.id.case, family, spans, notes)
            groups[key].append((row.id.mode, row.id.device))
            found.setdefault(key, Timeline(row.id.case, row.id.hop, family, (), spans, notes))
    by_id = {t.id: t for t in report.targets}
    timelines = [
        Timeline(t.case, t.hop, t.family, _ordered(groups[key]), t.spans, t.notes)
        for key, t in found.items()
    ]
    timelines.sort(key=lambda t: (t.case, t.family))
    timelines.sort(key=lambda t: _newest(t, by_id), reverse=True)
    return tuple(sorted(timelines, key=lambda t: _KIND_ORDER[_kind(t)]))


def _history(row: Row, ids: Sequence[str], facts: Facts) -> list[tuple[str, str, bool]]:
    """The row's state in each target of a family that knows it, oldest first."""
    cells = {c.target: c for c in row.cells}
    out = []
    for target in ids:
        cell = cells.get(target)
        if cell is not None:
            out.append((target, str(cell.status), expected_reason(cell) is not None))
            continue
        gap = facts.gap_of.get((target, row.id))
        if gap is not None and gap.gap in ABSENT_GAPS:
            out.append((target, MISSING, False))
    return out


def _with_changes(spans: tuple[Span, ...], changes: Sequence[Change]) -> tuple[Span, ...]:
    """Each span marked with the change that leads into it (a change's newer side starts one)."""
    into = {c.after: c.kind for c in changes}
    return tuple(Span(s.state, s.targets, s.expected, into.get(s.targets[0])) for s in spans)


def _ordered(members: Sequence[tuple[Mode, Device]]) -> tuple[tuple[Mode, Device], ...]:
    modes, devices = list(Mode), list(Device)
    return tuple(sorted(members, key=lambda m: (modes.index(m[0]), devices.index(m[1]))))


def _kind(timeline: Timeline) -> ChangeKind:
    kind = timeline.kind
    assert kind is not None  # every timeline made holds a change
    return kind


def _newest(timeline: Timeline, by_id: Mapping[str, TargetInfo]) -> Version:
    """The version of the newest change of the timeline's own kind."""
    kind = _kind(timeline)
    return max(by_id[s.targets[0]].version for s in timeline.spans if s.change is kind)


# --- text ------------------------------------------------------------------------


def version_names(targets: Sequence[TargetInfo]) -> dict[str, str]:
    """How a span names each target: its version, or its id where its family has the
    version twice (2.8.0-cu126 and 2.8.0-cu128)."""
    seen: dict[tuple[str, str], int] = defaultdict(int)
    for t in targets:
        seen[t.family, str(t.version)] += 1
    return {t.id: str(t.version) if seen[t.family, str(t.version)] == 1 else t.id for t in targets}


def span_versions(span: Span, position: int, count: int, names: Mapping[str, str]) -> str:
    """``≤2.4.1`` (first of several), ``≥2.9.1`` (last of several), ``2.6.0`` to ``2.8.0``
    (joined by an en dash), ``2.5.1``."""
    first, last = names[span.targets[0]], names[span.targets[-1]]
    if count > 1 and position == 0:
        return f"≤{last}"
    if count > 1 and position == count - 1:
        return f"≥{first}"
    return first if first == last else f"{first}{EN_DASH}{last}"


def spans_text(
    spans: Sequence[Span],
    names: Mapping[str, str],
    mark: Callable[[ChangeKind], str] = lambda _: "",
    expected: str = "",
) -> str:
    """``error ≤2.4.1 → pass 2.5.1 → …``: ``mark`` goes before the state a change leads into,
    ``expected`` after a state whose cells upstream or ExportDB declares to fail."""
    parts = []
    for i, span in enumerate(spans):
        lead = mark(span.change) if span.change is not None else ""
        tail = expected if span.expected else ""
        parts.append(f"{lead}{span.state}{tail} {span_versions(span, i, len(spans), names)}")
    return " → ".join(parts)


def members_text(
    members: Sequence[tuple[Mode, Device]], modes: Sequence[Mode], devices: Sequence[Device]
) -> str:
    """``aot, retrace`` (one device in the report), ``all modes on cpu, cuda``,
    ``aot on cpu; serialize on cpu, cuda``: ``modes`` and ``devices`` are the report's."""
    by_mode: dict[Mode, list[Device]] = defaultdict(list)
    for mode, device in members:
        by_mode[mode].append(device)
    by_devices: dict[tuple[Device, ...], list[Mode]] = defaultdict(list)
    for mode, found in by_mode.items():
        by_devices[tuple(found)].append(mode)
    parts = []
    for on, listed in by_devices.items():
        shown = "all modes" if len(modes) > 1 and listed == list(modes) else ", ".join(listed)
        parts.append(shown if len(devices) < 2 else f"{shown} on {', '.join(on)}")
    return "; ".join(parts)


def report_axes(report: Report) -> tuple[tuple[Mode, ...], tuple[Device, ...]]:
    """The modes and devices the report's rows have, in enum order."""
    modes = {row.id.mode for row in report.rows}
    devices = {row.id.device for row in report.rows}
    return tuple(m for m in Mode if m in modes), tuple(d for d in Device if d in devices)
