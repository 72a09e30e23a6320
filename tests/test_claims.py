"""compat.claims: ExportDB's declared support levels against the cells, and how a line reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from packaging.version import Version

from compat.claims import claim_spans, declared_level, resolve_claims
from compat.layout import claim_text
from compat.model import Cell, Report, TargetInfo
from suites.schema import (
    EXPECT_EXPORTDB_SUPPORTED,
    EXPECT_EXPORTDB_UNSUPPORTED,
    CellId,
    Device,
    Mode,
    Prop,
    Status,
)

SUPPORTED = f"{EXPECT_EXPORTDB_SUPPORTED}: SUPPORTED"
NOT_YET = f"{EXPECT_EXPORTDB_UNSUPPORTED}: NOT_SUPPORTED_YET"
P, F, E, X, S, M, T = (
    Status.PASS,
    Status.FAIL,
    Status.ERROR,
    Status.XFAIL,
    Status.SKIP,
    Status.MISSING,
    Status.TIMEOUT,
)


@pytest.mark.parametrize(
    ("expectation", "level"),
    [
        (SUPPORTED, "SUPPORTED"),
        (NOT_YET, "NOT_SUPPORTED_YET"),
        (EXPECT_EXPORTDB_UNSUPPORTED, "NOT_SUPPORTED_YET"),
        (f"onlyCUDA, {NOT_YET}", "NOT_SUPPORTED_YET"),
        ("expectedFailure", None),
        ("", None),
        ("exportdb-supportedish", None),
    ],
)
def test_declared_level(expectation: str, level: str | None) -> None:
    assert declared_level(expectation) == level


def _target(tid: str) -> TargetInfo:
    version, build = tid.split("-", 1)
    return TargetInfo(tid, Version(version), build, f"{version}+{build}", f"{tid}.xml")


def _report(
    targets: Sequence[str], rows: Mapping[str, Sequence[tuple[Status, str] | None]]
) -> Report:
    """Per cell id, its (status, expectation) in each target (None: no cell)."""
    cells = [
        Cell(t, CellId.parse(cid), outcome[0], properties=((Prop.EXPECTATION.value, outcome[1]),))
        for cid, outcomes in rows.items()
        for t, outcome in zip(targets, outcomes, strict=True)
        if outcome is not None
    ]
    return Report.from_cells(tuple(_target(t) for t in targets), cells, ())


TARGETS = ("2.6.0-cpu", "2.9.1-cpu", "2.13.0-cpu")


@pytest.mark.parametrize(
    ("statuses", "level", "disagree"),
    [
        # declared supported: every failure disagrees; passes, skips and missing cells do not
        ([P, P, P], SUPPORTED, []),
        ([F, E, X], SUPPORTED, TARGETS),
        ([T, S, M], SUPPORTED, TARGETS[:1]),
        # declared not supported yet: its failures are expected, its passes disagree
        ([E, F, P], NOT_YET, TARGETS[2:]),
        ([E, S, M], NOT_YET, []),
        # no declared level (not an exportdb expectation): nothing to compare
        ([F, E, P], "expectedFailure", []),
    ],
)
def test_which_cells_disagree(statuses: list[Status], level: str, disagree: Sequence[str]) -> None:
    report = _report(TARGETS, {"exportdb:cond.x/aot[cpu]": [(s, level) for s in statuses]})
    misses = [m.target for row in resolve_claims(report) for m in row.misses]
    assert misses == list(disagree)


def test_only_exportdb_rows_are_compared() -> None:
    report = _report(TARGETS[:1], {"catalog:cond.x/aot[cpu]": [(E, SUPPORTED)]})
    assert resolve_claims(report) == ()


def test_targets_that_disagree_alike_share_a_group_and_a_changed_level_is_named() -> None:
    report = _report(
        TARGETS,
        {
            "exportdb:cond.x/aot[cpu]": [(P, NOT_YET), (P, NOT_YET), (E, SUPPORTED)],
            "exportdb:cond.x/serialize[cpu]": [(P, NOT_YET), (P, NOT_YET), (P, SUPPORTED)],
            "exportdb:cond.x/aot[cuda]": [None, (P, NOT_YET), None],
            "exportdb:cond.x/dynamic[cpu]": [(P, NOT_YET), (F, NOT_YET), (F, SUPPORTED)],
        },
    )
    (row,) = resolve_claims(report)
    spans = claim_spans(row)
    assert [s.targets for s in spans] == [("2.6.0-cpu",), ("2.9.1-cpu",), ("2.13.0-cpu",)]
    modes = (Mode.AOT, Mode.SERIALIZE, Mode.DYNAMIC)
    assert claim_text(row, (modes, (Device.CPU, Device.CUDA))) == (
        "declared levels differ",
        "2.6.0-cpu: declared NOT_SUPPORTED_YET: pass in all modes on cpu",
        "2.9.1-cpu: declared NOT_SUPPORTED_YET: pass in aot on cpu, cuda; serialize on cpu",
        "2.13.0-cpu: declared SUPPORTED: fail in dynamic on cpu; error in aot on cpu",
    )


def test_one_level_is_said_once_and_alike_targets_are_joined() -> None:
    report = _report(
        TARGETS,
        {
            "exportdb:cond.x/aot[cpu]": [(E, SUPPORTED), (P, SUPPORTED), (E, SUPPORTED)],
            "exportdb:cond.x/serialize[cpu]": [(P, SUPPORTED), (P, SUPPORTED), (P, SUPPORTED)],
        },
    )
    (row,) = resolve_claims(report)
    assert claim_text(row, ((Mode.AOT, Mode.SERIALIZE), (Device.CPU,))) == (
        "declared SUPPORTED",
        "2.6.0-cpu, 2.13.0-cpu: error in aot",
    )
