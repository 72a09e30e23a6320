"""What the renderers share: the status table, the matrix layout, counts and labels.

Pure functions of a ``Report`` and its ``Facts``: Markdown and HTML show the
same blocks, rows, symbols and words because both take them from here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from compat.model import Cell, ChangeKind, Facts, Report, RowSince, TargetInfo
from suites.schema import CellId, Device, Mode, Status, SuiteProp


@dataclass(frozen=True)
class StatusStyle:
    """How a status is shown: a Markdown emoji, an HTML glyph, a CSS class, what it means."""

    symbol: str  # Markdown
    glyph: str  # HTML: monochrome, in common system fonts, legible without colour
    css: str
    meaning: str


def _style(status: str, symbol: str, glyph: str, meaning: str) -> StatusStyle:
    return StatusStyle(symbol, glyph, f"st-{status}", meaning)


STATUS_STYLE: Mapping[Status, StatusStyle] = {
    s: _style(s.value, *rest)
    for s, *rest in (
        (Status.PASS, "✅", "✓", "exported, ran, outputs match"),
        (Status.FAIL, "❌", "✗", "exported and ran, outputs differ"),
        (Status.ERROR, "💥", "‼", "an exception while exporting, round-tripping or running"),
        (Status.XFAIL, "⚠️", "⚠", "a known behaviour reproduced"),
        (Status.XPASS, "🎉", "★", "a known behaviour the reference expects is absent: fixed"),
        (Status.SKIP, "⏭️", "»", "not run, with a reason"),
        (Status.MISSING, "∅", "∅", "the HOP or the mode does not exist in this torch"),
        (Status.TIMEOUT, "⏱️", "◔", "ran past its time limit"),
        (Status.CRASH, "☠️", "☠", "the interpreter died in this case"),
        (Status.ENV_ERROR, "🚫", "⊘", "the target could not be installed or imported"),
    )
}
NO_RESULT = StatusStyle("·", "·", "st-none", "no result for this cell")

# Characters of one message or property value that report.md, report.html and report.json
# show; junit.xml keeps every message whole.
MAX_TEXT = 2000


def cut(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` up to ``limit`` characters, and a marker that says how much more junit.xml has."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [cut: {len(text) - limit} more characters in junit.xml]"


MODE_MEANING: Mapping[Mode, str] = {
    Mode.AOT: "torch.export.export with its default strictness",
    Mode.STRICT: "torch.export.export(..., strict=True)",
    Mode.PRE_DISPATCH: "torch.export._trace._export(..., pre_dispatch=True)",
    Mode.RETRACE: "pre_dispatch, then run_decompositions()",
    Mode.SERIALIZE: "retrace, then torch.export.save and torch.export.load",
    Mode.NON_STRICT: "torch.export.export(..., strict=False)",
}


@dataclass(frozen=True)
class MatrixRow:
    """One case in one mode/device block: its cell per column and its "since" per build."""

    cell: CellId
    cells: tuple[Cell | None, ...]  # per block target; None: no result
    since: tuple[RowSince | None, ...]  # per block build; None: no fact for that build


@dataclass(frozen=True)
class MatrixBlock:
    """The matrix of one mode on one device."""

    mode: Mode
    device: Device
    targets: tuple[TargetInfo, ...]
    builds: tuple[str, ...]
    rows: tuple[MatrixRow, ...]

    @property
    def meaning(self) -> str:
        return MODE_MEANING[self.mode]


def target_devices(target: TargetInfo, found: set[Device]) -> frozenset[Device]:
    """Devices a target has results for (``found``), or declares; cpu when it has neither."""
    found = set(found)
    declared = dict(target.properties).get(SuiteProp.DEVICES, "")
    known = {d.value for d in Device}
    found.update(Device(n.strip()) for n in declared.split(",") if n.strip() in known)
    return frozenset(found) if found else frozenset({Device.CPU})


def resolve_matrix(report: Report, facts: Facts) -> tuple[MatrixBlock, ...]:
    """One block per device (cpu first) and mode (in ``Mode`` order) that has cells."""
    found: dict[str, set[Device]] = {t.id: set() for t in report.targets}
    for row in report.rows:
        for cell in row.cells:
            found[cell.target].add(row.id.device)
    devices = {t.id: target_devices(t, found[t.id]) for t in report.targets}
    since = {(s.cell, s.build): s for s in facts.since}
    blocks: list[MatrixBlock] = []
    for device in Device:
        targets = tuple(t for t in report.targets if device in devices[t.id])
        # A build none of whose targets ran has no "since" to show.
        builds = tuple(dict.fromkeys(t.family for t in targets if t.env_error is None))
        for mode in Mode:
            rows = []
            for row in report.rows:
                if row.id.mode is not mode or row.id.device is not device:
                    continue
                by_target = {c.target: c for c in row.cells}
                rows.append(
                    MatrixRow(
                        row.id,
                        tuple(by_target.get(t.id) for t in targets),
                        tuple(since.get((row.id, b)) for b in builds),
                    )
                )
            if rows:
                blocks.append(MatrixBlock(mode, device, targets, builds, tuple(rows)))
    return tuple(blocks)


def status_counts(report: Report) -> tuple[tuple[Status, int], ...]:
    """How many cells have each status, in ``Status`` order, zeros left out."""
    counts = Counter(cell.status for row in report.rows for cell in row.cells)
    return tuple((s, counts[s]) for s in Status if counts[s])


def change_counts(facts: Facts) -> dict[ChangeKind, int]:
    """How many regressions and fixes the facts list."""
    counts = Counter(c.kind for c in facts.changes)
    return {kind: counts[kind] for kind in ChangeKind}


def plural(n: int, noun: str) -> str:
    suffix = "es" if noun.endswith(("s", "x")) else "s"
    return f"{n} {noun}" if n == 1 else f"{n} {noun}{suffix}"


def summary_line(report: Report) -> str:
    """``5 targets · 7 cases · 5 modes · 2 devices · 140 cells``."""
    ids = [row.id for row in report.rows]
    return " · ".join(
        (
            plural(len(report.targets), "target"),
            plural(len({i.case for i in ids}), "case"),
            plural(len({i.mode for i in ids}), "mode"),
            plural(len({i.device for i in ids}), "device"),
            plural(sum(len(row.cells) for row in report.rows), "cell"),
        )
    )


def changes_line(facts: Facts, strong: str = "") -> str:
    """How many regressions and fixes; ``strong`` wraps the regressions (e.g. ``**``)."""
    kinds = change_counts(facts)
    regressions = plural(kinds[ChangeKind.REGRESSION], "regression")
    fixes = plural(kinds[ChangeKind.FIX], "fix")
    return f"{strong}{regressions}{strong}, {fixes} between consecutive versions of a build family."


def aot_strictness(target: TargetInfo) -> str:
    value = dict(target.properties).get(SuiteProp.AOT_STRICT)
    return {"true": "strict", "false": "non-strict"}.get(value or "", value or "")


def since_label(row: RowSince | None, targets: Mapping[str, TargetInfo]) -> str:
    """The version a row passes from, "never" when it fails in the newest, "" when unknown."""
    if row is None:
        return ""
    if row.since is None:
        return "never"
    target = targets.get(row.since)
    return str(target.version) if target is not None else row.since


def verdict_summary(first_seen: str | None, absent_since: str | None, still: bool) -> str:
    if still:
        return "still present in newest"
    if absent_since is not None:
        return f"absent since {absent_since}"
    if first_seen is None:
        return "never reproduced"
    return "not reproduced in newest"
