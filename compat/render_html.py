"""Report -> one self-contained HTML page (inline CSS and JS, nothing fetched).

Every piece of data reaches the page through Jinja's autoescape, or through
``tojson`` inside a ``<script type="application/json">`` block, which
escapes ``<``, ``>``, ``&`` and ``'`` so a message cannot close the element.
The page's script builds the details panel with ``textContent`` only.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import jinja2

from compat.model import Cell, ChangeKind, Report, TargetInfo, Verdict
from compat.render_md import (
    MODE_MEANING,
    NO_RESULT_MEANING,
    STATUS_MEANING,
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


@dataclass(frozen=True)
class CellRef:
    """A "target/cell id" string, linked to its matrix cell when there is one."""

    target: str
    cell: str
    key: int | None

    @property
    def label(self) -> str:
        return f"{self.target}/{self.cell}"


@dataclass(frozen=True)
class MatrixCellView:
    key: int | None
    status: str
    symbol: str
    label: str
    title: str
    build: str


@dataclass(frozen=True)
class RowView:
    case: str
    hop: str
    cells: tuple[MatrixCellView, ...]
    since: tuple[tuple[str, str], ...]  # (build, label)


@dataclass(frozen=True)
class BlockView:
    mode: str
    device: str
    meaning: str
    targets: tuple[TargetInfo, ...]
    builds: tuple[str, ...]
    rows: tuple[RowView, ...]


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


@dataclass(frozen=True)
class ChangeView:
    kind: str
    cell: str
    build: str
    before: CellRef
    after: CellRef
    before_status: Option
    after_status: Option


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
    cells: tuple[CellRef, ...]
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
    cells: tuple[CellRef, ...]


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
    changes: tuple[ChangeView, ...]
    targets: tuple[TargetInfo, ...]
    ran: tuple[TargetInfo, ...]
    behaviours: tuple[BehaviourView, ...]
    inventory: tuple[InventoryView, ...]
    signatures: tuple[SignatureView, ...]
    skipped: tuple[tuple[str, str], ...]
    data: Mapping[str, object]  # goes to the page's script as JSON


def _cell_data(cell: Cell, torch: str) -> dict[str, object]:
    return {
        "target": cell.target,
        "torch": torch,
        "cell": str(cell.id),
        "status": str(cell.status),
        "error_type": cell.error_type,
        "signature": cell.signature,
        "message": cell.message,
        "behaviours": list(cell.behaviours),
        "properties": [list(p) for p in cell.properties],
        "time": cell.time,
    }


def _title(target: str, cell: str, status: str, detail: str | None) -> str:
    parts = [target, cell, status]
    if detail:
        parts.append(detail)
    return " · ".join(parts)


def _matrix_cell(
    cell: Cell | None, target: TargetInfo, case_cell: str, keys: Mapping[tuple[str, str], int]
) -> MatrixCellView:
    if cell is None:
        status = str(Status.ENV_ERROR) if target.env_error is not None else NO_RESULT
        symbol = HTML_SYMBOL.get(status, _NO_RESULT_SYMBOL)
        label = status if status != NO_RESULT else "no result"
        detail = target.env_error.splitlines()[0] if target.env_error else None
        return MatrixCellView(
            key=None,
            status=status,
            symbol=symbol,
            label=label,
            title=_title(target.id, case_cell, label, detail),
            build=target.build,
        )
    detail = ", ".join(cell.behaviours) or cell.signature or dict(cell.properties).get(Prop.REASON)
    return MatrixCellView(
        key=keys[cell.target, str(cell.id)],
        status=str(cell.status),
        symbol=HTML_SYMBOL[cell.status],
        label=str(cell.status),
        title=_title(target.id, str(cell.id), str(cell.status), detail),
        build=target.build,
    )


def _ref(label: str, keys: Mapping[tuple[str, str], int]) -> CellRef:
    """A facts "target/cell id" string (target ids hold no slash) as a link."""
    target, _, cell = label.partition("/")
    return CellRef(target=target, cell=cell, key=keys.get((target, cell)))


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


def resolve_page(report: Report) -> PageView:
    """Everything the template shows, computed once, in display order."""
    keys = {(c.target, str(c.id)): i for i, c in enumerate(report.cells)}
    by_id = {t.id: t for t in report.targets}
    torch_of = {t.id: t.torch_version for t in report.targets}

    blocks = tuple(
        BlockView(
            mode=str(b.mode),
            device=str(b.device),
            meaning=MODE_MEANING[b.mode],
            targets=b.targets,
            builds=b.builds,
            rows=tuple(
                RowView(
                    case=row.case,
                    hop=row.hop,
                    cells=tuple(
                        _matrix_cell(c, t, f"{row.case}/{b.mode}[{b.device}]", keys)
                        for c, t in zip(row.cells, b.targets, strict=True)
                    ),
                    since=tuple(
                        (build, since_label(s, by_id))
                        for build, s in zip(b.builds, row.since, strict=True)
                    ),
                )
                for row in b.rows
            ),
        )
        for b in resolve_matrix(report)
    )

    order = {ChangeKind.REGRESSION: 0, ChangeKind.FIX: 1}
    changes = tuple(
        ChangeView(
            kind=str(c.kind),
            cell=str(c.cell),
            build=c.build,
            before=CellRef(c.before, str(c.cell), keys.get((c.before, str(c.cell)))),
            after=CellRef(c.after, str(c.cell), keys.get((c.after, str(c.cell)))),
            before_status=_option(c.before_status),
            after_status=_option(c.after_status),
        )
        for c in sorted(report.facts.changes, key=lambda c: order[c.kind])
    )

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
                cells=tuple(_ref(c, keys) for c in row.cells) if row else (),
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
        SignatureView(
            signature=r.signature, count=r.count, cells=tuple(_ref(c, keys) for c in r.cells)
        )
        for r in report.facts.signatures
    )

    present = {c.status for c in report.cells}
    statuses = [_option(s) for s in Status if s in present]
    shown = {mc.status for b in blocks for r in b.rows for mc in r.cells}
    if str(Status.ENV_ERROR) in shown and Status.ENV_ERROR not in present:
        statuses.append(_option(Status.ENV_ERROR))
    if NO_RESULT in shown:
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
        hops=tuple(sorted({c.id.hop for c in report.cells})),
        modes=tuple(dict.fromkeys(Option(b.mode, b.meaning) for b in blocks)),
        devices=tuple(dict.fromkeys(b.device for b in blocks)),
        builds=tuple(dict.fromkeys(t.build for t in report.targets)),
        statuses=tuple(statuses),
        blocks=blocks,
        changes=changes,
        targets=report.targets,
        ran=ran,
        behaviours=tuple(behaviours),
        inventory=inventory,
        signatures=signatures,
        skipped=tuple((s.path, s.reason) for s in report.skipped_inputs),
        data={
            "cells": [_cell_data(c, torch_of.get(c.target, "")) for c in report.cells],
            "behaviours": {
                b.id: {"sentence": b.sentence, "hop": b.hop, "mode": b.mode} for b in all_behaviours
            },
        },
    )


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("compat", "templates"),
        autoescape=True,  # the template is .html.j2: select_autoescape would miss it
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_html(report: Report) -> str:
    """The whole report as one HTML page; the same report gives the same bytes."""
    return _environment().get_template(TEMPLATE).render(page=resolve_page(report))


__all__ = ["HTML_SYMBOL", "PageView", "render_html", "resolve_page"]
