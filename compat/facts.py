"""Facts derived from the merged cells: since, changes, behaviour verdicts, inventory, signatures.

Pure: targets (in column order), cells and the behaviour table in, ``Facts`` out.
Statuses fall into three groups: passing (pass, xpass), not measured
(skip, env-error: nothing ran, so nothing changed) and the rest, failing.
"since" and changes follow each build's versions; targets that could not be
installed (env-error) take no part in them.
"""

from __future__ import annotations

import itertools
import operator
import weakref
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence

from compat.model import (
    BehaviourRow,
    Cell,
    Change,
    ChangeKind,
    Facts,
    InventoryRow,
    Report,
    RowSince,
    SignatureRow,
    TargetInfo,
    Verdict,
)
from suites.behaviours import Behaviour
from suites.schema import CellId, Status

PASSING = frozenset({Status.PASS, Status.XPASS})
NOT_MEASURED = frozenset({Status.SKIP, Status.ENV_ERROR})
FAILING = frozenset(Status) - PASSING - NOT_MEASURED
# Statuses whose signature counts as an error signature.
ERRORS = frozenset({Status.FAIL, Status.ERROR, Status.XFAIL, Status.TIMEOUT, Status.CRASH})
# A behaviour can neither be confirmed nor ruled out where its cell did not run.
_UNDECIDED = frozenset({Status.SKIP, Status.MISSING, Status.ENV_ERROR})
TOP_SIGNATURES = 20


def resolve_facts(
    targets: Sequence[TargetInfo],
    cells: Sequence[Cell],
    behaviours: tuple[Behaviour, ...],
    groups: Groups | None = None,
) -> Facts:
    """Everything the report says beyond the raw cells (``groups``: ``group_by_cell(cells)``,
    when the caller has it)."""
    column = {t.id: i for i, t in enumerate(targets)}
    if groups is None:
        groups = group_by_cell(cells)
    rows = _rows(targets, groups)
    return Facts(
        since=resolve_since(targets, rows),
        changes=resolve_changes(targets, rows, column),
        behaviours=resolve_behaviour_rows(targets, groups, behaviours),
        inventory=resolve_inventory(targets, groups),
        signatures=resolve_signatures(cells, column),
    )


# cell id -> its status in each target (column order), None where it has no result; ids sorted
Rows = dict[CellId, list[Status | None]]

_ID = operator.attrgetter("id")
_TARGET = operator.attrgetter("target")
_STATUS = operator.attrgetter("status")


def _rows(targets: Sequence[TargetInfo], groups: Groups) -> Rows:
    ids = [t.id for t in targets]
    rows: Rows = {}
    for cell_id, cells in groups.items():
        if list(map(_TARGET, cells)) == ids:  # the usual row: every target, in column order
            rows[cell_id] = list(map(_STATUS, cells))
        else:
            by_target = dict(zip(map(_TARGET, cells), map(_STATUS, cells), strict=True))
            rows[cell_id] = list(map(by_target.get, ids))
    return rows


def cell_order(cell_id: CellId) -> tuple[str, str, str, str, str]:
    """``CellId``'s own order as plain strings (its fields are str enums and strings):
    the same order, without a dataclass comparison per step."""
    i = cell_id
    return (i.source.value, i.hop, i.variant, i.mode.value, i.device.value)


Groups = dict[CellId, list[Cell]]  # cell id -> its cells, ids sorted


def group_by_cell(cells: Iterable[Cell]) -> Groups:
    """Cells per cell id, ids sorted, each list in the given order.

    Groups runs of the same ``CellId`` object first (the loader gives all cells
    of one id the same object, and sorts them by id): a C-level pass that
    compares addresses, where hashing a ``CellId`` would cost far more. Equal
    ids from separate runs are then merged.
    """
    merged: Groups = {}
    for cell_id, run in itertools.groupby(cells, _ID):
        group = merged.get(cell_id)
        if group is None:
            merged[cell_id] = list(run)
        else:
            group.extend(run)
    return {cell_id: merged[cell_id] for cell_id in sorted(merged, key=cell_order)}


_GROUPS: dict[int, Groups] = {}  # by the address of a live report


def report_groups(report: Report) -> Groups:
    """``group_by_cell(report.cells)``, worked out once per report; never modify it.

    Facts and every renderer walk the cells row by row: one grouping serves all.
    """
    got = _GROUPS.get(id(report))
    if got is None:
        got = remember_groups(report, group_by_cell(report.cells))
    return got


def remember_groups(report: Report, groups: Groups) -> Groups:
    """Record ``groups`` (which must equal ``group_by_cell(report.cells)``) for ``report``."""
    _GROUPS[id(report)] = groups
    # Dropped when the report is (before its address can be reused).
    weakref.finalize(report, _GROUPS.pop, id(report), None)
    return groups


def _builds(targets: Sequence[TargetInfo]) -> dict[str, list[TargetInfo]]:
    """The targets that ran, per build (in column order of builds), oldest version first."""
    out: dict[str, list[TargetInfo]] = {}
    for t in targets:
        ran = out.setdefault(t.build, [])
        if t.env_error is None:
            ran.append(t)
    for ran in out.values():
        ran.sort(key=lambda t: (t.version, t.id))
    return out


def _build_columns(targets: Sequence[TargetInfo]) -> list[tuple[str, list[str], list[int]]]:
    """Per build: the ids of the targets that ran, oldest first, and their columns."""
    column = {t.id: i for i, t in enumerate(targets)}
    return [
        (build, [t.id for t in ran], [column[t.id] for t in ran])
        for build, ran in _builds(targets).items()
    ]


# A status as one character: passing, failing, not measured, and "-" for no result.
_CLASS: dict[Status | None, str] = {
    **{s: "P" for s in PASSING},
    **{s: "N" for s in NOT_MEASURED},
    **{s: "F" for s in FAILING},
    None: "-",
}


def _codes(row: list[Status | None], columns: list[int]) -> tuple[list[Status | None], str]:
    """A row's statuses in the given columns, and the same as one class character each."""
    statuses = list(map(row.__getitem__, columns))
    return statuses, "".join(map(_CLASS.__getitem__, statuses))


def resolve_since(targets: Sequence[TargetInfo], rows: Rows) -> tuple[RowSince, ...]:
    """Per row and build: the first target from which the row passes in every later one.

    Conservative: a later target without a passing result (no result, or
    skipped) ends the run, so "since" is only claimed up to the newest target.
    """
    out: list[RowSince] = []
    builds = _build_columns(targets)
    for cell_id, row in rows.items():
        for build, ids, columns in builds:
            _, codes = _codes(row, columns)
            if codes.count("-") == len(codes):
                continue  # no target of this build has the row
            passing = len(codes) - len(codes.rstrip("P"))  # the newest targets that pass
            since = ids[len(ids) - passing] if passing else None
            out.append(RowSince(cell=cell_id, build=build, since=since))
    return tuple(out)


def resolve_changes(
    targets: Sequence[TargetInfo], rows: Rows, column: dict[str, int]
) -> tuple[Change, ...]:
    """Regressions and fixes between consecutive targets of one build that measured the row.

    A target without a result for the row, or where it did not run (skip),
    says nothing about it: the comparison looks past it to the next one.
    """
    out: list[Change] = []
    builds = _build_columns(targets)
    for cell_id, row in rows.items():  # ids sorted: the order among changes of one target
        for build, ids, columns in builds:
            statuses, codes = _codes(row, columns)
            measured = codes.replace("N", "").replace("-", "")
            if "PF" not in measured and "FP" not in measured:
                continue  # the usual row: no change of class at all
            before: tuple[str, Status] | None = None
            for target, status in zip(ids, statuses, strict=True):
                if status is None or status in NOT_MEASURED:
                    continue
                if before is not None:
                    if before[1] in PASSING and status in FAILING:
                        kind = ChangeKind.REGRESSION
                    elif before[1] in FAILING and status in PASSING:
                        kind = ChangeKind.FIX
                    else:
                        before = (target, status)
                        continue
                    out.append(
                        Change(kind, build, cell_id, before[0], target, before[1], status)
                    )
                before = (target, status)
    # Stable: changes of one kind and target stay in cell id order.
    out.sort(key=lambda c: (c.kind is not ChangeKind.REGRESSION, column[c.after]))
    return tuple(out)


def resolve_behaviour_rows(
    targets: Sequence[TargetInfo],
    groups: Mapping[CellId, Sequence[Cell]],
    behaviours: tuple[Behaviour, ...],
) -> tuple[BehaviourRow, ...]:
    """Per behaviour: its verdict in every target, and when it was seen and gone.

    ``groups``: the cells per cell id (``group_by_cell``).
    """
    # (behaviour, target) -> statuses of its applicable cells, and the cells reproducing it
    statuses: dict[tuple[str, str], set[Status]] = defaultdict(set)
    reproduced: dict[tuple[str, str], list[Cell]] = defaultdict(list)
    applicable_to: dict[tuple[str, str], list[Behaviour]] = {}
    for cell_id, cells in groups.items():
        key = (cell_id.hop, cell_id.mode.value)
        applicable = applicable_to.get(key)
        if applicable is None:
            applicable = applicable_to[key] = [b for b in behaviours if b.applies_to(*key)]
        for cell in cells if applicable else ():
            for b in applicable:
                if b.id in cell.behaviours:
                    reproduced[b.id, cell.target].append(cell)
                elif b.properties and not _has_properties(cell, b):
                    continue  # the cell does not record what this behaviour looks at
                statuses[b.id, cell.target].add(cell.status)
    column = {t.id: i for i, t in enumerate(targets)}
    by_version = sorted(targets, key=lambda t: (t.version, column[t.id]))
    rows: list[BehaviourRow] = []
    label = _Labels()
    for b in behaviours:
        verdicts = {
            t.id: _verdict(t, statuses[b.id, t.id], bool(reproduced[b.id, t.id])) for t in targets
        }
        seen = [t.id for t in by_version if verdicts[t.id] is Verdict.REPRODUCED]
        decisive = [
            t.id for t in by_version if verdicts[t.id] in (Verdict.REPRODUCED, Verdict.ABSENT)
        ]
        absent_since: str | None = None
        if seen:
            after_last = decisive[decisive.index(seen[-1]) + 1 :]
            absent_since = after_last[0] if after_last else None
        ran = [t.id for t in by_version if verdicts[t.id] is not Verdict.NOT_APPLICABLE]
        hits = [c for t in targets for c in reproduced[b.id, t.id]]  # column, then cell order
        rows.append(
            BehaviourRow(
                behaviour=b,
                verdicts=tuple((t.id, verdicts[t.id]) for t in targets),
                first_seen=seen[0] if seen else None,
                last_seen=seen[-1] if seen else None,
                absent_since=absent_since,
                still_present=bool(ran) and verdicts[ran[-1]] is Verdict.REPRODUCED,
                cells=tuple(label(c) for c in hits),
            )
        )
    return tuple(rows)


def _has_properties(cell: Cell, behaviour: Behaviour) -> bool:
    keys = {k for k, _ in cell.properties}
    return all(k in keys for k, _ in behaviour.properties)


def _verdict(target: TargetInfo, statuses: set[Status], reproduced: bool) -> Verdict:
    if reproduced:
        return Verdict.REPRODUCED
    if target.env_error is not None:
        return Verdict.NOT_APPLICABLE
    ran = statuses - _UNDECIDED
    if not ran:
        return Verdict.NOT_APPLICABLE
    if ran <= PASSING:
        return Verdict.ABSENT
    return Verdict.OTHER


def resolve_inventory(
    targets: Sequence[TargetInfo], groups: Mapping[CellId, object]
) -> tuple[InventoryRow, ...]:
    """Every HOP some target registers, where, and whether a case covers it.

    ``groups``: keyed by the cell ids of the report.
    """
    registered: dict[str, list[str]] = defaultdict(list)
    for t in targets:
        for hop in t.registered_hops:
            registered[hop].append(t.id)
    covered = {cell_id.hop for cell_id in groups}
    return tuple(
        InventoryRow(hop=hop, registered_in=tuple(registered[hop]), covered=hop in covered)
        for hop in sorted(registered)
    )


def resolve_signatures(
    cells: Sequence[Cell], column: dict[str, int], top: int = TOP_SIGNATURES
) -> tuple[SignatureRow, ...]:
    """The most frequent error signatures and every cell each one hits."""
    hits: dict[str, list[Cell]] = defaultdict(list)
    signed = map(operator.is_not, map(_SIGNATURE, cells), itertools.repeat(None))
    for cell in itertools.compress(cells, signed):  # few cells have a signature
        if cell.status in ERRORS:
            hits[cell.signature].append(cell)  # type: ignore[index]
    counts = Counter({sig: len(cs) for sig, cs in hits.items()})
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]
    label = _Labels()
    return tuple(
        SignatureRow(
            signature=sig,
            count=count,
            cells=tuple(
                label(c)
                # cells come sorted by cell id; a stable sort by column keeps that within one
                for c in sorted(hits[sig], key=lambda c: column.get(c.target, -1))
            ),
        )
        for sig, count in ranked
    )


_SIGNATURE = operator.attrgetter("signature")


class _Labels:
    """``"target/cell id"`` of cells, formatting each ``CellId`` object once."""

    def __init__(self) -> None:
        self._ids: dict[int, tuple[CellId, str]] = {}

    def __call__(self, cell: Cell) -> str:
        got = self._ids.get(id(cell.id))
        if got is None or got[0] is not cell.id:
            got = self._ids[id(cell.id)] = (cell.id, str(cell.id))
        return f"{cell.target}/{got[1]}"
