"""Facts derived from a report: since, changes, behaviour verdicts, inventory, signatures.

Pure: a ``Report`` in, ``Facts`` out. Statuses fall into three groups:
passing (pass, xpass), not measured (skip, env-error: nothing ran, so
nothing changed) and the rest, failing. "since" and changes follow each
build family's versions (cu124 and cu128 are both cuda); targets that could
not be installed (env-error) take no part in them, and neither does a flaky
cell (two runs of it disagreed) in a change.
"""

from __future__ import annotations

import enum
import itertools
import operator
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace

from compat.claims import resolve_claims
from compat.model import (
    ABSENT_GAPS,
    BehaviourRow,
    Cell,
    Change,
    ChangeKind,
    Facts,
    Gap,
    GapRow,
    InventoryRow,
    Report,
    Row,
    RowSince,
    SignatureRow,
    TargetInfo,
    Verdict,
    gap_lookup,
)
from suites.behaviours import Behaviour, judgeable
from suites.schema import (
    EXPECT_EXPORTDB_UNSUPPORTED,
    EXPECT_XFAIL_TOKEN,
    CellId,
    Device,
    Mode,
    Prop,
    Source,
    Status,
    SuiteProp,
)

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
    gaps = resolve_gaps(report)
    gap_of = gap_lookup(gaps)
    return Facts(
        since=resolve_since(report.rows, families, gap_of),
        changes=resolve_changes(report.targets, report.rows, families, flaky, gap_of),
        behaviours=resolve_behaviour_rows(report.targets, report.rows, report.behaviours),
        inventory=resolve_inventory(report.targets, report.rows),
        signatures=resolve_signatures(report.targets, report.rows),
        flaky=flaky,
        gaps=gaps,
        claims=resolve_claims(report),
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


# --- expectations ------------------------------------------------------------

# How each of the suite's ``expectation`` tokens (suites.schema) reads in a report.
EXPECTATION_SAYS: Mapping[str, str] = {
    "only": "upstream runs it only under {rest}",
    "skip": "upstream skips it ({rest})",
    "no-float32": "upstream's op info has no float32 on {rest}",
    EXPECT_XFAIL_TOKEN: "upstream marks it an expected failure",
    EXPECT_EXPORTDB_UNSUPPORTED: "ExportDB declares it not supported yet",
}
# Who declares a token's expectation; the others are upstream's (its op info, its xfail list).
# ExportDB's "supported" declares no failure: compat.claims compares it with the measurement.
DECLARED_BY: Mapping[str, str] = {EXPECT_EXPORTDB_UNSUPPORTED: "ExportDB"}
UPSTREAM = "upstream"
# Outcomes an upstream expectation can explain; a known behaviour (xfail) explains itself.
_EXPLAINABLE = frozenset({Status.FAIL, Status.ERROR, Status.TIMEOUT, Status.CRASH})


def _declared(cell: Cell) -> list[tuple[str, str]]:
    """(token prefix, the rest of the token) of each expectation that explains this failure."""
    if cell.status not in _EXPLAINABLE:
        return []
    declared = dict(cell.properties).get(Prop.EXPECTATION.value, "")
    found = []
    for token in (t.strip() for t in declared.split(",")):
        prefix = next((p for p in EXPECTATION_SAYS if token.startswith(p)), None)
        if prefix is not None:
            found.append((prefix, token[len(prefix) :].removeprefix("-on-").lstrip(":- ").strip()))
    return found


def expected_reason(cell: Cell) -> str | None:
    """Why upstream (or ExportDB) expects this failing cell to fail, or None when nothing
    declared it."""
    reasons = [EXPECTATION_SAYS[prefix].format(rest=rest) for prefix, rest in _declared(cell)]
    return "; ".join(reasons) or None


def expected_by(cell: Cell) -> tuple[str, ...]:
    """Who declared this failing cell's failure: ``upstream``, ``ExportDB``, or nobody (())."""
    return tuple(dict.fromkeys(DECLARED_BY.get(prefix, UPSTREAM) for prefix, _ in _declared(cell)))


def settle_xpass(report: Report) -> Report:
    """``xpass`` only where the same row reproduced a known behaviour in an older version.

    The suite calls a pass xpass wherever the reference expects a behaviour
    for the HOP and mode; a case that first appears after the behaviour was
    gone never had it, so its pass is a plain pass, not a fix.
    """
    families = build_families(report.targets)
    rank = {t: (family, i) for family, ids in families.items() for i, t in enumerate(ids)}
    rows = []
    for row in report.rows:
        first_xfail: dict[str, int] = {}
        for cell in row.cells:
            if cell.status is Status.XFAIL and cell.target in rank:
                family, i = rank[cell.target]
                first_xfail[family] = min(first_xfail.get(family, i), i)
        cells = tuple(
            cell
            if cell.status is not Status.XPASS or _after_xfail(rank.get(cell.target), first_xfail)
            else replace(cell, status=Status.PASS)
            for cell in row.cells
        )
        rows.append(row if cells == row.cells else Row(row.id, cells))
    return replace(report, rows=tuple(rows))


def _after_xfail(place: tuple[str, int] | None, first_xfail: Mapping[str, int]) -> bool:
    return place is not None and first_xfail.get(place[0], place[1]) < place[1]


# --- gaps --------------------------------------------------------------------


def resolve_gaps(report: Report) -> tuple[GapRow, ...]:
    """Every (target, row) without a measured result, grouped by target, gap and reason."""
    modes_run: dict[str, set[tuple[Mode, Device]]] = {t.id: set() for t in report.targets}
    sources_run: dict[str, set[Source]] = {t.id: set() for t in report.targets}
    for row in report.rows:
        for ran in row.cells:
            modes_run[ran.target].add((row.id.mode, row.id.device))
            sources_run[ran.target].add(row.id.source)
    found: dict[tuple[str, Gap, str], list[CellId]] = defaultdict(list)
    for row in report.rows:
        cells = {c.target: c for c in row.cells}
        for t in report.targets:
            cell = cells.get(t.id)
            if cell is not None and cell.status not in _GAP_STATUSES:
                continue
            gap, reason = (
                _missing_gap(t, cell)
                if cell is not None
                else _absent_gap(t, row.id, modes_run[t.id], sources_run[t.id])
            )
            found[t.id, gap, reason].append(row.id)
    column = {t.id: i for i, t in enumerate(report.targets)}
    return tuple(
        GapRow(target, gap, reason, tuple(cells))
        for (target, gap, reason), cells in sorted(
            found.items(), key=lambda item: (column[item[0][0]], list(Gap).index(item[0][1]))
        )
    )


_GAP_STATUSES = frozenset({Status.MISSING, Status.ENV_ERROR})


def _absent_gap(
    target: TargetInfo,
    cell: CellId,
    modes_run: set[tuple[Mode, Device]],
    sources_run: set[Source],
) -> tuple[Gap, str]:
    """Why ``target`` has no result at all for ``cell`` (``modes_run``, ``sources_run``:
    what its results hold)."""
    if target.env_error is not None:
        return Gap.ENV_ERROR, target.env_error
    props = dict(target.properties)
    hop_db = props.get(SuiteProp.HOP_DB.value, "")
    if cell.source is Source.UPSTREAM and hop_db.startswith("unavailable"):
        return Gap.HOP_DB_UNAVAILABLE, hop_db.partition(":")[2].strip() or hop_db
    exportdb = props.get(SuiteProp.EXPORTDB.value, "")
    if cell.source is Source.EXPORTDB and exportdb.startswith("unavailable"):
        return Gap.EXPORTDB_UNAVAILABLE, exportdb.partition(":")[2].strip() or exportdb
    if (cell.mode, cell.device) not in modes_run:
        return Gap.NOT_RUN, f"{target.id}'s results hold no {cell.mode} cell on {cell.device}"
    if cell.source is Source.UPSTREAM and hop_db == "importable":
        entry = f"{cell.hop}.{cell.variant}"
        return Gap.NOT_IN_HOP_DB, f"torch {target.version}'s hop_db has no {entry}"
    if target.incomplete:
        return Gap.CUT_SHORT, target.incomplete
    if cell.source is Source.EXPORTDB and Source.EXPORTDB in sources_run:
        # ExportDB's examples change between releases as hop_db's entries do.
        return Gap.NOT_IN_EXPORTDB, f"torch {target.version}'s ExportDB has no {cell.variant}"
    return Gap.NO_RESULT, f"{target.source_file} has no result for this cell"


def _missing_gap(target: TargetInfo, cell: Cell) -> tuple[Gap, str]:
    """Why a ``missing`` (or env-error) cell has no measured result."""
    props = dict(cell.properties)
    reason = props.get(Prop.REASON.value) or cell.message or ""
    if cell.status is Status.ENV_ERROR:
        return Gap.ENV_ERROR, reason
    stated = props.get("gap", "")
    if stated in Gap._value2member_map_:
        return Gap(stated), reason
    if "torch.export" in reason:
        return Gap.MODE_ABSENT, reason
    registered = set(target.registered_hops)
    if registered and {cell.id.hop, *RUNS_AS.get(cell.id.hop, ())} & registered:
        return Gap.API_ABSENT, reason
    return Gap.HOP_NOT_REGISTERED, reason


# --- since and changes ---------------------------------------------------------


class _State(enum.Enum):
    MEASURED = "measured"  # a result: pass, fail, error, ...
    ABSENT = "absent"  # the HOP, API, case or mode did not exist in that torch
    UNKNOWN = "unknown"  # nothing says either way: skipped, no hop_db, not run


def _state(cell: Cell | None, gap: GapRow | None) -> _State:
    if gap is not None:
        return _State.ABSENT if gap.gap in ABSENT_GAPS else _State.UNKNOWN
    if cell is None or cell.status in NOT_MEASURED:
        return _State.UNKNOWN
    return _State.MEASURED


GapLookup = Mapping[tuple[str, CellId], GapRow]


def _points(
    row: Row, ids: Sequence[str], gap_of: GapLookup
) -> list[tuple[str, Cell | None, _State]]:
    """The row's known states in one family, oldest first; unknown ones left out."""
    cells = {c.target: c for c in row.cells}
    out: list[tuple[str, Cell | None, _State]] = []
    for t in ids:
        state = _state(cells.get(t), gap_of.get((t, row.id)))
        if state is not _State.UNKNOWN:
            out.append((t, cells.get(t), state))
    return out


def resolve_since(
    rows: Sequence[Row], families: Mapping[str, list[str]], gap_of: GapLookup
) -> tuple[RowSince, ...]:
    """Per row and build family of two or more targets: the target from which it passes.

    Conservative: walking back from the newest target, the first one without
    a passing result (no result, skipped, failing) ends the run. When the run
    reaches the oldest target that measured the row, older versions were
    never tested: ``at_oldest`` says "since" is only an upper bound. A family
    of one target has nothing to compare, so no "since".
    """
    out: list[RowSince] = []
    for row in rows:
        cells = {c.target: c for c in row.cells}
        for family, ids in families.items():
            if len(ids) < 2 or not any(t in cells for t in ids):
                continue
            since = None
            for t in reversed(ids):
                cell = cells.get(t)
                if cell is None or cell.status not in PASSING:
                    break
                since = t
            points = _points(row, ids, gap_of)
            out.append(
                RowSince(
                    cell=row.id,
                    build=family,
                    since=since,
                    at_oldest=since is not None and bool(points) and points[0][0] == since,
                    gone=bool(points) and points[-1][2] is _State.ABSENT,
                )
            )
    return tuple(out)


# Recorded mode parameters: when one differs, the two cells measured different things.
MODE_PARAMETERS = (Prop.STRICT.value,)


def resolve_changes(
    targets: Sequence[TargetInfo],
    rows: Sequence[Row],
    families: Mapping[str, list[str]],
    flaky: frozenset[tuple[str, CellId]],
    gap_of: GapLookup,
) -> tuple[Change, ...]:
    """Changes between consecutive targets of one family that know the row.

    A target where the row was not measured (skipped, no hop_db, no result)
    says nothing: the comparison looks past it. A flaky cell is not trusted.
    Regressions first, then fixes, new, gone, default changed; then by the
    newer target's column.
    """
    out: list[Change] = []
    for row in rows:
        for family, ids in families.items():
            out += _row_changes(row, family, ids, flaky, gap_of)
    column = {t.id: i for i, t in enumerate(targets)}
    order = {kind: i for i, kind in enumerate(ChangeKind)}
    out.sort(key=lambda c: (order[c.kind], column[c.after]))
    return tuple(out)


def compare_targets(report: Report, facts: Facts, before: str, after: str) -> tuple[Change, ...]:
    """Changes from ``before`` to ``after``: two targets, of one build family or of two.

    The rules of ``resolve_changes`` for exactly this pair (an audit: a
    candidate against its baseline), whatever their families; a row either
    did not measure says nothing, and a flaky cell is not trusted. A change
    between two families names both (``cuda → cpu``). Regressions first, then
    fixes, new, gone, default changed; rows in report order within each kind.
    """
    family = {t.id: t.family for t in report.targets}
    for target in (before, after):
        if target not in family:
            known = ", ".join(family)
            raise ValueError(f"compare_targets: no target {target!r} in the report ({known})")
    label = (
        family[after] if family[before] == family[after] else f"{family[before]} → {family[after]}"
    )
    out = [
        change
        for row in report.rows
        for change in _row_changes(row, label, (before, after), facts.flaky, facts.gap_of)
    ]
    order = {kind: i for i, kind in enumerate(ChangeKind)}
    return tuple(sorted(out, key=lambda c: order[c.kind]))


def _row_changes(
    row: Row,
    label: str,
    ids: Sequence[str],
    flaky: frozenset[tuple[str, CellId]],
    gap_of: GapLookup,
) -> list[Change]:
    """One row's changes between consecutive targets of ``ids`` (oldest first) that know it."""
    out: list[Change] = []
    for (before, old, was), (after, new, now) in itertools.pairwise(_points(row, ids, gap_of)):
        if (before, row.id) in flaky or (after, row.id) in flaky:
            continue
        change = _change(label, row.id, (before, old, was), (after, new, now))
        if change is not None:
            out.append(change)
    return out


def _change(
    family: str,
    cell_id: CellId,
    old: tuple[str, Cell | None, _State],
    new: tuple[str, Cell | None, _State],
) -> Change | None:
    (before, a, was), (after, b, now) = old, new
    if was is _State.ABSENT and now is _State.ABSENT:
        return None
    if was is _State.ABSENT or now is _State.ABSENT:
        kind = ChangeKind.NEW if was is _State.ABSENT else ChangeKind.GONE
        before_status = a.status if a is not None else None  # missing, or no cell at all
        after_status = b.status if b is not None else None
        return Change(kind, family, cell_id, before, after, before_status, after_status)
    assert a is not None and b is not None
    if a.status in PASSING and b.status in FAILING:
        kind = ChangeKind.REGRESSION
    elif a.status in FAILING and b.status in PASSING:
        kind = ChangeKind.FIX
    else:
        return None
    differs = _parameters_differ(a, b)
    if differs:
        return Change(
            ChangeKind.DEFAULT_CHANGED, family, cell_id, before, after, a.status, b.status, differs
        )
    kept = ", ".join(x for x in b.behaviours if x in a.behaviours)
    note = f"still shows {kept}" if kept and kind is ChangeKind.FIX else ""
    return Change(kind, family, cell_id, before, after, a.status, b.status, note)


def _parameters_differ(a: Cell, b: Cell) -> str:
    """``strict true → false`` for each recorded mode parameter that differs, or ''."""
    pa, pb = dict(a.properties), dict(b.properties)
    return ", ".join(
        f"{key} {pa[key]} → {pb[key]}"
        for key in MODE_PARAMETERS
        if key in pa and key in pb and pa[key] != pb[key]
    )


def resolve_behaviour_rows(
    targets: Sequence[TargetInfo], rows: Sequence[Row], behaviours: tuple[Behaviour, ...]
) -> tuple[BehaviourRow, ...]:
    """Per behaviour: its verdict in every target, and when it was seen and gone."""
    # (behaviour, target) -> statuses of its applicable cells, and the cells reproducing it
    statuses: dict[tuple[str, str], set[Status]] = defaultdict(set)
    reproduced: dict[tuple[str, str], list[str]] = defaultdict(list)
    unjudged: set[tuple[str, str]] = set()  # cells ran that do not record what it looks at
    for row in rows:
        applicable = [b for b in behaviours if b.applies_to(row.id.hop, row.id.mode)]
        for cell in row.cells:
            for b in applicable:
                if b.id in cell.behaviours:
                    reproduced[b.id, cell.target].append(_label(cell))
                elif not judgeable(b, cell.status, cell.error_type, dict(cell.properties)):
                    if cell.status not in _UNDECIDED:
                        unjudged.add((b.id, cell.target))
                    continue
                statuses[b.id, cell.target].add(cell.status)
    column = {t.id: i for i, t in enumerate(targets)}
    by_version = sorted(targets, key=lambda t: (t.version, column[t.id]))
    out = []
    for b in behaviours:
        verdicts = {
            t.id: _verdict(
                t, statuses[b.id, t.id], bool(reproduced[b.id, t.id]), (b.id, t.id) in unjudged
            )
            for t in targets
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
    ran = [v for _, v in by_version if v not in (Verdict.NOT_APPLICABLE, Verdict.NOT_MEASURED)]
    return BehaviourRow(
        behaviour=behaviour,
        verdicts=tuple(verdicts.items()),
        first_seen=seen[0] if seen else None,
        last_seen=seen[-1] if seen else None,
        absent_since=absent_since,
        still_present=bool(ran) and ran[-1] is Verdict.REPRODUCED,
        cells=tuple(hits),
    )


def _verdict(
    target: TargetInfo, statuses: set[Status], reproduced: bool, unjudged: bool
) -> Verdict:
    if reproduced:
        return Verdict.REPRODUCED
    if target.env_error is not None:
        return Verdict.NOT_APPLICABLE
    ran = statuses - _UNDECIDED
    if not ran:
        return Verdict.NOT_MEASURED if unjudged else Verdict.NOT_APPLICABLE
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
