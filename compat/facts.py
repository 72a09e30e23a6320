"""Facts derived from a report: since, changes, behaviour verdicts, inventory, signatures.

Pure: a ``Report`` in, ``Facts`` out. Statuses fall into three groups:
passing (pass, xpass), not measured (skip, env-error: nothing ran, so
nothing changed) and the rest, failing. "since" and changes follow each
build family's versions (cu124 and cu128 are both cuda); targets that could
not be installed (env-error) take no part in them, and neither does a flaky
cell (two runs of it disagreed) in a change.
"""

from __future__ import annotations

import itertools
import operator
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence

from compat.model import (
    BehaviourRow,
    Cell,
    Change,
    ChangeKind,
    Facts,
    InventoryRow,
    Report,
    Row,
    RowSince,
    SignatureRow,
    TargetInfo,
    Verdict,
)
from suites.behaviours import Behaviour
from suites.schema import CellId, Prop, Status

PASSING = frozenset({Status.PASS, Status.XPASS})
NOT_MEASURED = frozenset({Status.SKIP, Status.ENV_ERROR})
FAILING = frozenset(Status) - PASSING - NOT_MEASURED
# Statuses whose signature counts as an error signature.
ERRORS = frozenset({Status.FAIL, Status.ERROR, Status.XFAIL, Status.TIMEOUT, Status.CRASH})
# A behaviour can neither be confirmed nor ruled out where its cell did not run.
_UNDECIDED = frozenset({Status.SKIP, Status.MISSING, Status.ENV_ERROR})
TOP_SIGNATURES = 20
# Cases named after a HOP's entry point whose registered operator has another name:
# torch.map runs as map_impl, and a mutating custom op under export as
# auto_functionalized (auto_functionalized_v2 in later versions). A case covers them.
RUNS_AS: Mapping[str, tuple[str, ...]] = {
    "map": ("map_impl",),
    "auto_functionalize": ("auto_functionalized", "auto_functionalized_v2"),
}


def resolve_facts(report: Report) -> Facts:
    """Everything the report says beyond the raw cells."""
    families = build_families(report.targets)
    flaky = resolve_flaky(report.rows)
    return Facts(
        since=resolve_since(report.rows, families),
        changes=resolve_changes(report.targets, report.rows, families, flaky),
        behaviours=resolve_behaviour_rows(report.targets, report.rows, report.behaviours),
        inventory=resolve_inventory(report.targets, report.rows),
        signatures=resolve_signatures(report.targets, report.rows),
        flaky=flaky,
    )


def build_families(targets: Sequence[TargetInfo]) -> dict[str, list[str]]:
    """Per build family (in column order): the ids of its targets that ran, oldest first."""
    out: dict[str, list[TargetInfo]] = {}
    for t in targets:
        ran = out.setdefault(t.family, [])
        if t.env_error is None:
            ran.append(t)
    return {
        family: [t.id for t in sorted(ran, key=lambda t: (t.version, t.id))]
        for family, ran in out.items()
    }


_KEY = operator.itemgetter(0)


def resolve_flaky(rows: Sequence[Row]) -> frozenset[tuple[str, CellId]]:
    """(target, cell id) of the cells whose two runs disagreed (the suite's ``flaky`` property)."""
    key = Prop.FLAKY.value
    return frozenset(
        (cell.target, row.id)
        for row in rows
        for cell in row.cells
        if key in map(_KEY, cell.properties)
    )


def _statuses(row: Row) -> dict[str, Status]:
    return {cell.target: cell.status for cell in row.cells}


def resolve_since(rows: Sequence[Row], families: Mapping[str, list[str]]) -> tuple[RowSince, ...]:
    """Per row and build family: the first target from which the row passes in every later one.

    Conservative: a later target without a passing result (no result, or
    skipped) ends the run, so "since" is only claimed up to the newest target.
    """
    out: list[RowSince] = []
    for row in rows:
        status = _statuses(row)
        for family, ids in families.items():
            if not any(t in status for t in ids):
                continue  # no target of this family has the row
            since = None
            for t in reversed(ids):
                if status.get(t) not in PASSING:
                    break
                since = t
            out.append(RowSince(cell=row.id, build=family, since=since))
    return tuple(out)


def resolve_changes(
    targets: Sequence[TargetInfo],
    rows: Sequence[Row],
    families: Mapping[str, list[str]],
    flaky: frozenset[tuple[str, CellId]] = frozenset(),
) -> tuple[Change, ...]:
    """Regressions and fixes between consecutive targets of one family that measured the row.

    A target without a result for the row, or where it did not run (skip),
    says nothing about it: the comparison looks past it to the next one.
    A flaky cell is not trusted: no transition to or from it counts. Regressions
    first, then by the newer target's column.
    """
    out: list[Change] = []
    for row in rows:
        status = _statuses(row)
        for family, ids in families.items():
            measured = [
                (t, status[t]) for t in ids if t in status and status[t] not in NOT_MEASURED
            ]
            for (before, old), (after, new) in itertools.pairwise(measured):
                if (before, row.id) in flaky or (after, row.id) in flaky:
                    continue
                if old in PASSING and new in FAILING:
                    kind = ChangeKind.REGRESSION
                elif old in FAILING and new in PASSING:
                    kind = ChangeKind.FIX
                else:
                    continue
                out.append(Change(kind, family, row.id, before, after, old, new))
    column = {t.id: i for i, t in enumerate(targets)}
    out.sort(key=lambda c: (c.kind is not ChangeKind.REGRESSION, column[c.after]))
    return tuple(out)


def resolve_behaviour_rows(
    targets: Sequence[TargetInfo], rows: Sequence[Row], behaviours: tuple[Behaviour, ...]
) -> tuple[BehaviourRow, ...]:
    """Per behaviour: its verdict in every target, and when it was seen and gone."""
    # (behaviour, target) -> statuses of its applicable cells, and the cells reproducing it
    statuses: dict[tuple[str, str], set[Status]] = defaultdict(set)
    reproduced: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row in rows:
        applicable = [b for b in behaviours if b.applies_to(row.id.hop, row.id.mode)]
        for cell in row.cells:
            for b in applicable:
                if b.id in cell.behaviours:
                    reproduced[b.id, cell.target].append(_label(cell))
                elif b.properties and not _has_properties(cell, b):
                    continue  # the cell does not record what this behaviour looks at
                statuses[b.id, cell.target].add(cell.status)
    column = {t.id: i for i, t in enumerate(targets)}
    by_version = sorted(targets, key=lambda t: (t.version, column[t.id]))
    out = []
    for b in behaviours:
        verdicts = {
            t.id: _verdict(t, statuses[b.id, t.id], bool(reproduced[b.id, t.id])) for t in targets
        }
        hits = [c for t in targets for c in reproduced[b.id, t.id]]  # column, then cell order
        out.append(_behaviour_row(b, [(t.id, verdicts[t.id]) for t in by_version], verdicts, hits))
    return tuple(out)


def _behaviour_row(
    behaviour: Behaviour,
    by_version: list[tuple[str, Verdict]],
    verdicts: dict[str, Verdict],
    hits: list[str],
) -> BehaviourRow:
    """One behaviour's row from its verdict per target (``by_version``: oldest first)."""
    seen = [t for t, v in by_version if v is Verdict.REPRODUCED]
    decisive = [t for t, v in by_version if v in (Verdict.REPRODUCED, Verdict.ABSENT)]
    absent_since: str | None = None
    if seen:
        after_last = decisive[decisive.index(seen[-1]) + 1 :]
        absent_since = after_last[0] if after_last else None
    ran = [v for _, v in by_version if v is not Verdict.NOT_APPLICABLE]
    return BehaviourRow(
        behaviour=behaviour,
        verdicts=tuple(verdicts.items()),
        first_seen=seen[0] if seen else None,
        last_seen=seen[-1] if seen else None,
        absent_since=absent_since,
        still_present=bool(ran) and ran[-1] is Verdict.REPRODUCED,
        cells=tuple(hits),
    )


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
    targets: Sequence[TargetInfo], rows: Sequence[Row]
) -> tuple[InventoryRow, ...]:
    """Every HOP some target registers, where, and whether a case covers it."""
    registered: dict[str, list[str]] = defaultdict(list)
    for t in targets:
        for hop in t.registered_hops:
            registered[hop].append(t.id)
    covered = {row.id.hop for row in rows}
    covered.update(op for hop in list(covered) for op in RUNS_AS.get(hop, ()))
    return tuple(
        InventoryRow(hop=hop, registered_in=tuple(registered[hop]), covered=hop in covered)
        for hop in sorted(registered)
    )


def resolve_signatures(
    targets: Sequence[TargetInfo], rows: Sequence[Row], top: int = TOP_SIGNATURES
) -> tuple[SignatureRow, ...]:
    """The most frequent error signatures and every cell each one hits, in column order."""
    column = {t.id: i for i, t in enumerate(targets)}
    hits: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for row in rows:
        for cell in row.cells:
            if cell.signature is not None and cell.status in ERRORS:
                hits[cell.signature].append((column.get(cell.target, -1), _label(cell)))
    counts = Counter({sig: len(cells) for sig, cells in hits.items()})
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]
    return tuple(
        SignatureRow(
            signature=sig,
            count=count,
            # a stable sort by column keeps the cell id order within one
            cells=tuple(label for _, label in sorted(hits[sig], key=lambda hit: hit[0])),
        )
        for sig, count in ranked
    )


def _label(cell: Cell) -> str:
    """``target/cell id``: how facts name one cell."""
    return f"{cell.target}/{cell.id}"
