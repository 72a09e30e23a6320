"""Report -> one self-contained HTML page (inline CSS and JS, nothing fetched).

Every piece of text reaches the markup through Jinja's autoescape or
``markupsafe``; the matrix and the cells' details travel once, as
compact JSON inside a ``<script type="application/json">`` block through
Jinja's ``tojson`` (``<``, ``>``, ``&`` and ``'`` escaped, so no message can
close the element). The page's script draws the overview grid and the matrix
per mode from that data (a page of rows per block at a time) and builds
everything with ``textContent`` and attributes, never HTML strings. The two
pictures are inline SVG made here (``compat.render_svg``), and the change
timelines are markup made here (``compat.timeline``).

The data, as the script reads it (keys: the cells in matrix order, block by
block, row by row, column by column, skipping columns without a result):

- ``statuses``: ``[value, symbol, label, has result]`` per status code; the
  codes of a row are one character each, ``"a"`` + code;
- ``targets``: ``[id, build family, torch version, env error's first line,
  version as a timeline names it, build]``;
- ``blocks``: ``{mode, device, columns: [target index], builds: [build],
  rows: [[case, hop, first key, codes, [since label per build]]]}``;
- ``results``: distinct results, ``[status, error type, signature, message,
  [behaviour ids], [[key, value]] properties, tooltip detail, expected reason,
  behaviour marks, [[label, value]] notes, repro]`` (notes: ``compat.layout.cell_notes``;
  the properties leave out the case facts, ``CASE_FACTS``, which the repro script shows;
  repro: null, or ``[link, script, issue, why no script]`` for a cell whose status gets a
  repro: its script's path relative to the page (``repro/<file>``, percent-encoded) and index in
  ``scripts``, its cell id's index in ``issues``, each null where there is none, and the
  reason ``compat.repro.Repros.absent`` gives, or null);
- ``scripts`` and ``issues``: each distinct repro script text and issue text, once (a
  script is shared by the targets that have the same text, an issue text by a cell id's
  targets); an issue is ``[text]``, or ``[before, script index, after]`` around the
  script it quotes, which travels once, in ``scripts``;
- ``result`` and ``time``: per key, its result's index and its time;
- ``behaviours``: ``{id: {sentence, hop, mode}}``;
- ``overview``: ``{modes, devices, rows: [[case, hop, source, variant, codes]],
  hops: [[hop, [state per target], grades]]}``: rows sorted by HOP, a row's
  codes per target, then device, then mode (the status codes above, upper
  case where upstream or ExportDB declares the failure); a HOP's state per target is
  ``k/n`` modes passing and its grade one letter of all, some, none, idle.
"""

from __future__ import annotations

import functools
import math
import urllib.parse
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import jinja2
from markupsafe import Markup

from compat.claims import claim_spans
from compat.facts import expected_reason
from compat.layout import (
    CHANGE_GLYPH,
    CHANGE_HEADING,
    CLAIMS_HEADING,
    CLAIMS_MEANING,
    EXPECTED,
    GAP_STYLE,
    MISSING_STYLE,
    MODE_MEANING,
    NO_RESULT,
    STATUS_STYLE,
    MatrixBlock,
    aot_strictness,
    behaviour_marks,
    cell_notes,
    change_counts,
    changes_line,
    claim_head,
    claim_words,
    claims_count,
    compile_text,
    cut,
    expected_count,
    has_exportdb,
    resolve_compile_times,
    resolve_matrix,
    resolve_specialised,
    since_label,
    specialised_dims,
    specialised_text,
    status_counts,
    strictness_flips,
    summary_line,
    timeline_count,
    timeline_groups,
    verdict_summary,
)
from compat.model import (
    BehaviourRow,
    Cell,
    ChangeKind,
    ClaimRow,
    Facts,
    Gap,
    GapRow,
    Report,
    Row,
    TargetInfo,
    Verdict,
)
from compat.overview import resolve_hop_overview, resolve_pass_rates
from compat.provenance import resolve_provenance
from compat.render_svg import render_hop_since_svg, render_pass_rate_svg
from compat.repro import REPRO_DIR, Repros
from compat.timeline import (
    Timeline,
    members_text,
    report_axes,
    resolve_timelines,
    span_versions,
    version_names,
)
from suites.behaviours import Behaviour
from suites.schema import CASE_FACTS, REPRO_STATUSES, CellId, Device, Mode, Prop, Status, SuiteProp

NO_RESULT_VALUE = "none"
_VERDICT_CLASS: Mapping[Verdict, str] = {
    Verdict.REPRODUCED: "v-reproduced",
    Verdict.ABSENT: "v-absent",
    Verdict.OTHER: "v-other",
    Verdict.NOT_MEASURED: "v-na",
    Verdict.NOT_APPLICABLE: "v-na",
}
TEMPLATE = "report.html.j2"
NO_REPROS = Repros()  # a report rendered without its repro folder
# Cells linked per behaviour or signature: a big matrix's most frequent signature hits
# thousands, more than anyone follows one by one.
MAX_REFS = 50

# Status codes of the matrix data: every status (has a result), then the two ways a
# column can lack one: no result, or a target that could not be installed.
# The gaps with a glyph of their own follow; they filter as "no result". Last, the
# missing cells with a look of their own (release too old): results, filtered as missing.
_CODES: tuple[tuple[str, str, str, bool], ...] = (
    *((str(s), STATUS_STYLE[s].glyph, str(s), True) for s in Status),
    (NO_RESULT_VALUE, NO_RESULT.glyph, "no result", False),
    (str(Status.ENV_ERROR), STATUS_STYLE[Status.ENV_ERROR].glyph, str(Status.ENV_ERROR), False),
    *((NO_RESULT_VALUE, style.glyph, str(gap), False) for gap, style in GAP_STYLE.items()),
    *((str(Status.MISSING), style.glyph, str(gap), True) for gap, style in MISSING_STYLE.items()),
)
_CODE_OF: Mapping[Status, str] = {s: chr(97 + i) for i, s in enumerate(Status)}
_NO_RESULT_CODE = chr(97 + len(Status))
_ENV_ERROR_CODE = chr(97 + len(Status) + 1)
_GAP_CODE: Mapping[Gap, str] = {g: chr(97 + len(Status) + 2 + i) for i, g in enumerate(GAP_STYLE)}
_MISSING_CODE: Mapping[Gap, str] = {
    g: chr(97 + len(Status) + 2 + len(GAP_STYLE) + i) for i, g in enumerate(MISSING_STYLE)
}


def _cell_code(cell: Cell, facts: Facts) -> str:
    """A cell's status code, or its gap's where a missing cell has a look of its own."""
    if cell.status is Status.MISSING:
        gap = facts.gap_of.get((cell.target, cell.id))
        if gap is not None and gap.gap in _MISSING_CODE:
            return _MISSING_CODE[gap.gap]
    return _CODE_OF[cell.status]


@dataclass(frozen=True)
class EnvView:
    id: str
    torch: str
    build: str
    python: str
    hop_db: str
    aot: str
    cuda: str
    devices: str
    platform: str
    source_file: str
    env_error: str | None
    incomplete: str | None
    made_by: str  # "suite 0.1.0", "pytest JUnit (...)"
    run_date: str
    host: str


@dataclass(frozen=True)
class BehaviourView:
    id: str
    hop: str
    mode: str
    exception: str
    message: str
    sentence: str
    origin: str
    links: tuple[str, ...]  # only http(s) ones become anchors (the template decides)
    verdicts: tuple[tuple[str, str], ...]  # per report target: (verdict, css class)
    first_seen: str
    last_seen: str
    summary: str
    cells: Markup  # <li> links to the cells that reproduce it
    has_row: bool


@dataclass(frozen=True)
class InventoryView:
    hop: str
    covered: bool
    registered: tuple[bool, ...]  # per target that ran


@dataclass(frozen=True)
class SignatureView:
    signature: str
    count: int
    cells: Markup  # <li> links to the cells it hits


@dataclass(frozen=True)
class TimelineGroup:
    kind: str  # "regression", ...: a CSS class
    glyph: str
    heading: str
    count: str
    items: Markup  # <li> per timeline


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    symbol: str = ""


@dataclass(frozen=True)
class PageView:
    summary: str
    counts: tuple[tuple[Option, int], ...]
    regressions: int
    headline: str  # how many changes of each kind
    flips: tuple[str, ...]  # where aot's default strictness flips
    envs: tuple[EnvView, ...]
    legend: tuple[Option, ...]
    hops: tuple[str, ...]
    modes: tuple[Option, ...]
    devices: tuple[str, ...]
    builds: tuple[str, ...]
    statuses: tuple[Option, ...]
    blocks: tuple[MatrixBlock, ...]
    block_notes: tuple[tuple[tuple[str, tuple[str, ...]], ...], ...]  # per block: (title, lines)
    modes_key: str  # the order of an overview cell's segments
    pictures: tuple[Markup, Markup]  # pass rate per mode; since when every mode passes
    timelines: tuple[TimelineGroup, ...]
    claims: Markup | None  # <li> per exportdb case; None: the report has no exportdb rows
    claims_count: str
    claims_title: tuple[str, str]  # heading, what the section shows
    gaps: tuple[tuple[str, str, int, str, str], ...]  # target, gap, cells, first cells, reason
    targets: tuple[TargetInfo, ...]
    ran: tuple[TargetInfo, ...]
    behaviours: tuple[BehaviourView, ...]
    inventory: tuple[InventoryView, ...]
    signatures: tuple[SignatureView, ...]
    skipped: tuple[tuple[str, str], ...]
    data: Mapping[str, object]  # goes to the page's script as JSON (see the module doc)


@dataclass
class _MatrixData:
    """The matrix as the page's script reads it, and where each cell's key is."""

    blocks: list[dict[str, object]] = field(default_factory=list)
    results: list[list[object]] = field(default_factory=list)
    result_of: list[int] = field(default_factory=list)  # per key
    times: list[float | None] = field(default_factory=list)  # per key
    keys: dict[tuple[str, str], int] = field(default_factory=dict)  # (target, cell id) -> key
    shown: set[str] = field(default_factory=set)  # the codes that appear


def _detail(cell: Cell, expected: str | None) -> str:
    """A cell's tooltip: why it was expected to fail, its behaviours or error signature (or
    why it did not run), and the dims a dynamic cell's export specialised."""
    reason = dict(cell.properties).get(Prop.REASON)
    parts = [
        f"expected: {expected}" if expected else "",
        ", ".join(cell.behaviours) or cell.signature or reason or "",
        ", ".join(specialised_dims(cell)),
    ]
    return " · ".join(p for p in parts if p)


class _ReproData:
    """The repros as the page's script reads them: each distinct text once, in the order
    the cells first use it, and per cell where its script and issue text are."""

    def __init__(self, repros: Repros) -> None:
        self.repros = repros
        self.scripts: list[str] = []
        self.issues: list[list[object]] = []  # [text] or [before, script index, after]
        self._script_index: dict[str, int] = {}
        self._issue_index: dict[str, int] = {}

    @staticmethod
    def _index(text: str, texts: list[str], index: dict[str, int]) -> int:
        if text not in index:
            index[text] = len(texts)
            texts.append(text)
        return index[text]

    def of(self, cell: Cell) -> tuple[str | None, int | None, int | None, str | None] | None:
        """``(link, script, issue, why no script)`` of a cell (see the module doc), or None."""
        cid = str(cell.id)
        script = self.repros.script_for(cell.target, cell.id)
        if script is None and cell.status not in REPRO_STATUSES:
            return None
        issue = self.repros.issues.get(cid)
        absent = None if script is not None else self.repros.absent.get((cell.target, cid))
        if script is None and issue is None and absent is None:
            return None
        return (
            None if script is None else f"{REPRO_DIR}/{urllib.parse.quote(script.file, safe='@+')}",
            None if script is None else self._index(script.text, self.scripts, self._script_index),
            None if issue is None else self._issue(cell.id, issue),
            absent,
        )

    def _issue(self, cell: CellId, issue: str) -> int:
        """The index of an issue text, stored as the text around the script it quotes (the
        script itself is in ``scripts`` once) where it quotes one."""
        if issue not in self._issue_index:
            quoted = self.repros.quoted(cell)
            text = quoted.text if quoted is not None else ""
            before, found, after = issue.partition(text) if text else (issue, "", "")
            if found:
                index = self._index(text, self.scripts, self._script_index)
                parts: list[object] = [before, index, after]
            else:
                parts = [issue]
            self._issue_index[issue] = len(self.issues)
            self.issues.append(parts)
        return self._issue_index[issue]


def _result_data(
    cell: Cell, marks: Mapping[str, str], repro: Sequence[object] | None
) -> list[object]:
    expected = expected_reason(cell)
    detail = _detail(cell, expected)
    return [
        ord(_CODE_OF[cell.status]) - 97,
        cell.error_type,
        cell.signature,
        None if cell.message is None else cut(cell.message),
        list(cell.behaviours),
        [[key, cut(value)] for key, value in cell.properties if key not in CASE_FACTS],
        detail,
        expected,
        "".join(marks.get(b, "") for b in cell.behaviours),
        [[label, cut(value)] for label, value in cell_notes(cell)],
        None if repro is None else list(repro),
    ]


def _matrix_data(
    report: Report, facts: Facts, blocks: Sequence[MatrixBlock], repros: _ReproData
) -> _MatrixData:
    """Blocks of rows of status codes; each cell's result (distinct ones listed once) and time."""
    data = _MatrixData()
    marks = behaviour_marks(report)
    distinct: dict[tuple[object, ...], int] = {}
    column_of = {t.id: i for i, t in enumerate(report.targets)}
    by_id = {t.id: t for t in report.targets}
    for block in blocks:
        empty = [_ENV_ERROR_CODE if t.env_error else _NO_RESULT_CODE for t in block.targets]
        rows: list[list[object]] = []
        for row in block.rows:
            first = len(data.result_of)
            codes = []
            for cell, blank, t in zip(row.cells, empty, block.targets, strict=True):
                if cell is None:
                    gap = facts.gap_of.get((t.id, row.cell))
                    codes.append(_GAP_CODE.get(gap.gap, blank) if gap is not None else blank)
                    continue
                codes.append(_cell_code(cell, facts))
                repro = repros.of(cell)
                value = (
                    cell.status,
                    cell.behaviours,
                    cell.error_type,
                    cell.message,
                    cell.signature,
                    cell.properties,
                    repro,
                )
                if value not in distinct:
                    distinct[value] = len(data.results)
                    data.results.append(_result_data(cell, marks, repro))
                data.keys[cell.target, str(cell.id)] = len(data.result_of)
                data.result_of.append(distinct[value])
                data.times.append(cell.time if math.isfinite(cell.time) else None)
            data.shown.update(codes)
            since = [since_label(s, by_id) for s in row.since]
            rows.append([row.cell.case, row.cell.hop, first, "".join(codes), since])
        data.blocks.append(
            {
                "mode": str(block.mode),
                "device": str(block.device),
                "columns": [column_of[t.id] for t in block.targets],
                "builds": list(block.builds),
                "rows": rows,
            }
        )
    return data


def _ref_items(labels: Sequence[str], keys: Mapping[tuple[str, str], int]) -> Markup:
    """``<li>`` links for "target/cell id" strings (target ids hold no slash), escaped;
    the first ``MAX_REFS`` of them, and a line that says how many more there are."""
    items = []
    for label in labels[:MAX_REFS]:
        target, _, cell = label.partition("/")
        key = keys.get((target, cell))
        code = Markup("<code>{}</code>").format(label)
        if key is None:
            items.append(Markup("<li>{}</li>\n").format(code))
        else:
            items.append(
                Markup('<li><a href="#c{0}" data-key="{0}">{1}</a></li>\n').format(key, code)
            )
    if len(labels) > MAX_REFS:
        more = len(labels) - MAX_REFS
        items.append(
            Markup(
                '<li class="muted">and {} more: filter the matrix by status, '
                "or see report.json</li>\n"
            ).format(more)
        )
    return Markup("").join(items)


def _timeline_item(
    timeline: Timeline,
    names: Mapping[str, str],
    axes: tuple[Sequence[Mode], Sequence[Device]],
) -> Markup:
    """One ``<li>``: the case (a link to its overview row), family, modes, and each state
    with its versions linked to the overview cell of its first version."""
    spans = []
    for i, span in enumerate(timeline.spans):
        mark = Markup("")
        if span.change is not None:
            mark = Markup('<b class="chg chg-{}" title="{}">{}</b> ').format(
                span.change.name.lower(), span.change, CHANGE_GLYPH[span.change]
            )
        known = span.state in Status._value2member_map_
        css = STATUS_STYLE[Status(span.state)].css if known else NO_RESULT.css
        versions = span_versions(span, i, len(timeline.spans), names)
        spans.append(
            Markup('<span class="sp {}">{}{}{} <a href="#at:{}/{}">{}</a></span>').format(
                css,
                mark,
                span.state,
                Markup(' <span class="exp" title="expected">◇</span>') if span.expected else "",
                span.targets[0],
                timeline.case,
                versions,
            )
        )
    notes = Markup(' <span class="muted">({})</span>').format("; ".join(timeline.notes))
    return Markup(
        '<li><a class="case" href="#case:{0}"><code>{0}</code></a> · {1} · {2}: {3}{4}</li>\n'
    ).format(
        timeline.case,
        timeline.family,
        members_text(timeline.members, *axes),
        Markup(" → ").join(spans),
        notes if timeline.notes else "",
    )


def _timeline_groups(report: Report, facts: Facts) -> tuple[TimelineGroup, ...]:
    names, axes = version_names(report.targets), report_axes(report)
    totals = change_counts(facts)
    return tuple(
        TimelineGroup(
            kind=kind.name.lower(),
            glyph=CHANGE_GLYPH[kind],
            heading=CHANGE_HEADING[kind],
            count=timeline_count(kind, found, totals[kind]),
            items=Markup("").join(_timeline_item(t, names, axes) for t in found),
        )
        for kind, found in timeline_groups(resolve_timelines(report, facts))
    )


def _claim_item(row: ClaimRow, axes: tuple[Sequence[Mode], Sequence[Device]]) -> Markup:
    """One ``<li>``: the case (a link to its overview row), what it declares, and per group
    of targets (each a link to its overview cell) what the measurement says."""
    spans = claim_spans(row)
    groups = [
        Markup("{}: {}").format(
            Markup(", ").join(
                Markup('<a href="#at:{0}/{1}">{0}</a>').format(t, row.case) for t in span.targets
            ),
            claim_words(span, spans, axes),
        )
        for span in spans
    ]
    return Markup(
        '<li><a class="case" href="#case:{0}"><code>{0}</code></a> · {1} · {2}</li>\n'
    ).format(row.case, claim_head(spans), Markup(" · ").join(groups))


def _claims(report: Report, facts: Facts) -> Markup | None:
    if not has_exportdb(report):
        return None
    axes = report_axes(report)
    return Markup("").join(_claim_item(row, axes) for row in facts.claims)


def _block_notes(block: MatrixBlock) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Under a dynamic block, the dims export specialised; under aoti, the compile times."""
    notes = []
    specialised = resolve_specialised(block)
    if specialised:
        lines = tuple(f"{item.case}: {specialised_text(item)}" for item in specialised)
        notes.append(("Dimensions marked dynamic that export specialised", lines))
    times = resolve_compile_times(block)
    if times:
        lines = tuple(compile_text(t) for t in times)
        notes.append(("Compile time of torch._inductor.aoti_compile_and_package", lines))
    return tuple(notes)


def _overview_data(report: Report, facts: Facts) -> dict[str, object]:
    """The overview grid as the page's script reads it (see the module doc)."""
    modes, devices = report_axes(report)
    by_case: dict[tuple[str, str, str], dict[tuple[Mode, Device], Row]] = defaultdict(dict)
    for row in report.rows:
        by_case[row.id.hop, row.id.source, row.id.variant][row.id.mode, row.id.device] = row
    rows = []
    for (hop, source, variant), found in sorted(by_case.items()):
        lines = [(found.get((m, d)), m, d) for d in devices for m in modes]
        cells = [{c.target: c for c in row.cells} if row else {} for row, _, _ in lines]
        codes = [
            _segment_code(on.get(t.id), t, row, facts)
            for t in report.targets
            for (row, _, _), on in zip(lines, cells, strict=True)
        ]
        rows.append([f"{source}:{hop}.{variant}", hop, str(source), variant, "".join(codes)])
    hops = [
        [h.hop, [p.state for p in h.points], "".join(p.grade[0] for p in h.points)]
        for h in resolve_hop_overview(report)
    ]
    return {
        "modes": [str(m) for m in modes],
        "devices": [str(d) for d in devices],
        "rows": rows,
        "hops": hops,
    }


def _segment_code(cell: Cell | None, target: TargetInfo, row: Row | None, facts: Facts) -> str:
    """A status code (upper case: a declared failure), or why there is no result
    (``row``: the report's row of that mode and device, None where no target has one)."""
    if cell is not None:
        code = _cell_code(cell, facts)
        return code.upper() if expected_reason(cell) else code
    if target.env_error is not None:
        return _ENV_ERROR_CODE
    gap = facts.gap_of.get((target.id, row.id)) if row is not None else None
    return _GAP_CODE.get(gap.gap, _NO_RESULT_CODE) if gap is not None else _NO_RESULT_CODE


def _env(t: TargetInfo) -> EnvView:
    props = dict(t.properties)
    origin = resolve_provenance(t)
    return EnvView(
        id=t.id,
        torch=origin.torch,
        build=t.build,
        python=props.get(SuiteProp.PYTHON, ""),
        hop_db=props.get(SuiteProp.HOP_DB, ""),
        aot=aot_strictness(t),
        cuda=props.get(SuiteProp.CUDA_VERSION, "") or props.get(SuiteProp.HIP_VERSION, ""),
        devices=props.get(SuiteProp.DEVICES, ""),
        platform=props.get(SuiteProp.PLATFORM, ""),
        source_file=t.source_file,
        env_error=None if t.env_error is None else cut(t.env_error),
        incomplete=t.incomplete,
        made_by=origin.made_by,
        run_date=origin.run_date,
        host=origin.host,
    )


def _option(status: Status) -> Option:
    return Option(str(status), str(status), STATUS_STYLE[status].glyph)


def _first_line(text: str | None) -> str:
    return text.splitlines()[0] if text else ""


def _behaviour_view(
    beh: Behaviour,
    row: BehaviourRow | None,
    targets: Sequence[TargetInfo],
    keys: Mapping[tuple[str, str], int],
) -> BehaviourView:
    verdicts: dict[str, Verdict] = dict(row.verdicts) if row is not None else {}
    return BehaviourView(
        id=beh.id,
        hop=beh.hop,
        mode=beh.mode,
        exception=beh.exception or "",
        message=beh.message or "",
        sentence=beh.sentence,
        origin=beh.origin,
        links=beh.links,
        verdicts=tuple(
            (str(v), _VERDICT_CLASS[v]) if (v := verdicts.get(t.id)) else ("", "v-none")
            for t in targets
        ),
        first_seen=(row.first_seen or "—") if row else "",
        last_seen=(row.last_seen or "—") if row else "",
        summary=(verdict_summary(row) if row else ""),
        cells=_ref_items(row.cells, keys) if row else Markup(""),
        has_row=row is not None,
    )


def _all_behaviours(report: Report, facts: Facts) -> list[Behaviour]:
    """The report's table, then behaviours that only its facts name."""
    declared = {b.id for b in report.behaviours}
    extra = [r.behaviour for r in facts.behaviours if r.behaviour.id not in declared]
    return [*report.behaviours, *extra]


def _status_options(report: Report, shown: set[str]) -> tuple[Option, ...]:
    """The status filter: statuses that occur, and the two kinds of empty column."""
    present = {s for s, _ in status_counts(report)}
    options = [_option(s) for s in Status if s in present]
    if _ENV_ERROR_CODE in shown and Status.ENV_ERROR not in present:
        options.append(_option(Status.ENV_ERROR))
    if shown & {_NO_RESULT_CODE, *_GAP_CODE.values()}:  # the gaps filter as "no result" too
        options.append(Option(NO_RESULT_VALUE, "no result", NO_RESULT.glyph))
    return tuple(options)


def _counts(report: Report) -> tuple[tuple[Option, int], ...]:
    """Cells per status, then the expected failures counted apart."""
    counts = [(_option(s), n) for s, n in status_counts(report)]
    expected = expected_count(report)
    if expected:
        counts.append((Option("expected", "expected", EXPECTED.glyph), expected))
    return tuple(counts)


def _modes_key(report: Report) -> str:
    """``aot · strict · … on cpu (top), cuda``: how to read an overview cell's segments."""
    modes, devices = report_axes(report)
    order = " · ".join(modes)
    if len(devices) > 1:
        return f"{order}, left to right; one line per device: {', '.join(devices)}, top down"
    return f"{order}, left to right"


def _gap_row(g: GapRow) -> tuple[str, str, int, str, str]:
    which = ", ".join(str(c) for c in g.cells[:3]) + (" …" if len(g.cells) > 3 else "")
    return (g.target, str(g.gap), len(g.cells), which, cut(g.reason, 300))


# The legend: every status, the looks of missing cells and of gaps, no result, expected.
LEGEND: tuple[Option, ...] = (
    *(Option(str(s), STATUS_STYLE[s].meaning, STATUS_STYLE[s].glyph) for s in Status),
    *(Option(str(Status.MISSING), m.meaning, m.glyph) for m in MISSING_STYLE.values()),
    *(Option(NO_RESULT_VALUE, style.meaning, style.glyph) for style in GAP_STYLE.values()),
    Option(NO_RESULT_VALUE, NO_RESULT.meaning, NO_RESULT.glyph),
    Option("expected", EXPECTED.meaning, EXPECTED.glyph),
)


def _targets_data(targets: Sequence[TargetInfo], names: Mapping[str, str]) -> list[list[str]]:
    """Per target, what the page's script reads (see the module doc)."""
    return [
        [t.id, t.family, t.torch_version, cut(_first_line(t.env_error)), names[t.id], t.build]
        for t in targets
    ]


def resolve_page(report: Report, facts: Facts, repros: Repros = NO_REPROS) -> PageView:
    """Everything the template shows, computed once, in display order."""
    matrix = resolve_matrix(report, facts)
    repro_data = _ReproData(repros)
    data = _matrix_data(report, facts, matrix, repro_data)
    rows_by_id = {r.behaviour.id: r for r in facts.behaviours}
    behaviours = _all_behaviours(report, facts)
    ran = tuple(t for t in report.targets if t.env_error is None)
    kinds = change_counts(facts)
    names = version_names(report.targets)
    return PageView(
        summary=summary_line(report),
        counts=_counts(report),
        regressions=kinds[ChangeKind.REGRESSION],
        headline=changes_line(facts),
        flips=strictness_flips(report),
        envs=tuple(_env(t) for t in report.targets),
        legend=LEGEND,
        hops=tuple(sorted({row.id.hop for row in report.rows})),
        modes=tuple(dict.fromkeys(Option(str(b.mode), MODE_MEANING[b.mode]) for b in matrix)),
        devices=tuple(dict.fromkeys(str(b.device) for b in matrix)),
        builds=tuple(dict.fromkeys(t.family for t in report.targets)),
        statuses=_status_options(report, data.shown),
        blocks=matrix,
        block_notes=tuple(_block_notes(b) for b in matrix),
        modes_key=_modes_key(report),
        pictures=(
            render_pass_rate_svg(resolve_pass_rates(report), report.targets, names),
            render_hop_since_svg(resolve_hop_overview(report), report.targets, names),
        ),
        timelines=_timeline_groups(report, facts),
        claims=_claims(report, facts),
        claims_count=claims_count(facts),
        claims_title=(CLAIMS_HEADING, CLAIMS_MEANING),
        gaps=tuple(_gap_row(g) for g in facts.gaps),
        targets=report.targets,
        ran=ran,
        behaviours=tuple(
            _behaviour_view(b, rows_by_id.get(b.id), report.targets, data.keys) for b in behaviours
        ),
        inventory=tuple(
            InventoryView(r.hop, r.covered, tuple(t.id in r.registered_in for t in ran))
            for r in facts.inventory
        ),
        signatures=tuple(
            SignatureView(r.signature, r.count, _ref_items(r.cells, data.keys))
            for r in facts.signatures
        ),
        skipped=tuple((s.path, s.reason) for s in report.skipped_inputs),
        data={
            "statuses": [list(code) for code in _CODES],
            "targets": _targets_data(report.targets, names),
            "overview": _overview_data(report, facts),
            "blocks": data.blocks,
            "results": data.results,
            "result": data.result_of,
            "time": data.times,
            "scripts": repro_data.scripts,
            "issues": repro_data.issues,
            "behaviours": {
                b.id: {"sentence": b.sentence, "hop": b.hop, "mode": b.mode} for b in behaviours
            },
        },
    )


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("compat", "templates"),
        autoescape=True,  # the template is .html.j2: select_autoescape would miss it
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    # Sorted keys (the same report gives the same bytes) and no spaces.
    env.policies["json.dumps_kwargs"] = {
        "sort_keys": True,
        "separators": (",", ":"),
        "ensure_ascii": False,
    }
    return env


def render_html(report: Report, facts: Facts, repros: Repros = NO_REPROS) -> str:
    """The whole report as one HTML page, with each failed cell's repro script and issue
    text in its details; the same report and repros give the same bytes."""
    page = resolve_page(report, facts, repros)
    return _environment().get_template(TEMPLATE).render(page=page)
