"""Facts derived from the merged cells: since, changes, behaviour verdicts, inventory, signatures.

Pure: targets (in column order), cells and the behaviour table in, ``Facts`` out.
Statuses fall into three groups: passing (pass, xpass), not measured
(skip, env-error: nothing ran, so nothing changed) and the rest, failing.
"since" and changes follow each build's versions; targets that could not be
installed (env-error) take no part in them.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from compat.model import (
    BehaviourRow,
    Cell,
    Change,
    ChangeKind,
    Facts,
    InventoryRow,
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
) -> Facts:
    """Everything the report says beyond the raw cells."""
    column = {t.id: i for i, t in enumerate(targets)}
    rows = _rows(cells)
    return Facts(
        since=resolve_since(targets, rows),
        changes=resolve_changes(targets, rows, column),
        behaviours=resolve_behaviour_rows(targets, cells, behaviours),
        inventory=resolve_inventory(targets, cells),
        signatures=resolve_signatures(cells, column),
    )


Rows = dict[CellId, dict[str, Cell]]  # cell id -> target id -> cell, ids sorted


def _rows(cells: Sequence[Cell]) -> Rows:
    return {cell_id: {c.target: c for c in cs} for cell_id, cs in group_by_cell(cells).items()}


def group_by_cell(cells: Iterable[Cell]) -> dict[CellId, list[Cell]]:
    """Cells per cell id, ids sorted, each list in the given order.

    Groups by object identity first (the loader gives all cells of one id the
    same ``CellId``), then merges equal ids: hashing a ``CellId`` costs far more
    than hashing an address, and a big matrix has 500k cells but few ids.
    """
    by_object: dict[int, list[Cell]] = {}
    for cell in cells:
        group = by_object.get(id(cell.id))
        if group is None:
            group = by_object[id(cell.id)] = []
        group.append(cell)
    merged: dict[CellId, list[Cell]] = {}
    for group in by_object.values():
        merged.setdefault(group[0].id, []).extend(group)
    return {cell_id: merged[cell_id] for cell_id in sorted(merged)}


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


def resolve_since(targets: Sequence[TargetInfo], rows: Rows) -> tuple[RowSince, ...]:
    """Per row and build: the first target from which the row passes in every later one.

    Conservative: a later target without a passing result (no result, or
    skipped) ends the run, so "since" is only claimed up to the newest target.
    """
    out: list[RowSince] = []
    builds = _builds(targets)
    for cell_id, row in rows.items():
        for build, ran in builds.items():
            if not any(t.id in row for t in ran):
                continue
            since: str | None = None
            for t in reversed(ran):
                cell = row.get(t.id)
                if cell is None or cell.status not in PASSING:
                    break
                since = t.id
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
    builds = _builds(targets)
    for cell_id, row in rows.items():
        for build, ran in builds.items():
            measured = [
                c for t in ran if (c := row.get(t.id)) is not None and c.status not in NOT_MEASURED
            ]
            for a, b in itertools.pairwise(measured):
                if a.status in PASSING and b.status in FAILING:
                    kind = ChangeKind.REGRESSION
                elif a.status in FAILING and b.status in PASSING:
                    kind = ChangeKind.FIX
                else:
                    continue
                out.append(Change(kind, build, cell_id, a.target, b.target, a.status, b.status))
    out.sort(key=lambda c: (c.kind is not ChangeKind.REGRESSION, column[c.after], c.cell))
    return tuple(out)


def resolve_behaviour_rows(
    targets: Sequence[TargetInfo],
    cells: Sequence[Cell],
    behaviours: tuple[Behaviour, ...],
) -> tuple[BehaviourRow, ...]:
    """Per behaviour: its verdict in every target, and when it was seen and gone."""
    applicable_to: dict[tuple[str, str], tuple[Behaviour, ...]] = {}
    # (behaviour, target) -> statuses of its applicable cells, and the cells reproducing it
    statuses: dict[tuple[str, str], set[Status]] = defaultdict(set)
    reproduced: dict[tuple[str, str], list[Cell]] = defaultdict(list)
    for cell in cells:
        key = (cell.id.hop, cell.id.mode)
        applicable = applicable_to.get(key)
        if applicable is None:
            applicable = applicable_to[key] = tuple(b for b in behaviours if b.applies_to(*key))
        for b in applicable:
            if b.id in cell.behaviours:
                reproduced[b.id, cell.target].append(cell)
            elif b.properties and not _has_properties(cell, b):
                continue  # the cell does not record what this behaviour looks at
            statuses[b.id, cell.target].add(cell.status)
    column = {t.id: i for i, t in enumerate(targets)}
    by_version = sorted(targets, key=lambda t: (t.version, column[t.id]))
    rows: list[BehaviourRow] = []
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
                cells=tuple(f"{c.target}/{c.id}" for c in hits),
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
    targets: Sequence[TargetInfo], cells: Sequence[Cell]
) -> tuple[InventoryRow, ...]:
    """Every HOP some target registers, where, and whether a case covers it."""
    registered: dict[str, list[str]] = defaultdict(list)
    for t in targets:
        for hop in t.registered_hops:
            registered[hop].append(t.id)
    covered = {c.id.hop for c in cells}
    return tuple(
        InventoryRow(hop=hop, registered_in=tuple(registered[hop]), covered=hop in covered)
        for hop in sorted(registered)
    )


def resolve_signatures(
    cells: Sequence[Cell], column: dict[str, int], top: int = TOP_SIGNATURES
) -> tuple[SignatureRow, ...]:
    """The most frequent error signatures and every cell each one hits."""
    hits: dict[str, list[Cell]] = defaultdict(list)
    for cell in cells:
        if cell.signature is not None and cell.status in ERRORS:
            hits[cell.signature].append(cell)
    counts = Counter({sig: len(cs) for sig, cs in hits.items()})
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]
    return tuple(
        SignatureRow(
            signature=sig,
            count=count,
            cells=tuple(
                f"{c.target}/{c.id}"
                # cells come sorted by cell id; a stable sort by column keeps that within one
                for c in sorted(hits[sig], key=lambda c: column.get(c.target, -1))
            ),
        )
        for sig, count in ranked
    )
