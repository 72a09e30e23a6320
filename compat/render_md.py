"""Report -> GitHub-flavoured Markdown, compact enough for a PR comment.

Also the matrix layout (which columns and rows each mode/device block has)
that the HTML renderer shares, so both show the same table.
"""

from __future__ import annotations

import itertools
import operator
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat

from compat.facts import report_groups, report_index, report_memo
from compat.model import Cell, ChangeKind, Report, RowSince, TargetInfo, Verdict
from suites.schema import CellId, Device, Mode, Status, SuiteProp

STATUS_SYMBOL: Mapping[Status, str] = {
    Status.PASS: "✅",
    Status.FAIL: "❌",
    Status.ERROR: "💥",
    Status.XFAIL: "⚠️",
    Status.XPASS: "🎉",
    Status.SKIP: "⏭️",
    Status.MISSING: "∅",
    Status.TIMEOUT: "⏱️",
    Status.CRASH: "☠️",
    Status.ENV_ERROR: "🚫",
}
NO_RESULT_SYMBOL = "·"

STATUS_MEANING: Mapping[Status, str] = {
    Status.PASS: "exported, ran, outputs match",
    Status.FAIL: "exported and ran, outputs differ",
    Status.ERROR: "an exception while exporting, round-tripping or running",
    Status.XFAIL: "a known behaviour reproduced",
    Status.XPASS: "a known behaviour the reference expects is absent: fixed",
    Status.SKIP: "not run, with a reason",
    Status.MISSING: "the HOP or the mode does not exist in this torch",
    Status.TIMEOUT: "ran past its time limit",
    Status.CRASH: "the interpreter died in this case",
    Status.ENV_ERROR: "the target could not be installed or imported",
}
NO_RESULT_MEANING = "no result for this cell"

MODE_MEANING: Mapping[Mode, str] = {
    Mode.AOT: "torch.export.export with its default strictness",
    Mode.PRE_DISPATCH: "torch.export._trace._export(..., pre_dispatch=True)",
    Mode.RETRACE: "pre_dispatch, then run_decompositions()",
    Mode.SERIALIZE: "retrace, then torch.export.save and torch.export.load",
    Mode.NON_STRICT: "torch.export.export(..., strict=False)",
}

MAX_SIGNATURES = 10
MAX_CELLS_LISTED = 5


@dataclass(frozen=True)
class MatrixRow:
    """One case in one mode/device block: its cell per column and its "since" per build."""

    case: str
    hop: str
    cells: Sequence[Cell | None]  # per block target; None: no result
    since: tuple[RowSince | None, ...]  # per block build; None: no fact for that build
    cell: CellId | None = None  # the row's cell id
    full: bool = False  # a cell in every column: ``cells`` are its group's, in order


@dataclass(frozen=True)
class MatrixBlock:
    """The matrix of one mode on one device."""

    mode: Mode
    device: Device
    targets: tuple[TargetInfo, ...]
    builds: tuple[str, ...]
    rows: tuple[MatrixRow, ...]


def target_devices(target: TargetInfo, cells: Iterable[Cell]) -> frozenset[Device]:
    """Devices a target has results for, or declares; cpu when it never ran."""
    return _devices(target, {c.id.device for c in cells if c.target == target.id})


def _devices(target: TargetInfo, found: set[Device]) -> frozenset[Device]:
    declared = dict(target.properties).get(SuiteProp.DEVICES, "")
    known = {d.value for d in Device}
    found.update(Device(n.strip()) for n in declared.split(",") if n.strip() in known)
    return frozenset(found) if found else frozenset({Device.CPU})


_TARGET = operator.attrgetter("target")


def resolve_matrix(report: Report) -> tuple[MatrixBlock, ...]:
    """One block per device (cpu first) and mode (in ``Mode`` order) that has cells."""
    return report_memo(report, "matrix", _resolve_matrix)


def _resolve_matrix(report: Report) -> tuple[MatrixBlock, ...]:
    index = report_index(report)
    since_of = _since_lookup(report, index.groups)
    every = len(report.targets)
    # Which targets have results on each device, and the rows of each block: one pass.
    with_results: dict[Device, set[str]] = defaultdict(set)
    by_block: dict[tuple[Mode, Device], list[tuple[CellId, Sequence[Cell]]]] = defaultdict(list)
    for cell_id, cells in index.groups.items():
        found = with_results[cell_id.device]
        if len(found) < every:  # once every target is in, no row can add one
            found.update(index.targets[id(cell_id)])
        by_block[cell_id.mode, cell_id.device].append((cell_id, cells))
    devices_of = {
        t.id: _devices(t, {d for d, ids in with_results.items() if t.id in ids})
        for t in report.targets
    }
    blocks: list[MatrixBlock] = []
    for device in Device:
        targets = tuple(t for t in report.targets if device in devices_of[t.id])
        ids = [t.id for t in targets]
        # A build none of whose targets ran has no "since" to show.
        builds = tuple(dict.fromkeys(t.family for t in targets if t.env_error is None))
        for mode in Mode:
            if (mode, device) not in by_block:
                continue
            rows = []
            for cell_id, cells in by_block[mode, device]:
                full = len(ids) == every and id(cell_id) in index.complete
                if full or index.targets[id(cell_id)] == ids:  # a cell in every column
                    row_cells: Sequence[Cell | None] = cells  # made only where looked at
                    full = True
                else:
                    by_target = {c.target: c for c in cells}
                    row_cells = tuple(map(by_target.get, ids))
                since = tuple(since_of(cell_id, b) for b in builds)
                rows.append(MatrixRow(cell_id.case, cell_id.hop, row_cells, since, cell_id, full))
            blocks.append(MatrixBlock(mode, device, targets, builds, tuple(rows)))
    return tuple(blocks)


def _since_lookup(
    report: Report, groups: Mapping[CellId, object]
) -> Callable[[CellId, str], RowSince | None]:
    """(cell id, build) -> its "since" fact; by object where the facts share the ids."""
    facts = report.facts.since
    keys = {id(cell_id) for cell_id in groups}
    if all(id(s.cell) in keys for s in facts):  # hashing a CellId costs far more
        by_object = {(id(s.cell), s.build): s for s in facts}
        return lambda cell_id, build: by_object.get((id(cell_id), build))
    by_value = {(s.cell, s.build): s for s in facts}
    return lambda cell_id, build: by_value.get((cell_id, build))


def status_counts(report: Report) -> tuple[tuple[Status, int], ...]:
    """How many cells have each status, in ``Status`` order, zeros left out."""
    return report_memo(report, "status_counts", _status_counts)


def _status_counts(report: Report) -> tuple[tuple[Status, int], ...]:
    # From the cells' result indices: a pass over compact lists, not over every cell.
    index = report_index(report)
    per_result = Counter(itertools.chain.from_iterable(index.result_of.values()))
    counts: Counter[Status] = Counter()
    for i, n in per_result.items():
        counts[index.results[i].status] += n
    return tuple((s, counts[s]) for s in Status if counts[s])


def plural(n: int, noun: str) -> str:
    suffix = "es" if noun.endswith(("s", "x")) else "s"
    return f"{n} {noun}" if n == 1 else f"{n} {noun}{suffix}"


def summary_line(report: Report) -> str:
    """``5 targets · 7 cases · 5 modes · 2 devices · 140 cells``."""
    ids = report_groups(report)  # the cell ids, each once
    return " · ".join(
        (
            plural(len(report.targets), "target"),
            plural(len({i.case for i in ids}), "case"),
            plural(len({i.mode for i in ids}), "mode"),
            plural(len({i.device for i in ids}), "device"),
            plural(len(report.cells), "cell"),
        )
    )


def changes_line(report: Report, strong: str = "") -> str:
    """How many regressions and fixes; ``strong`` wraps the regressions (e.g. ``**``)."""
    kinds = dict(change_counts(report))
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


def change_counts(report: Report) -> tuple[tuple[ChangeKind, int], ...]:
    """How many regressions and fixes the facts list, regressions first."""
    counts = Counter(c.kind for c in report.facts.changes)
    return tuple((k, counts[k]) for k in (ChangeKind.REGRESSION, ChangeKind.FIX))


# --- Markdown text -----------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&#!])")
_NEWLINES = re.compile(r"\s*[\r\n]+\s*")


def _one_line(text: str) -> str:
    return _NEWLINES.sub(" ", text).strip()


def _text(text: str) -> str:
    """Data as Markdown text: one line, every significant character backslash-escaped."""
    if _PLAIN.search(text) is None:  # most are versions and ids
        return text.strip()
    return _MD_SPECIAL.sub(r"\\\1", _one_line(text))


_PLAIN = re.compile(r"[\\`*_\[\]<>|~&#!\r\n]")  # what _text changes, besides the ends


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


def _symbol(cell: Cell | None, target: TargetInfo) -> str:
    if cell is not None:
        return STATUS_SYMBOL[cell.status]
    if target.env_error is not None:
        return STATUS_SYMBOL[Status.ENV_ERROR]
    return NO_RESULT_SYMBOL


# --- sections ----------------------------------------------------------------


def _summary(report: Report) -> list[str]:
    lines = [summary_line(report), ""]
    counts = status_counts(report)
    if counts:
        lines += [" · ".join(f"{STATUS_SYMBOL[s]} {n} {s}" for s, n in counts), ""]
    return [*lines, f"{changes_line(report, '**')}", ""]


def _environments(report: Report) -> list[str]:
    lines = ["## Environments", ""]
    if not report.targets:
        return [*lines, "No targets.", ""]
    any_error = any(t.env_error or t.incomplete for t in report.targets)
    rows = []
    for t in report.targets:
        props = dict(t.properties)
        row = [
            _code(t.id),
            _text(t.torch_version),
            _text(t.build),
            _text(props.get(SuiteProp.PYTHON, "")),
            _text(props.get(SuiteProp.HOP_DB, "")),
            _text(aot_strictness(t)),
        ]
        if any_error:
            row.append(_problem(t))
        rows.append(row)
    header = ["target", "torch", "build", "python", "hop_db", "aot strictness"]
    if any_error:
        header.append("problem")
    return [*lines, *_table(header, rows), ""]


def _problem(t: TargetInfo) -> str:
    """Why a target has no or only some results: not installed, or its run cut short."""
    if t.env_error:
        return f"🚫 {_code(t.env_error)}"
    if t.incomplete:
        return f"⏹️ run cut short: {_code(t.incomplete)}"
    return ""


def _legend(_report: Report) -> list[str]:
    items = [f"{STATUS_SYMBOL[s]} {s} ({STATUS_MEANING[s]})" for s in Status]
    items.append(f"{NO_RESULT_SYMBOL} {NO_RESULT_MEANING}")
    return [
        "## Legend",
        "",
        " · ".join(items),
        "",
        '"since *build*": the first version of that build from which the row passes '
        "(pass or xpass) in every newer version; never: not passing in the newest.",
        "",
    ]


def _matrices(report: Report) -> list[str]:
    lines = ["## Matrix", ""]
    blocks = resolve_matrix(report)
    if not blocks:
        return [*lines, "No cells.", ""]
    by_id = {t.id: t for t in report.targets}
    several = len({b.device for b in blocks}) > 1
    index = report_index(report)
    # A full row's cells are its group's, in order: their symbols follow from their
    # results, without a look at each cell.
    symbol_of = [STATUS_SYMBOL[r.status] for r in index.results]
    codes: dict[str, str] = {}  # each case shows in every block
    labels: dict[str | None, str] = {"": ""}  # by the target id a row passes since
    for block in blocks:
        title = f"`{block.mode}` on {block.device}" if several else f"`{block.mode}`"
        header = [
            "case",
            *(_text(t.id) for t in block.targets),
            *(f"since {_text(b)}" for b in block.builds),
        ]
        empty = [_symbol(None, t) for t in block.targets]  # per column, for no result
        rows = []
        for row in block.rows:
            code = codes.get(row.case)
            if code is None:
                code = codes[row.case] = _code(row.case)
            if row.full and row.cell is not None:
                symbols = list(map(symbol_of.__getitem__, index.result_of[id(row.cell)]))
            else:
                statuses = map(getattr, row.cells, repeat("status"), repeat(None))
                symbols = [
                    empty[i] if s is None else STATUS_SYMBOL[s] for i, s in enumerate(statuses)
                ]
            since = []
            for s in row.since:
                key = "" if s is None else s.since
                label = labels.get(key)
                if label is None:
                    label = labels[key] = _text(since_label(s, by_id))
                since.append(label)
            rows.append([code, *symbols, *since])
        align = "l" + "c" * len(block.targets)
        lines += [f"### {title}", "", f"{MODE_MEANING[block.mode]}.", ""]
        lines += [*_table(header, rows, align), ""]
    return lines


def _changes(report: Report) -> list[str]:
    lines = ["## Regressions and fixes", ""]
    order = {ChangeKind.REGRESSION: 0, ChangeKind.FIX: 1}
    changes = sorted(report.facts.changes, key=lambda c: order[c.kind])
    if not changes:
        return [*lines, "None between consecutive versions of a build family.", ""]
    rows = [
        [
            "🔻 regression" if c.kind is ChangeKind.REGRESSION else "🔺 fix",
            _code(str(c.cell)),
            _text(c.build),
            f"{_text(c.before)} → {_text(c.after)}",
            f"{STATUS_SYMBOL[c.before_status]} {c.before_status} → "
            f"{STATUS_SYMBOL[c.after_status]} {c.after_status}",
        ]
        for c in changes
    ]
    return [*lines, *_table(["change", "cell", "build", "versions", "status"], rows), ""]


def _behaviours(report: Report) -> list[str]:
    lines = ["## Known behaviours", ""]
    if not report.behaviours and not report.facts.behaviours:
        return [*lines, "None declared.", ""]
    if report.facts.behaviours:
        header = [
            "behaviour",
            *(_text(t.id) for t in report.targets),
            "first seen",
            "last seen",
            "now",
        ]
        rows = []
        for b in report.facts.behaviours:
            verdicts: dict[str, Verdict] = dict(b.verdicts)
            rows.append(
                [
                    _code(b.behaviour.id),
                    *(_text(verdicts[t.id]) if t.id in verdicts else "" for t in report.targets),
                    _text(b.first_seen or "—"),
                    _text(b.last_seen or "—"),
                    _text(verdict_summary(b.first_seen, b.absent_since, b.still_present)),
                ]
            )
        lines += [*_table(header, rows), ""]
    for beh in report.behaviours:
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
        links = "; ".join(_text(link) for link in beh.links)
        lines.append(
            f"- {_code(beh.id, table=False)} ({where}; {_text(beh.origin)}): "
            f"{_text(beh.sentence)}" + (f" See {links}." if links else "")
        )
    return [*lines, ""]


def _inventory(report: Report) -> list[str]:
    lines = ["## HOP inventory", ""]
    if not report.facts.inventory:
        return [*lines, "No registered HOPs recorded.", ""]
    uncovered = sum(not r.covered for r in report.facts.inventory)
    ran = [t for t in report.targets if t.env_error is None]
    header = ["HOP", "covered", *(_text(t.id) for t in ran)]
    rows = [
        [
            _code(r.hop),
            "yes" if r.covered else "**no**",
            *("✓" if t.id in r.registered_in else "" for t in ran),
        ]
        for r in report.facts.inventory
    ]
    lines.append(
        f"{plural(len(report.facts.inventory), 'HOP')} registered by at least one target; "
        f"{uncovered} not covered by any case. ✓: registered in that target."
    )
    return [*lines, "", *_table(header, rows, "lc" + "c" * len(ran)), ""]


def _signatures(report: Report) -> list[str]:
    lines = ["## Most frequent error signatures", ""]
    rows_all = report.facts.signatures
    if not rows_all:
        return [*lines, "No errors.", ""]
    rows = [[str(r.count), _code(r.signature), _capped(r.cells)] for r in rows_all[:MAX_SIGNATURES]]
    lines += _table(["cells", "signature", "where"], rows)
    if len(rows_all) > MAX_SIGNATURES:
        hidden = plural(len(rows_all) - MAX_SIGNATURES, "less frequent signature")
        lines += ["", f"{hidden} not shown."]
    return [*lines, ""]


def _skipped(report: Report) -> list[str]:
    lines = ["## Inputs skipped", ""]
    if not report.skipped_inputs:
        return [*lines, "None: every input was merged.", ""]
    items = [f"- {_code(s.path, table=False)}: {_text(s.reason)}" for s in report.skipped_inputs]
    return [*lines, *items, ""]


def render_markdown(report: Report) -> str:
    """The whole report as GitHub-flavoured Markdown."""
    lines = ["# torch-hop-compat report", ""]
    for section in (
        _summary,
        _environments,
        _legend,
        _changes,
        _matrices,
        _behaviours,
        _inventory,
        _signatures,
        _skipped,
    ):
        lines += section(report)
    return "\n".join(lines).rstrip("\n") + "\n"


__all__ = [
    "MAX_CELLS_LISTED",
    "MAX_SIGNATURES",
    "MODE_MEANING",
    "NO_RESULT_MEANING",
    "NO_RESULT_SYMBOL",
    "STATUS_MEANING",
    "STATUS_SYMBOL",
    "MatrixBlock",
    "MatrixRow",
    "aot_strictness",
    "change_counts",
    "changes_line",
    "plural",
    "render_markdown",
    "resolve_matrix",
    "since_label",
    "status_counts",
    "summary_line",
    "target_devices",
    "verdict_summary",
]
