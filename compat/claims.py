"""ExportDB's claims against the measurement: where a declared support level is wrong.

torch's ExportDB declares per example whether export supports it (``SUPPORTED``)
or not yet (``NOT_SUPPORTED_YET``), one release at a time; the suite writes that
level into each exportdb cell's ``expectation``. A claim is contradicted where a
case declared supported fails (fail, error, xfail, timeout, crash), or one
declared not supported yet passes. Skipped and missing cells say nothing.

Pure: a ``Report`` in, ``ClaimRow`` values out (``compat.facts`` keeps them in
``Facts.claims``); ``claim_spans`` joins the targets where a case disagrees alike,
and ``compat.layout.claim_text`` says it in words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from compat.model import ClaimMiss, ClaimRow, Report
from suites.schema import (
    EXPECT_EXPORTDB_SUPPORTED,
    EXPECT_EXPORTDB_UNSUPPORTED,
    Device,
    Mode,
    Prop,
    Source,
    Status,
)

SUPPORTED = "SUPPORTED"
NOT_SUPPORTED_YET = "NOT_SUPPORTED_YET"
# What contradicts each level (compat.facts' PASSING, and the failures among its FAILING).
_CONTRADICTS: Mapping[str, frozenset[Status]] = {
    SUPPORTED: frozenset({Status.FAIL, Status.ERROR, Status.XFAIL, Status.TIMEOUT, Status.CRASH}),
    NOT_SUPPORTED_YET: frozenset({Status.PASS, Status.XPASS}),
}
_TOKENS = ((EXPECT_EXPORTDB_SUPPORTED, SUPPORTED), (EXPECT_EXPORTDB_UNSUPPORTED, NOT_SUPPORTED_YET))


def declared_level(expectation: str) -> str | None:
    """The support level an ``expectation`` property declares (``exportdb-unsupported:
    NOT_SUPPORTED_YET`` -> ``NOT_SUPPORTED_YET``), or None when it declares none."""
    for token in (t.strip() for t in expectation.split(",")):
        for prefix, level in _TOKENS:
            if token == prefix or token.startswith(f"{prefix}:"):
                return level
    return None


def resolve_claims(report: Report) -> tuple[ClaimRow, ...]:
    """Every exportdb case with a cell that contradicts its declared level, by case."""
    column = {t.id: i for i, t in enumerate(report.targets)}
    found: dict[str, list[ClaimMiss]] = {}
    for row in report.rows:
        if row.id.source is not Source.EXPORTDB:
            continue
        for cell in row.cells:
            level = declared_level(dict(cell.properties).get(Prop.EXPECTATION.value, ""))
            if level is not None and cell.status in _CONTRADICTS[level]:
                found.setdefault(row.id.case, []).append(
                    ClaimMiss(cell.target, row.id, level, cell.status)
                )
    return tuple(
        ClaimRow(case, tuple(sorted(misses, key=lambda m: (column.get(m.target, -1), m.cell))))
        for case, misses in sorted(found.items())
    )


Members = tuple[tuple[Mode, Device], ...]
Outcomes = tuple[tuple[Status, Members], ...]  # each status with the modes that show it


@dataclass(frozen=True)
class ClaimSpan:
    """The targets where one case disagrees alike: the same level, statuses and modes."""

    targets: tuple[str, ...]  # column order
    declared: str
    outcomes: Outcomes  # in Status order


def claim_spans(row: ClaimRow) -> tuple[ClaimSpan, ...]:
    """The row's misses grouped by target, then the targets that disagree alike joined."""
    by_target: dict[str, list[ClaimMiss]] = {}
    for miss in row.misses:
        by_target.setdefault(miss.target, []).append(miss)
    spans: dict[tuple[str, Outcomes], list[str]] = {}
    for target, misses in by_target.items():
        spans.setdefault((misses[0].declared, _outcomes(misses)), []).append(target)
    return tuple(
        ClaimSpan(tuple(targets), declared, outcomes)
        for (declared, outcomes), targets in spans.items()
    )


def _outcomes(misses: Sequence[ClaimMiss]) -> Outcomes:
    members: dict[Status, list[tuple[Mode, Device]]] = {}
    for miss in misses:
        members.setdefault(miss.status, []).append((miss.cell.mode, miss.cell.device))
    modes, devices = list(Mode), list(Device)
    return tuple(
        (
            status,
            tuple(sorted(members[status], key=lambda m: (modes.index(m[0]), devices.index(m[1])))),
        )
        for status in Status
        if status in members
    )
