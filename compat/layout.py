"""What the renderers share: the status table, the matrix layout, counts and labels.

Pure functions of a ``Report`` and its ``Facts``: Markdown and HTML show the
same blocks, rows, symbols and words because both take them from here.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from compat.claims import ClaimSpan, claim_spans
from compat.facts import UPSTREAM, expected_by, expected_reason
from compat.model import (
    BehaviourRow,
    Cell,
    ChangeKind,
    ClaimRow,
    Facts,
    Gap,
    Report,
    RowSince,
    TargetInfo,
    Verdict,
)
from compat.timeline import Timeline, members_text
from suites.schema import CellId, Device, Mode, Prop, Source, Status, SuiteProp


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
        (
            Status.FAIL,
            "❌",
            "✗",
            "exported and ran, outputs differ, or (dynamic) export specialised a dynamic dim",
        ),
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
# A failure that upstream (CUDA only, no float32 on the device, an xfail) or ExportDB
# (not supported yet) declares: shown after the status's symbol, and counted apart from
# unexpected failures.
EXPECTED = StatusStyle(
    "🔸", "◇", "st-expected", "a failure upstream or ExportDB declares, with its reason"
)
# Cells without a measured result, by why (``Facts.gap_of``); the rest show ``NO_RESULT``.
GAP_STYLE: Mapping[Gap, StatusStyle] = {
    Gap.HOP_DB_UNAVAILABLE: StatusStyle(
        "⊖", "⊖", "st-none", "hop_db could not be imported in this torch"
    ),
    Gap.NOT_IN_HOP_DB: StatusStyle("○", "○", "st-none", "not in this release's hop_db"),
    Gap.NOT_IN_EXPORTDB: StatusStyle("○", "○", "st-none", "not in this release's ExportDB"),
    Gap.NOT_RUN: StatusStyle("◌", "◌", "st-none", "this target's results lack the mode or device"),
}
# Missing cells whose gap has a look of its own; the others show ``missing``'s.
MISSING_STYLE: Mapping[Gap, StatusStyle] = {
    Gap.TOO_OLD: StatusStyle(
        "◁", "◁", "st-missing", "release too old: the case's public API needs a newer torch"
    ),
}


def cell_style(cell: Cell, facts: Facts) -> StatusStyle:
    """How a cell's status is shown: its status's look, or its gap's where it has one."""
    if cell.status is Status.MISSING:
        gap = facts.gap_of.get((cell.target, cell.id))
        if gap is not None and gap.gap in MISSING_STYLE:
            return MISSING_STYLE[gap.gap]
    return STATUS_STYLE[cell.status]


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
    Mode.DYNAMIC: (
        "torch.export.export with the leading dimension of every tensor input dynamic, "
        "then run on a sample of another size"
    ),
    Mode.AOTI: (
        "torch.export.export, then torch._inductor.aoti_compile_and_package, "
        "aoti_load_package and run"
    ),
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
    compared = {s.build for s in facts.since}  # families of two or more targets that ran
    blocks: list[MatrixBlock] = []
    for device in Device:
        targets = tuple(t for t in report.targets if device in devices[t.id])
        builds = tuple(dict.fromkeys(t.family for t in targets if t.family in compared))
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
    """How many cells have each status, in ``Status`` order, zeros and expected ones left out."""
    counts = Counter(
        cell.status for row in report.rows for cell in row.cells if expected_reason(cell) is None
    )
    return tuple((s, counts[s]) for s in Status if counts[s])


def expected_count(report: Report) -> int:
    """How many failing cells upstream or ExportDB declares (counted apart from
    ``status_counts``)."""
    return sum(expected_reason(cell) is not None for row in report.rows for cell in row.cells)


def expected_words(report: Report) -> str:
    """``12 expected (upstream declares them)``, naming who declared the expected failures;
    "" when there are none."""
    who: dict[str, None] = {}
    for row in report.rows:
        for cell in row.cells:
            who.update(dict.fromkeys(expected_by(cell)))
    if not who:
        return ""
    names = sorted(who, key=lambda name: name != UPSTREAM)  # upstream first
    verb = "declares" if len(names) == 1 else "declare"
    return f"{expected_count(report)} expected ({' and '.join(names)} {verb} them)"


def change_counts(facts: Facts) -> dict[ChangeKind, int]:
    """How many changes of each kind the facts list."""
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


CHANGE_LABEL: Mapping[ChangeKind, tuple[str, str]] = {
    ChangeKind.REGRESSION: ("🔻", "passed in the older version, fails in the newer"),
    ChangeKind.FIX: ("🔺", "failed in the older version, passes in the newer"),
    ChangeKind.NEW: ("🆕", "the HOP, case or mode did not exist in the older version"),
    ChangeKind.GONE: ("🗑️", "the HOP, case or mode no longer exists in the newer version"),
    ChangeKind.DEFAULT_CHANGED: (
        "🔀",
        "the outcome changed with a recorded mode parameter (strictness): not the same test",
    ),
}


# Monochrome marks of the change kinds, for HTML and the terminal (Markdown has CHANGE_LABEL's).
CHANGE_GLYPH: Mapping[ChangeKind, str] = {
    ChangeKind.REGRESSION: "▼",
    ChangeKind.FIX: "▲",
    ChangeKind.NEW: "✚",
    ChangeKind.GONE: "✖",
    ChangeKind.DEFAULT_CHANGED: "⇄",
}
CHANGE_HEADING: Mapping[ChangeKind, str] = {
    ChangeKind.REGRESSION: "Regressions",
    ChangeKind.FIX: "Fixes",
    ChangeKind.NEW: "New",
    ChangeKind.GONE: "Gone",
    ChangeKind.DEFAULT_CHANGED: "Default changed",
}
TIMELINES_MEANING = (
    "One line per case and build family; the modes (and devices) with the same history share "
    "it. Each state names the versions it holds in: ≤v, v and the older versions measured; "
    "≥v, v and the newer ones; a mark before a state is the change that leads into it. "
    "A line is listed under the first of regression, fix, new, gone, default changed that it "
    "holds, newest change first."
)


def timeline_groups(
    timelines: Sequence[Timeline],
) -> tuple[tuple[ChangeKind, tuple[Timeline, ...]], ...]:
    """The timelines by kind, in ``ChangeKind`` order, kinds without one left out."""
    return tuple(
        (kind, found)
        for kind in ChangeKind
        if (found := tuple(t for t in timelines if t.kind is kind))
    )


def timeline_count(kind: ChangeKind, timelines: Sequence[Timeline], total: int) -> str:
    """``2 lines, 10 regressions``, or ``10 lines, 24 of the 36 fixes (the rest on lines
    above)``: a line is listed once, under the first kind it holds."""
    noun = {ChangeKind.REGRESSION: "regression", ChangeKind.FIX: "fix"}.get(kind, "change")
    here = sum(t.changes(kind) for t in timelines)
    lines = plural(len(timelines), "line")
    if here == total:
        return f"{lines}, {plural(here, noun)}"
    return f"{lines}, {here} of the {plural(total, noun)} (the rest on lines above)"


def changes_line(facts: Facts, strong: str = "") -> str:
    """How many changes of each kind; ``strong`` wraps the regressions (e.g. ``**``)."""
    kinds = change_counts(facts)
    parts = [
        f"{strong}{plural(kinds[ChangeKind.REGRESSION], 'regression')}{strong}",
        plural(kinds[ChangeKind.FIX], "fix"),
        f"{kinds[ChangeKind.NEW]} new",
        f"{kinds[ChangeKind.GONE]} gone",
        f"{kinds[ChangeKind.DEFAULT_CHANGED]} default changed",
    ]
    return f"{', '.join(parts)} between consecutive versions of a build family."


def strictness_flips(report: Report) -> tuple[str, ...]:
    """Per build family where it flips: ``cuda: aot strict ≤ 2.7.1, non-strict ≥ 2.8.0``."""
    out = []
    families: dict[str, list[TargetInfo]] = {}
    for t in report.targets:
        if aot_strictness(t):
            families.setdefault(t.family, []).append(t)
    for family, targets in families.items():
        ordered = sorted(targets, key=lambda t: t.version)
        for a, b in itertools.pairwise(ordered):
            if aot_strictness(a) != aot_strictness(b):
                out.append(
                    f"{family}: aot {aot_strictness(a)} ≤ {a.version}, "
                    f"{aot_strictness(b)} ≥ {b.version}"
                )
    return tuple(out)


def aot_strictness(target: TargetInfo) -> str:
    value = dict(target.properties).get(SuiteProp.AOT_STRICT)
    return {"true": "strict", "false": "non-strict"}.get(value or "", value or "")


def since_label(row: RowSince | None, targets: Mapping[str, TargetInfo]) -> str:
    """The version a row passes from ("≤ 2.4.1": already in the oldest measured), or why not.

    "never": it does not pass in the newest target; "gone": the newest no longer has it;
    "": no fact (no target of the family measured it, or the family has one target).
    """
    if row is None:
        return ""
    if row.since is None:
        return "gone" if row.gone else "never"
    target = targets.get(row.since)
    version = str(target.version) if target is not None else row.since
    return f"≤ {version}" if row.at_oldest else version


def behaviour_marks(report: Report) -> dict[str, str]:
    """A superscript number per behaviour id, in table order: what a cell's symbol carries."""
    digits = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
    return {b.id: str(i).translate(digits) for i, b in enumerate(report.behaviours, 1)}


def verdict_summary(row: BehaviourRow) -> str:
    if row.still_present:
        return "still present in newest"
    if row.absent_since is not None:
        return f"absent since {row.absent_since}"
    if row.first_seen is None:
        judged = {v for _, v in row.verdicts} - {Verdict.NOT_APPLICABLE, Verdict.NOT_MEASURED}
        measured = any(v is Verdict.NOT_MEASURED for _, v in row.verdicts)
        return "not measured" if measured and not judged else "never reproduced"
    return "not reproduced in newest"


# --- ExportDB's claims ----------------------------------------------------------

CLAIMS_HEADING = "ExportDB's claims against the measurement"
CLAIMS_MEANING = (
    "ExportDB (torch._export.db) declares per example, one release at a time, whether "
    "torch.export supports it (SUPPORTED) or not yet (NOT_SUPPORTED_YET). One line per "
    "exportdb case where a release's claim and its cells disagree: declared supported but "
    "failing, or declared not supported yet but passing, with the modes. A claim is compared "
    "in the modes it is about: dynamic for an example with its own dynamic_shapes, the six "
    "static modes for the others; what a compiler makes of the program is beyond it."
)


def claim_head(spans: Sequence[ClaimSpan]) -> str:
    """``declared SUPPORTED``, or ``declared levels differ`` where a release changed it."""
    levels = {s.declared for s in spans}
    return f"declared {spans[0].declared}" if len(levels) == 1 else "declared levels differ"


def claim_words(
    span: ClaimSpan, spans: Sequence[ClaimSpan], axes: tuple[Sequence[Mode], Sequence[Device]]
) -> str:
    """What follows a group of targets: ``error in serialize, aoti; fail in dynamic``, after
    ``declared NOT_SUPPORTED_YET:`` where the level differs between the groups."""
    said = "; ".join(
        f"{status} in {members_text(members, *axes)}" for status, members in span.outcomes
    )
    one_level = len({s.declared for s in spans}) == 1
    return said if one_level else f"declared {span.declared}: {said}"


def claim_text(row: ClaimRow, axes: tuple[Sequence[Mode], Sequence[Device]]) -> tuple[str, ...]:
    """A claims line after its case: ``declared SUPPORTED``, then per group of targets
    ``2.6.0-cpu, 2.9.1-cpu: error in serialize, aoti; fail in dynamic``."""
    spans = claim_spans(row)
    return (
        claim_head(spans),
        *(f"{', '.join(s.targets)}: {claim_words(s, spans, axes)}" for s in spans),
    )


def claims_count(facts: Facts) -> str:
    """``3 exportdb cases, 7 cells``: how much of ExportDB's claims the measurement contradicts."""
    cells = sum(len(row.misses) for row in facts.claims)
    return f"{plural(len(facts.claims), 'exportdb case')}, {plural(cells, 'cell')}"


def has_exportdb(report: Report) -> bool:
    """Whether the report has exportdb rows (the claims section is shown only then)."""
    return any(row.id.source is Source.EXPORTDB for row in report.rows)


# --- what a cell's properties say, beyond its status ------------------------------

# The properties of #18's modes and sources that a cell's details name: (property, label).
NOTED_PROPERTIES: tuple[tuple[Prop, str], ...] = (
    (Prop.DYNAMIC_DIMS, "dynamic dims"),
    (Prop.COMPILE_SECONDS, "compile time (s)"),
    (Prop.GRAPH_HOPS, "HOPs in the graph"),
    (Prop.SINCE, "oldest release"),
)
_SPECIALISED = re.compile(r"\bspeciali[sz]ed\b")


@dataclass(frozen=True)
class Specialised:
    """A case whose dynamic cells had dimensions marked dynamic that export specialised."""

    case: str
    found: tuple[tuple[str, tuple[str, ...]], ...]  # (the dims specialised, target ids)


def resolve_specialised(block: MatrixBlock) -> tuple[Specialised, ...]:
    """Per case of a ``dynamic`` block: which dims export specialised, on which targets."""
    if block.mode is not Mode.DYNAMIC:
        return ()
    out = []
    for row in block.rows:
        found: dict[str, list[str]] = {}
        for cell in row.cells:
            dims = specialised_dims(cell) if cell is not None else ()
            if cell is not None and dims:
                found.setdefault(", ".join(dims), []).append(cell.target)
        if found:
            out.append(Specialised(row.cell.case, tuple((d, tuple(t)) for d, t in found.items())))
    return tuple(out)


def specialised_text(item: Specialised) -> str:
    """``args[0].0 specialised to 3 on 2.6.0-cpu, 2.9.1-cpu; ...``."""
    return "; ".join(f"{dims} on {', '.join(targets)}" for dims, targets in item.found)


@dataclass(frozen=True)
class CompileTimes:
    """How long aoti_compile_and_package took for the cells of one target."""

    target: str
    cells: int
    median: float
    longest: float
    longest_case: str


def resolve_compile_times(block: MatrixBlock) -> tuple[CompileTimes, ...]:
    """Per target of an ``aoti`` block with compile times: their median and the longest."""
    if block.mode is not Mode.AOTI:
        return ()
    out = []
    for column, target in enumerate(block.targets):
        timed = [
            (seconds, row.cell.case)
            for row in block.rows
            if (cell := row.cells[column]) is not None
            and (seconds := compile_seconds(cell)) is not None
        ]
        if timed:
            longest, case = max(timed, key=lambda t: (t[0], t[1]))
            median = statistics.median(t[0] for t in timed)
            out.append(CompileTimes(target.id, len(timed), median, longest, case))
    return tuple(out)


def compile_text(times: CompileTimes) -> str:
    """``2.13.0-cpu: median 31.2 s, longest 45.0 s (catalog:cond.simple), 40 cells``."""
    return (
        f"{times.target}: median {times.median:.1f} s, longest {times.longest:.1f} s "
        f"({times.longest_case}), {plural(times.cells, 'cell')}"
    )


def cell_notes(cell: Cell) -> tuple[tuple[str, str], ...]:
    """(label, value) of each noted property the cell has, in ``NOTED_PROPERTIES`` order."""
    props = dict(cell.properties)
    return tuple((label, props[key]) for key, label in NOTED_PROPERTIES if props.get(key))


def specialised_dims(cell: Cell) -> tuple[str, ...]:
    """The entries of a dynamic cell's ``dynamic_dims`` that export specialised
    (``args[1].0 specialised to 4``), in the order written."""
    value = dict(cell.properties).get(Prop.DYNAMIC_DIMS.value, "")
    return tuple(e.strip() for e in value.split(",") if _SPECIALISED.search(e))


def compile_seconds(cell: Cell) -> float | None:
    """An aoti cell's compile time, or None where it has none (or not a number)."""
    try:
        return float(dict(cell.properties)[Prop.COMPILE_SECONDS.value])
    except (KeyError, ValueError):
        return None
