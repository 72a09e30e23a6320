"""Report -> one self-contained HTML page (inline CSS and JS, nothing fetched).

Every piece of text reaches the markup through Jinja's autoescape or
``markupsafe.escape``; the matrix and the cells' details travel once, as
compact JSON inside a ``<script type="application/json">`` block through
Jinja's ``tojson`` (``<``, ``>``, ``&`` and ``'`` escaped, so no message can
close the element). The page's script draws the matrix from that data (a
page of rows per block at a time) and builds everything with
``textContent`` and attributes, never HTML strings.

The data, as the script reads it (keys: the cells in matrix order, block by
block, row by row, column by column, skipping columns without a result):

- ``statuses``: ``[value, symbol, label, has result]`` per status code; the
  codes of a row are one character each, ``"a"`` + code;
- ``targets``: ``[id, build, torch version, env error's first line]``;
- ``blocks``: ``{mode, device, columns: [target index], builds: [build],
  rows: [[case, hop, first key, codes, [since label per build]]]}``;
- ``results``: distinct results, ``[status, error type, signature, message,
  [behaviour ids], [[key, value]] properties, tooltip detail]``;
- ``result`` and ``time``: per key, its result's index and its time;
- ``behaviours``: ``{id: {sentence, hop, mode}}``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import jinja2
from markupsafe import Markup, escape

from compat.facts import expected_reason
from compat.layout import (
    CHANGE_LABEL,
    EXPECTED,
    GAP_STYLE,
    MODE_MEANING,
    NO_RESULT,
    STATUS_STYLE,
    MatrixBlock,
    aot_strictness,
    behaviour_marks,
    change_counts,
    changes_line,
    cut,
    expected_count,
    ordered_changes,
    resolve_matrix,
    since_label,
    status_counts,
    strictness_flips,
    summary_line,
    verdict_summary,
)
from compat.model import (
    BehaviourRow,
    Cell,
    ChangeKind,
    Facts,
    Gap,
    GapRow,
    Report,
    TargetInfo,
    Verdict,
)
from compat.provenance import resolve_provenance
from suites.behaviours import Behaviour
from suites.schema import Prop, Status, SuiteProp

NO_RESULT_VALUE = "none"
_VERDICT_CLASS: Mapping[Verdict, str] = {
    Verdict.REPRODUCED: "v-reproduced",
    Verdict.ABSENT: "v-absent",
    Verdict.OTHER: "v-other",
    Verdict.NOT_MEASURED: "v-na",
    Verdict.NOT_APPLICABLE: "v-na",
}
TEMPLATE = "report.html.j2"
# Cells linked per behaviour or signature: a big matrix's most frequent signature hits
# thousands, more than anyone follows one by one.
MAX_REFS = 50

# Status codes of the matrix data: every status (has a result), then the two ways a
# column can lack one: no result, or a target that could not be installed.
# The gaps with a glyph of their own follow; they filter as "no result".
_CODES: tuple[tuple[str, str, str, bool], ...] = (
    *((str(s), STATUS_STYLE[s].glyph, str(s), True) for s in Status),
    (NO_RESULT_VALUE, NO_RESULT.glyph, "no result", False),
    (str(Status.ENV_ERROR), STATUS_STYLE[Status.ENV_ERROR].glyph, str(Status.ENV_ERROR), False),
    *((NO_RESULT_VALUE, style.glyph, str(gap), False) for gap, style in GAP_STYLE.items()),
)
_CODE_OF: Mapping[Status, str] = {s: chr(97 + i) for i, s in enumerate(Status)}
_NO_RESULT_CODE = chr(97 + len(Status))
_ENV_ERROR_CODE = chr(97 + len(Status) + 1)
_GAP_CODE: Mapping[Gap, str] = {g: chr(97 + len(Status) + 2 + i) for i, g in enumerate(GAP_STYLE)}


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
    changes: Markup  # the rows of the changes table
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


def _result_data(cell: Cell, marks: Mapping[str, str]) -> list[object]:
    reason = dict(cell.properties).get(Prop.REASON)
    expected = expected_reason(cell)
    detail = ", ".join(cell.behaviours) or cell.signature or reason or ""
    if expected:
        detail = f"expected: {expected}" + (f" · {detail}" if detail else "")
    return [
        ord(_CODE_OF[cell.status]) - 97,
        cell.error_type,
        cell.signature,
        None if cell.message is None else cut(cell.message),
        list(cell.behaviours),
        [[key, cut(value)] for key, value in cell.properties],
        detail,
        expected,
        "".join(marks.get(b, "") for b in cell.behaviours),
    ]


def _matrix_data(report: Report, facts: Facts, blocks: Sequence[MatrixBlock]) -> _MatrixData:
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
                codes.append(_CODE_OF[cell.status])
                value = (
                    cell.status,
                    cell.behaviours,
                    cell.error_type,
                    cell.message,
                    cell.signature,
                    cell.properties,
                )
                if value not in distinct:
                    distinct[value] = len(data.results)
                    data.results.append(_result_data(cell, marks))
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


def _change_rows(report: Report, facts: Facts, keys: Mapping[tuple[str, str], int]) -> Markup:
    """The rows of the changes table, regressions first, each value escaped."""
    kinds: dict[ChangeKind, Markup] = {
        ChangeKind.REGRESSION: Markup('<td class="st-fail">▼ regression</td>'),
        ChangeKind.FIX: Markup('<td class="st-pass">▲ fix</td>'),
        **{
            kind: Markup('<td title="{}">{} {}</td>').format(CHANGE_LABEL[kind][1], mark, kind)
            for kind, (mark, _) in CHANGE_LABEL.items()
            if kind not in (ChangeKind.REGRESSION, ChangeKind.FIX)
        },
    }
    rows = []
    for c in ordered_changes(facts):
        cell = str(c.cell)
        sides = []
        for target, status in ((c.before, c.before_status), (c.after, c.after_status)):
            key = keys.get((target, cell))
            link = (
                escape(target)
                if key is None
                else Markup('<a href="#c{0}" data-key="{0}">{1}</a>').format(key, target)
            )
            style = NO_RESULT if status is None else STATUS_STYLE[status]
            shown = Markup('<span class="{}"><span aria-hidden="true">{}</span> {}</span>').format(
                style.css, style.glyph, status or "no result"
            )
            sides.append(Markup("<td>{}: {}</td>").format(link, shown))
        rows.append(
            Markup(
                "<tr>\n{}\n<td><code>{}</code></td><td>{}</td>\n{}\n{}\n<td>{}</td>\n</tr>"
            ).format(kinds[c.kind], cell, c.build, sides[0], sides[1], c.note)
        )
    return Markup("\n").join(rows)


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
    if _NO_RESULT_CODE in shown:
        options.append(Option(NO_RESULT_VALUE, "no result", NO_RESULT.glyph))
    return tuple(options)


def _counts(report: Report) -> tuple[tuple[Option, int], ...]:
    """Cells per status, then the expected failures counted apart."""
    counts = [(_option(s), n) for s, n in status_counts(report)]
    expected = expected_count(report)
    if expected:
        counts.append((Option("expected", "expected", EXPECTED.glyph), expected))
    return tuple(counts)


def _gap_row(g: GapRow) -> tuple[str, str, int, str, str]:
    which = ", ".join(str(c) for c in g.cells[:3]) + (" …" if len(g.cells) > 3 else "")
    return (g.target, str(g.gap), len(g.cells), which, cut(g.reason, 300))


def resolve_page(report: Report, facts: Facts) -> PageView:
    """Everything the template shows, computed once, in display order."""
    matrix = resolve_matrix(report, facts)
    data = _matrix_data(report, facts, matrix)
    rows_by_id = {r.behaviour.id: r for r in facts.behaviours}
    behaviours = _all_behaviours(report, facts)
    ran = tuple(t for t in report.targets if t.env_error is None)
    kinds = change_counts(facts)
    return PageView(
        summary=summary_line(report),
        counts=_counts(report),
        regressions=kinds[ChangeKind.REGRESSION],
        headline=changes_line(facts),
        flips=strictness_flips(report),
        envs=tuple(_env(t) for t in report.targets),
        legend=(
            *(Option(str(s), STATUS_STYLE[s].meaning, STATUS_STYLE[s].glyph) for s in Status),
            *(Option(NO_RESULT_VALUE, style.meaning, style.glyph) for style in GAP_STYLE.values()),
            Option(NO_RESULT_VALUE, NO_RESULT.meaning, NO_RESULT.glyph),
            Option("expected", EXPECTED.meaning, EXPECTED.glyph),
        ),
        hops=tuple(sorted({row.id.hop for row in report.rows})),
        modes=tuple(dict.fromkeys(Option(str(b.mode), MODE_MEANING[b.mode]) for b in matrix)),
        devices=tuple(dict.fromkeys(str(b.device) for b in matrix)),
        builds=tuple(dict.fromkeys(t.family for t in report.targets)),
        statuses=_status_options(report, data.shown),
        blocks=matrix,
        changes=_change_rows(report, facts, data.keys),
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
            "targets": [
                [t.id, t.family, t.torch_version, cut(_first_line(t.env_error))]
                for t in report.targets
            ],
            "blocks": data.blocks,
            "results": data.results,
            "result": data.result_of,
            "time": data.times,
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


def render_html(report: Report, facts: Facts) -> str:
    """The whole report as one HTML page; the same report gives the same bytes."""
    return _environment().get_template(TEMPLATE).render(page=resolve_page(report, facts))
