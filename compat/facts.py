"""Facts derived from the merged cells: since, changes, behaviour verdicts, inventory, signatures.

Pure: targets (in column order), cells and the behaviour table in, ``Facts`` out.
Statuses fall into three groups: passing (pass, xpass), not measured
(skip, env-error: nothing ran, so nothing changed) and the rest, failing.
"since" and changes follow each build family's versions (cu124 and cu128 are
both cuda); targets that could not be installed (env-error) take no part in them.
"""

from __future__ import annotations

import collections
import itertools
import operator
import weakref
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any, NamedTuple, TypeVar, cast, overload

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
# Cases named after a HOP's entry point whose registered operator has another name:
# torch.map runs as map_impl, and a mutating custom op under export as
# auto_functionalized (auto_functionalized_v2 in later versions). A case covers them.
RUNS_AS: Mapping[str, tuple[str, ...]] = {
    "map": ("map_impl",),
    "auto_functionalize": ("auto_functionalized", "auto_functionalized_v2"),
}
T = TypeVar("T")


def resolve_facts(
    targets: Sequence[TargetInfo],
    cells: Sequence[Cell],
    behaviours: tuple[Behaviour, ...],
    index: CellIndex | None = None,
) -> Facts:
    """Everything the report says beyond the raw cells (``index``: the cells' ``CellIndex``,
    when the caller has it)."""
    column = {t.id: i for i, t in enumerate(targets)}
    if index is None:
        index = resolve_index(targets, cells)
    rows = _rows(targets, index)
    codes = row_codes(rows)
    return Facts(
        since=resolve_since(targets, rows, codes),
        changes=resolve_changes(targets, rows, column, codes),
        behaviours=resolve_behaviour_rows(targets, index, behaviours),
        inventory=resolve_inventory(targets, index.groups),
        signatures=resolve_signatures(index, column),
    )


# cell id -> its status in each target (column order), None where it has no result; ids sorted
Rows = dict[CellId, list[Status | None]]

_ID = operator.attrgetter("id")
_TARGET = operator.attrgetter("target")
_STATUS = operator.attrgetter("status")
_TIME = operator.attrgetter("time")


def _rows(targets: Sequence[TargetInfo], index: CellIndex) -> Rows:
    ids = [t.id for t in targets]
    status_of = list(map(_STATUS, index.results))
    rows: Rows = {}
    for cell_id in index.groups:
        statuses = list(map(status_of.__getitem__, index.result_of[id(cell_id)]))
        if id(cell_id) in index.complete:  # the usual row: every target, in column order
            rows[cell_id] = statuses
        else:
            by_target = dict(zip(index.targets[id(cell_id)], statuses, strict=True))
            rows[cell_id] = list(map(by_target.get, ids))
    return rows


def cell_order(cell_id: CellId) -> tuple[str, str, str, str, str]:
    """``CellId``'s own order as plain strings (its fields are str enums and strings):
    the same order, without a dataclass comparison per step."""
    i = cell_id
    return (i.source.value, i.hop, i.variant, i.mode.value, i.device.value)


Groups = dict[CellId, Sequence[Cell]]  # cell id -> its cells, ids sorted


def group_by_cell(cells: Iterable[Cell]) -> Groups:
    """Cells per cell id, ids sorted, each list in the given order.

    Groups runs of the same ``CellId`` object first (the loader gives all cells
    of one id the same object, and sorts them by id): a C-level pass that
    compares addresses, where hashing a ``CellId`` would cost far more. Equal
    ids from separate runs are then merged.
    """
    merged: dict[CellId, list[Cell]] = {}
    for cell_id, run in itertools.groupby(cells, _ID):
        group = merged.get(cell_id)
        if group is None:
            merged[cell_id] = list(run)
        else:
            group.extend(run)
    return {cell_id: merged[cell_id] for cell_id in sorted(merged, key=cell_order)}


@dataclass(frozen=True)
class CellIndex:
    """The cells of a report per cell id, and their distinct results; never modify it.

    Facts and every renderer walk a big matrix row by row, and most of its
    500k cells repeat a few results (all of a cell but its target and time):
    worked out once per report (``report_index``), the renderers format each
    distinct result once and do C-level passes per row.
    """

    groups: Groups
    # A cell of each result: cells with the same index have the same result (one
    # result may have several indices). Only status, behaviours, error type, message,
    # signature and properties of these cells count.
    results: list[Cell]
    result_of: dict[int, list[int]]  # id(cell id of groups) -> index in results, per cell
    complete: set[int]  # id(cell id) of groups with a cell per target, in column order
    times: dict[int, list[float]]  # id(cell id of groups) -> time, per cell
    targets: dict[int, list[str]]  # id(cell id of groups) -> target id, per cell


def resolve_index(targets: Sequence[TargetInfo], cells: Iterable[Cell]) -> CellIndex:
    """The ``CellIndex`` of a report's targets (in column order) and cells."""
    groups = group_by_cell(cells)
    ids = [t.id for t in targets]
    distinct: dict[tuple[object, ...], int] = {}
    results: list[Cell] = []
    result_of: dict[int, list[int]] = {}
    complete: set[int] = set()
    on: dict[int, list[str]] = {}
    for cell_id, row_cells in groups.items():
        on[id(cell_id)] = list(map(_TARGET, row_cells))
        if on[id(cell_id)] == ids:
            complete.add(id(cell_id))
            on[id(cell_id)] = ids
        row = result_of[id(cell_id)] = []
        for cell in row_cells:
            # Properties tuples stay alive in the report: their address is a fair key.
            key = (
                cell.status,
                cell.behaviours,
                cell.error_type,
                cell.message,
                cell.signature,
                id(cell.properties),
            )
            index = distinct.get(key)
            if index is None:
                index = distinct[key] = len(results)
                results.append(cell)
            row.append(index)
    times = {id(cell_id): list(map(_TIME, cells)) for cell_id, cells in groups.items()}
    return CellIndex(groups, results, result_of, complete, times, on)


_new = object.__new__
_set = object.__setattr__
_setitem = dict.__setitem__
_drain: Callable[[Iterable[Any]], None] = collections.deque(maxlen=0).extend  # runs one
_FIELDS = operator.attrgetter("__dict__")


class _CellsOnDemand(Sequence[Cell]):
    """Cells made on the first look at them (``cells()``), compared as sequences."""

    __slots__ = ()

    def cells(self) -> Sequence[Cell]:
        raise NotImplementedError

    @overload
    def __getitem__(self, index: int) -> Cell: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Cell]: ...
    def __getitem__(self, index: int | slice) -> Cell | Sequence[Cell]:
        return self.cells()[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (_CellsOnDemand, list, tuple)):
            return list(self.cells()) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self.cells())!r})"


class RowCells(_CellsOnDemand):
    """One row's cells, in column order, made from its results when first looked at.

    The cells of a big matrix are a few distinct results apart from their
    target and time (see ``CellIndex``), and facts and renderers work from
    those: a row's ``Cell`` objects are made only where something asks for
    them (a row that misses a target, a test), as pickle and ``copy.copy``
    make one: a new object given a copy of its result's field dict with
    target and time filled in.
    """

    __slots__ = ("_cells", "_results", "_targets", "_times", "_which")

    def __init__(
        self, results: list[Cell], which: list[int], targets: list[str], times: list[float]
    ) -> None:
        self._results, self._which, self._targets, self._times = results, which, targets, times
        self._cells: list[Cell] | None = None

    def __len__(self) -> int:
        return len(self._which)

    def __iter__(self) -> Iterator[Cell]:
        return iter(self.cells())

    def cells(self) -> list[Cell]:
        """The row's cells, made on the first call."""
        if self._cells is None:
            fields = list(map(dict.copy, map(_FIELDS, map(self._results.__getitem__, self._which))))
            _drain(map(_setitem, fields, repeat("target"), self._targets))
            _drain(map(_setitem, fields, repeat("time"), self._times))
            cells = list(map(_new, repeat(Cell, len(fields))))
            _drain(map(_set, cells, repeat("__dict__"), fields))
            self._cells = cells
        return self._cells


class ReportCells(_CellsOnDemand):
    """Every cell of a report (its rows' cells, in order), made when first looked at.

    ``len`` needs none of them: ``python -m compat report`` renders a big
    matrix without ever making its 500k ``Cell`` objects.
    """

    __slots__ = ("_all", "_rows")

    def __init__(self, rows: Iterable[Sequence[Cell]]) -> None:
        self._rows = list(rows)
        self._all: tuple[Cell, ...] | None = None

    def __len__(self) -> int:
        return sum(map(len, self._rows))

    def __iter__(self) -> Iterator[Cell]:
        return itertools.chain.from_iterable(self._rows)

    def cells(self) -> tuple[Cell, ...]:
        """All cells, made (where their rows have not made them yet) on the first call."""
        if self._all is None:
            self._all = tuple(itertools.chain.from_iterable(self._rows))
        return self._all


_MEMOS: dict[int, dict[str, Any]] = {}  # by the address of a live report


def report_memo(report: Report, name: str, resolve: Callable[[Report], T]) -> T:
    """``resolve(report)``, worked out once per report (``name`` keys it); never modify it.

    Facts and every renderer need the same few views of a big matrix (its cells
    per row, their distinct results, the matrix layout): each is made once and
    dropped with the report.
    """
    memo = _MEMOS.get(id(report))
    if memo is None:
        memo = _MEMOS[id(report)] = {}
        # Dropped with the report (before its address can be reused).
        weakref.finalize(report, _MEMOS.pop, id(report), None)
    if name not in memo:
        memo[name] = resolve(report)
    return cast(T, memo[name])


def report_index(report: Report) -> CellIndex:
    """``resolve_index(report.targets, report.cells)``, worked out once per report."""
    return report_memo(report, "index", lambda r: resolve_index(r.targets, r.cells))


def time_texts(report: Report) -> dict[float, str]:
    """Each distinct time of a report's cells as JSON writes it (``repr``), worked out
    once per report: report.json and report.html both write every cell's time, and
    500k ``repr`` calls cost ~0.3 s where a big matrix has a few thousand times."""
    index = report_index(report)
    return report_memo(
        report,
        "time_texts",
        lambda _: {t: repr(t) for t in set(itertools.chain.from_iterable(index.times.values()))},
    )


def report_groups(report: Report) -> Groups:
    """``group_by_cell(report.cells)``, worked out once per report; never modify it."""
    return report_index(report).groups


def remember_index(report: Report, index: CellIndex) -> CellIndex:
    """Record ``index`` (which must be one of ``report``: see ``CellIndex``) for ``report``."""
    return report_memo(report, "index", lambda _: index)


def _builds(targets: Sequence[TargetInfo]) -> dict[str, list[TargetInfo]]:
    """The targets that ran, per build family (in column order), oldest version first."""
    out: dict[str, list[TargetInfo]] = {}
    for t in targets:
        ran = out.setdefault(t.family, [])
        if t.env_error is None:
            ran.append(t)
    for ran in out.values():
        ran.sort(key=lambda t: (t.version, t.id))
    return out


class _Build(NamedTuple):
    """One build family's targets that ran, oldest first: their ids and columns."""

    build: str
    ids: list[str]
    columns: list[int]
    span: slice | None  # the same columns as one slice of a row, where they are consecutive


def _build_columns(targets: Sequence[TargetInfo]) -> list[_Build]:
    """Per build: the ids of the targets that ran, oldest first, and their columns."""
    column = {t.id: i for i, t in enumerate(targets)}
    out = []
    for build, ran in _builds(targets).items():
        columns = [column[t.id] for t in ran]
        consecutive = bool(columns) and columns == list(range(columns[0], columns[-1] + 1))
        span = slice(columns[0], columns[-1] + 1) if consecutive else None
        out.append(_Build(build, [t.id for t in ran], columns, span))
    return out


# A status as one character: passing, failing, not measured, and "-" for no result.
_CLASS: dict[Status | None, str] = {
    **{s: "P" for s in PASSING},
    **{s: "N" for s in NOT_MEASURED},
    **{s: "F" for s in FAILING},
    None: "-",
}


def row_codes(rows: Rows) -> dict[CellId, str]:
    """Each row's statuses as one class character per column (see ``_CLASS``)."""
    return {cell_id: "".join(map(_CLASS.__getitem__, row)) for cell_id, row in rows.items()}


def _picked(values: Sequence[T], build: _Build) -> Sequence[T]:
    """A row's values (statuses, or their codes) in the build's columns."""
    if build.span is not None:
        return values[build.span]
    return [values[c] for c in build.columns]


def resolve_since(
    targets: Sequence[TargetInfo], rows: Rows, codes: Mapping[CellId, str] | None = None
) -> tuple[RowSince, ...]:
    """Per row and build: the first target from which the row passes in every later one.

    Conservative: a later target without a passing result (no result, or
    skipped) ends the run, so "since" is only claimed up to the newest target.
    ``codes``: ``row_codes(rows)``, when the caller has them.
    """
    out: list[RowSince] = []
    builds = _build_columns(targets)
    if codes is None:
        codes = row_codes(rows)
    for cell_id in rows:
        row_code = codes[cell_id]
        for b in builds:
            picked = "".join(_picked(row_code, b))
            if picked.count("-") == len(picked):
                continue  # no target of this build has the row
            passing = len(picked) - len(picked.rstrip("P"))  # the newest targets that pass
            since = b.ids[len(b.ids) - passing] if passing else None
            out.append(RowSince(cell=cell_id, build=b.build, since=since))
    return tuple(out)


def resolve_changes(
    targets: Sequence[TargetInfo],
    rows: Rows,
    column: dict[str, int],
    codes: Mapping[CellId, str] | None = None,
) -> tuple[Change, ...]:
    """Regressions and fixes between consecutive targets of one build that measured the row.

    A target without a result for the row, or where it did not run (skip),
    says nothing about it: the comparison looks past it to the next one.
    ``codes``: ``row_codes(rows)``, when the caller has them.
    """
    out: list[Change] = []
    builds = _build_columns(targets)
    if codes is None:
        codes = row_codes(rows)
    for cell_id, row in rows.items():  # ids sorted: the order among changes of one target
        row_code = codes[cell_id]
        for b in builds:
            measured = "".join(_picked(row_code, b)).replace("N", "").replace("-", "")
            if "PF" not in measured and "FP" not in measured:
                continue  # the usual row: no change of class at all
            before: tuple[str, Status] | None = None
            for target, status in zip(b.ids, _picked(row, b), strict=True):
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
                    out.append(Change(kind, b.build, cell_id, before[0], target, before[1], status))
                before = (target, status)
    # Stable: changes of one kind and target stay in cell id order.
    out.sort(key=lambda c: (c.kind is not ChangeKind.REGRESSION, column[c.after]))
    return tuple(out)


def resolve_behaviour_rows(
    targets: Sequence[TargetInfo],
    index: CellIndex,
    behaviours: tuple[Behaviour, ...],
) -> tuple[BehaviourRow, ...]:
    """Per behaviour: its verdict in every target, and when it was seen and gone."""
    # (behaviour, target) -> statuses of its applicable cells, and the cells reproducing it
    statuses: dict[tuple[str, str], set[Status]] = defaultdict(set)
    reproduced: dict[tuple[str, str], list[str]] = defaultdict(list)
    applicable_to: dict[tuple[str, str], list[Behaviour]] = {}
    for cell_id in index.groups:
        key = (cell_id.hop, cell_id.mode.value)
        applicable = applicable_to.get(key)
        if applicable is None:
            applicable = applicable_to[key] = [b for b in behaviours if b.applies_to(*key)]
        if not applicable:
            continue
        label = str(cell_id)
        which, on = index.result_of[id(cell_id)], index.targets[id(cell_id)]
        for result, target in zip(map(index.results.__getitem__, which), on, strict=True):
            for b in applicable:
                if b.id in result.behaviours:
                    reproduced[b.id, target].append(f"{target}/{label}")
                elif b.properties and not _has_properties(result, b):
                    continue  # the cell does not record what this behaviour looks at
                statuses[b.id, target].add(result.status)
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
                cells=tuple(hits),
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
    covered.update(op for hop in list(covered) for op in RUNS_AS.get(hop, ()))
    return tuple(
        InventoryRow(hop=hop, registered_in=tuple(registered[hop]), covered=hop in covered)
        for hop in sorted(registered)
    )


def resolve_signatures(
    index: CellIndex, column: dict[str, int], top: int = TOP_SIGNATURES
) -> tuple[SignatureRow, ...]:
    """The most frequent error signatures and every cell each one hits."""
    signed = {
        i for i, r in enumerate(index.results) if r.signature is not None and r.status in ERRORS
    }
    # signature -> (column, "target/cell id") of each cell it hits, in cell id order
    hits: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for cell_id in index.groups:
        which = index.result_of[id(cell_id)]
        if signed.isdisjoint(which):
            continue  # the usual row: no error at all
        label = str(cell_id)
        for i, target in zip(which, index.targets[id(cell_id)], strict=True):
            if i in signed:
                hit = (column.get(target, -1), f"{target}/{label}")
                hits[index.results[i].signature].append(hit)  # type: ignore[index]
    counts = Counter({sig: len(cs) for sig, cs in hits.items()})
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]
    return tuple(
        SignatureRow(
            signature=sig,
            count=count,
            # a stable sort by column keeps the cell id order within one
            cells=tuple(label for _, label in sorted(hits[sig], key=operator.itemgetter(0))),
        )
        for sig, count in ranked
    )
