"""Report -> one self-contained HTML page (inline CSS and JS, nothing fetched).

The page is written for matrices of any size: its tables of facts are HTML,
the matrix is data. Every piece of text reaches the markup through Jinja's
autoescape or ``markupsafe.escape`` (the long lists of cell links are joined
here, each piece escaped); the matrix and the cells' details travel once, as
compact JSON inside a ``<script type="application/json">`` block, encoded as
Jinja's ``tojson`` does (``<``, ``>``, ``&`` and ``'`` escaped, so no message
can close the element). The page's script draws the matrix from that data
(a page of rows per block at a time, so a 500k-cell matrix stays usable) and
builds everything with ``textContent`` and attributes, never HTML strings.

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
import json
import math
import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any, NamedTuple

import jinja2
from markupsafe import Markup, escape

from compat.facts import report_groups, report_index, time_texts
from compat.model import Cell, ChangeKind, Report, TargetInfo, Verdict
from compat.render_md import (
    MODE_MEANING,
    NO_RESULT_MEANING,
    STATUS_MEANING,
    MatrixBlock,
    aot_strictness,
    change_counts,
    resolve_matrix,
    since_label,
    status_counts,
    summary_line,
    verdict_summary,
)
from suites.schema import Prop, Status, SuiteProp

# Monochrome glyphs that common system fonts (DejaVu, Segoe, Helvetica) carry:
# the page must stay legible without colour-emoji fonts and without colour.
HTML_SYMBOL: Mapping[str, str] = {
    Status.PASS: "✓",
    Status.FAIL: "✗",
    Status.ERROR: "‼",
    Status.XFAIL: "⚠",
    Status.XPASS: "★",
    Status.SKIP: "»",
    Status.MISSING: "∅",
    Status.TIMEOUT: "◔",
    Status.CRASH: "☠",
    Status.ENV_ERROR: "⊘",
}
NO_RESULT = "none"
_NO_RESULT_SYMBOL = "·"

_VERDICT_CLASS: Mapping[Verdict, str] = {
    Verdict.REPRODUCED: "v-reproduced",
    Verdict.ABSENT: "v-absent",
    Verdict.OTHER: "v-other",
    Verdict.NOT_APPLICABLE: "v-na",
}

TEMPLATE = "report.html.j2"
# Cells linked per behaviour or signature: a big matrix's most frequent signature hits
# thousands, more than anyone follows one by one (and 40k links cost 0.3 s).
MAX_REFS = 50

# Status codes of the matrix data: every status (has a result), then the two ways a
# column can lack one: no result, or a target that could not be installed.
_CODES: tuple[tuple[str, str, str, bool], ...] = (
    *((str(s), HTML_SYMBOL[s], str(s), True) for s in Status),
    (NO_RESULT, _NO_RESULT_SYMBOL, "no result", False),
    (str(Status.ENV_ERROR), HTML_SYMBOL[Status.ENV_ERROR], str(Status.ENV_ERROR), False),
)
_CODE_OF: Mapping[Status | None, str] = {s: chr(97 + i) for i, s in enumerate(Status)}
_NO_RESULT_CODE = chr(97 + len(Status))
_ENV_ERROR_CODE = chr(97 + len(Status) + 1)


class CellRef(NamedTuple):
    """A "target/cell id" string, linked to its matrix cell when there is one."""

    target: str
    cell: str
    key: int | None

    @property
    def label(self) -> str:
        return f"{self.target}/{self.cell}"


@dataclass(frozen=True)
class BlockView:
    mode: str
    device: str
    meaning: str
    targets: tuple[TargetInfo, ...]
    builds: tuple[str, ...]


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


@dataclass(frozen=True)
class LinkView:
    text: str
    href: str | None  # only http(s) links become anchors


@dataclass(frozen=True)
class BehaviourView:
    id: str
    hop: str
    mode: str
    exception: str
    message: str
    sentence: str
    origin: str
    links: tuple[LinkView, ...]
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
    fixes: int
    envs: tuple[EnvView, ...]
    legend: tuple[Option, ...]
    hops: tuple[str, ...]
    modes: tuple[Option, ...]
    devices: tuple[str, ...]
    builds: tuple[str, ...]
    statuses: tuple[Option, ...]
    blocks: tuple[BlockView, ...]
    changes: Markup  # the rows of the regressions-and-fixes table
    targets: tuple[TargetInfo, ...]
    ran: tuple[TargetInfo, ...]
    behaviours: tuple[BehaviourView, ...]
    inventory: tuple[InventoryView, ...]
    signatures: tuple[SignatureView, ...]
    skipped: tuple[tuple[str, str], ...]
    data: Mapping[str, object]  # goes to the page's script as JSON (see the module doc)


class _Keys:
    """Where each row's keys start, to link "target/cell id" strings to matrix cells."""

    def __init__(self) -> None:
        # cell id -> (first key, the row's targets with a result: None where that is all
        # the block's targets, whose columns are in ``columns``)
        self.rows: dict[str, tuple[int, Sequence[str] | None, Mapping[str, int]]] = {}

    def key(self, target: str, cell: str) -> int | None:
        row = self.rows.get(cell)
        if row is None:
            return None
        first, targets, columns = row
        if targets is None:
            offset = columns.get(target)
            return None if offset is None else first + offset
        try:
            return first + targets.index(target)
        except ValueError:
            return None


def _escape(text: str) -> str:
    """``markupsafe.escape``'s text, without a ``Markup`` object per piece."""
    return str(escape(text)) if _NEEDS_ESCAPE.search(text) else text


_NEEDS_ESCAPE = re.compile("[&<>\"']")


def _result_data(cell: Cell) -> list[object]:
    reason = dict(cell.properties).get(Prop.REASON)
    detail = ", ".join(cell.behaviours) or cell.signature or reason or ""
    return [
        ord(_CODE_OF[cell.status]) - 97,
        cell.error_type,
        cell.signature,
        cell.message,
        list(cell.behaviours),
        [list(p) for p in cell.properties],
        detail,
    ]


class _Matrix(NamedTuple):
    blocks: list[dict[str, object]]
    results: list[list[object]]
    result_of: RawJSON  # per key, its result's index
    times: list[float | None] | RawJSON  # per key
    shown: set[str]  # the codes that appear


def _matrix_data(report: Report, blocks: Sequence[MatrixBlock], keys: _Keys) -> _Matrix:
    """The matrix as data: blocks of rows of status codes, and each cell's result and time.

    A row's codes, results and times are gathered in C-level passes; each
    distinct result is converted once (``compat.facts.CellIndex``).
    """
    index = report_index(report)
    code_of = [_CODE_OF[r.status] for r in index.results]
    column_of = {t.id: i for i, t in enumerate(report.targets)}
    by_id = {t.id: t for t in report.targets}
    result_of: list[int] = []
    times: list[float] = []
    shown: set[str] = set()
    labels: dict[str | None, str] = {}
    out: list[dict[str, object]] = []
    for block in blocks:
        ids = [t.id for t in block.targets]
        columns = {t: i for i, t in enumerate(ids)}
        empty = [_ENV_ERROR_CODE if t.env_error else _NO_RESULT_CODE for t in block.targets]
        rows: list[list[object]] = []
        for row in block.rows:
            cell_id = row.cell
            assert cell_id is not None  # resolve_matrix names every row's cell id
            group_results = index.result_of[id(cell_id)]
            if row.full:  # the usual row: its group's cells, in order, in every column
                codes = "".join(map(code_of.__getitem__, group_results))
                present: Sequence[Cell] = row.cells  # type: ignore[assignment]
                targets: Sequence[str] | None = None
            else:
                statuses = map(getattr, row.cells, repeat("status"), repeat(None))
                codes = "".join(
                    empty[i] if s is None else _CODE_OF[s] for i, s in enumerate(statuses)
                )
                present = [c for c in row.cells if c is not None]
                targets = [c.target for c in present]
            shown.update(codes)
            first = len(result_of)
            keys.rows[str(cell_id)] = (first, targets, columns)
            if row.full:
                result_of.extend(group_results)
            else:
                by_cell = dict(zip(map(id, index.groups[cell_id]), group_results, strict=True))
                result_of.extend(map(by_cell.__getitem__, map(id, present)))
            times.extend(index.times[id(cell_id)] if row.full else map(_TIME, present))
            since = []
            for s in row.since:
                label_key = None if s is None else s.since or ""
                label = labels.get(label_key)
                if label is None:
                    label = labels[label_key] = since_label(s, by_id)
                since.append(label)
            rows.append([row.case, row.hop, first, codes, since])
        out.append(
            {
                "mode": str(block.mode),
                "device": str(block.device),
                "columns": [column_of[i] for i in ids],
                "builds": list(block.builds),
                "rows": rows,
            }
        )
    texts = time_texts(report)  # every time of the report, each once
    if all(map(math.isfinite, texts)):
        finite: list[float | None] | RawJSON = RawJSON(
            f"[{','.join(map(texts.__getitem__, times))}]"
        )
    else:  # JSON has no NaN
        finite = [t if math.isfinite(t) else None for t in times]
    results = [_result_data(cell) for cell in index.results]
    numbers = list(map(str, range(len(index.results))))  # each index's text, made once
    indices = RawJSON(f"[{','.join(map(numbers.__getitem__, result_of))}]")
    return _Matrix(out, results, indices, finite, shown)


_TIME = operator.attrgetter("time")


def _ref_items(labels: Sequence[str], keys: _Keys, limit: int = MAX_REFS) -> Markup:
    """``<li>`` links for "target/cell id" strings (target ids hold no slash), escaped;
    the first ``limit`` of them, and a line that says how many more there are."""
    items = []
    for label in labels[:limit]:
        target, _, cell = label.partition("/")
        key = keys.key(target, cell)
        code = f"<code>{_escape(label)}</code>"
        if key is None:
            items.append(f"<li>{code}</li>\n")
        else:
            items.append(f'<li><a href="#c{key}" data-key="{key}">{code}</a></li>\n')
    if len(labels) > limit:
        more = len(labels) - limit
        items.append(
            f'<li class="muted">and {more} more: filter the matrix by status, '
            "or see report.json</li>\n"
        )
    return Markup("".join(items))


def _change_rows(report: Report, keys: _Keys) -> Markup:
    """The rows of the regressions-and-fixes table, regressions first, each value escaped."""
    order = {ChangeKind.REGRESSION: 0, ChangeKind.FIX: 1}
    kinds = {
        ChangeKind.REGRESSION: '<td class="st-fail">▼ regression</td>',
        ChangeKind.FIX: '<td class="st-pass">▲ fix</td>',
    }
    statuses = {  # a status is a plain word: nothing to escape
        s: f'<span class="st-{s}"><span aria-hidden="true">{HTML_SYMBOL[s]}</span> {s}</span>'
        for s in Status
    }
    names = {t.id: _escape(t.id) for t in report.targets}
    rows = []
    for c in sorted(report.facts.changes, key=lambda c: order[c.kind]):
        cell = str(c.cell)
        sides = []
        for target, status in ((c.before, c.before_status), (c.after, c.after_status)):
            key = keys.key(target, cell)
            name = names.get(target) or _escape(target)
            link = name if key is None else f'<a href="#c{key}" data-key="{key}">{name}</a>'
            sides.append(f"<td>{link}: {statuses[status]}</td>")
        rows.append(
            f"<tr>\n{kinds[c.kind]}\n<td><code>{_escape(cell)}</code></td>"
            f"<td>{_escape(c.build)}</td>\n{sides[0]}\n{sides[1]}\n</tr>"
        )
    return Markup("\n".join(rows))


def _env(t: TargetInfo) -> EnvView:
    props = dict(t.properties)
    return EnvView(
        id=t.id,
        torch=t.torch_version,
        build=t.build,
        python=props.get(SuiteProp.PYTHON, ""),
        hop_db=props.get(SuiteProp.HOP_DB, ""),
        aot=aot_strictness(t),
        cuda=props.get(SuiteProp.CUDA_VERSION, "") or props.get(SuiteProp.HIP_VERSION, ""),
        devices=props.get(SuiteProp.DEVICES, ""),
        platform=props.get(SuiteProp.PLATFORM, ""),
        source_file=t.source_file,
        env_error=t.env_error,
        incomplete=t.incomplete,
    )


def _option(status: Status) -> Option:
    return Option(str(status), str(status), HTML_SYMBOL[status])


def _verdict(verdict: Verdict | None) -> tuple[str, str]:
    if verdict is None:
        return ("", "v-none")
    return (str(verdict), _VERDICT_CLASS[verdict])


def _link(text: str) -> LinkView:
    is_web = text.startswith(("https://", "http://"))
    return LinkView(text=text, href=text if is_web else None)


def _first_line(text: str | None) -> str:
    return text.splitlines()[0] if text else ""


def resolve_page(report: Report) -> PageView:
    """Everything the template shows, computed once, in display order."""
    matrix = resolve_matrix(report)
    keys = _Keys()
    data = _matrix_data(report, matrix, keys)

    rows_by_id = {r.behaviour.id: r for r in report.facts.behaviours}
    declared = {b.id for b in report.behaviours}
    all_behaviours = [*report.behaviours]
    all_behaviours += [
        r.behaviour for r in report.facts.behaviours if r.behaviour.id not in declared
    ]
    behaviours = []
    for beh in all_behaviours:
        row = rows_by_id.get(beh.id)
        verdicts = dict(row.verdicts) if row is not None else {}
        behaviours.append(
            BehaviourView(
                id=beh.id,
                hop=beh.hop,
                mode=beh.mode,
                exception=beh.exception or "",
                message=beh.message or "",
                sentence=beh.sentence,
                origin=beh.origin,
                links=tuple(_link(link) for link in beh.links),
                verdicts=tuple(_verdict(verdicts.get(t.id)) for t in report.targets),
                first_seen=(row.first_seen or "—") if row else "",
                last_seen=(row.last_seen or "—") if row else "",
                summary=(
                    verdict_summary(row.first_seen, row.absent_since, row.still_present)
                    if row
                    else ""
                ),
                cells=_ref_items(row.cells, keys) if row else Markup(""),
                has_row=row is not None,
            )
        )

    ran = tuple(t for t in report.targets if t.env_error is None)
    inventory = tuple(
        InventoryView(
            hop=r.hop,
            covered=r.covered,
            registered=tuple(t.id in r.registered_in for t in ran),
        )
        for r in report.facts.inventory
    )
    signatures = tuple(
        SignatureView(signature=r.signature, count=r.count, cells=_ref_items(r.cells, keys))
        for r in report.facts.signatures
    )

    groups = report_groups(report)
    present = {s for s, _ in status_counts(report)}
    statuses = [_option(s) for s in Status if s in present]
    if _ENV_ERROR_CODE in data.shown and Status.ENV_ERROR not in present:
        statuses.append(_option(Status.ENV_ERROR))
    if _NO_RESULT_CODE in data.shown:
        statuses.append(Option(NO_RESULT, "no result", _NO_RESULT_SYMBOL))

    kinds = dict(change_counts(report))
    return PageView(
        summary=summary_line(report),
        counts=tuple((_option(s), n) for s, n in status_counts(report)),
        regressions=kinds[ChangeKind.REGRESSION],
        fixes=kinds[ChangeKind.FIX],
        envs=tuple(_env(t) for t in report.targets),
        legend=(
            *(Option(str(s), STATUS_MEANING[s], HTML_SYMBOL[s]) for s in Status),
            Option(NO_RESULT, NO_RESULT_MEANING, _NO_RESULT_SYMBOL),
        ),
        hops=tuple(sorted({cell_id.hop for cell_id in groups})),
        modes=tuple(dict.fromkeys(Option(str(b.mode), MODE_MEANING[b.mode]) for b in matrix)),
        devices=tuple(dict.fromkeys(str(b.device) for b in matrix)),
        builds=tuple(dict.fromkeys(t.family for t in report.targets)),
        statuses=tuple(statuses),
        blocks=tuple(
            BlockView(
                mode=str(b.mode),
                device=str(b.device),
                meaning=MODE_MEANING[b.mode],
                targets=b.targets,
                builds=b.builds,
            )
            for b in matrix
        ),
        changes=_change_rows(report, keys),
        targets=report.targets,
        ran=ran,
        behaviours=tuple(behaviours),
        inventory=inventory,
        signatures=signatures,
        skipped=tuple((s.path, s.reason) for s in report.skipped_inputs),
        data={
            "statuses": [list(code) for code in _CODES],
            "targets": [
                [t.id, t.family, t.torch_version, _first_line(t.env_error)] for t in report.targets
            ],
            "blocks": data.blocks,
            "results": data.results,
            "result": data.result_of,
            "time": data.times,
            "behaviours": {
                b.id: {"sentence": b.sentence, "hop": b.hop, "mode": b.mode} for b in all_behaviours
            },
        },
    )


def _compact_json(obj: Any, **kwargs: Any) -> str:
    # What |tojson uses here: sorted keys (the same report gives the same bytes), and
    # no spaces (a big matrix sends a million numbers).
    if isinstance(obj, dict) and all(isinstance(key, str) for key in obj):
        # The page's data: its long lists of numbers (a result and a time per cell)
        # joined in C-level passes, the same bytes json.dumps writes.
        items = (f"{_dumps(key)}:{_dumps(obj[key])}" for key in sorted(obj))
        return "{" + ",".join(items) + "}"
    return _dumps(obj)


_NUMBERS = frozenset({int, float, type(None)})


class RawJSON(str):
    """Text that is JSON already (the page data's times, from ``time_texts``)."""


def _dumps(obj: Any) -> str:
    if isinstance(obj, RawJSON):
        return str(obj)
    if isinstance(obj, list) and len(obj) > 1000 and set(map(type, obj)) <= _NUMBERS:
        text = ",".join(map(repr, obj)).replace("None", "null")  # as json writes them
        if "nan" not in text and "inf" not in text:  # else json's NaN and Infinity
            return f"[{text}]"
    return _ENCODE(obj)


# One encoder for every value: json.dumps with options builds a new one per call.
_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


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
    env.policies["json.dumps_function"] = _compact_json
    return env


def render_html(report: Report) -> str:
    """The whole report as one HTML page; the same report gives the same bytes."""
    return _environment().get_template(TEMPLATE).render(page=resolve_page(report))


__all__ = ["HTML_SYMBOL", "PageView", "render_html", "resolve_page"]
