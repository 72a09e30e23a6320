"""compat.overview: per HOP the modes in which it passes, and per mode the share of cells."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from packaging.version import Version
from report_fixtures import read_report

from compat.model import Cell, Report, TargetInfo
from compat.overview import HopPoint, ModeRate, resolve_hop_overview, resolve_pass_rates
from compat.timeline import spans_text, version_names
from suites.schema import CellId, Mode, Prop, Status

P, E, S, M, XF = Status.PASS, Status.ERROR, Status.SKIP, Status.MISSING, Status.XFAIL
TWO_CASES = Path(__file__).parent / "data" / "junit" / "timeline"
CPU = ["2.6.0-cpu", "2.9.1-cpu", "2.13.0-cpu"]
ONLY_CUDA = ((Prop.EXPECTATION.value, "onlyCUDA"),)


def _target(tid: str) -> TargetInfo:
    version, build = tid.split("-", 1)
    return TargetInfo(tid, Version(version), build, f"{version}+{build}", f"{tid}.xml")


def _report(
    targets: Sequence[str],
    rows: Mapping[str, Sequence[Status | None]],
    expected: frozenset[tuple[str, str]] = frozenset(),
) -> Report:
    cells = [
        Cell(t, CellId.parse(cid), s, properties=ONLY_CUDA if (t, cid) in expected else ())
        for cid, statuses in rows.items()
        for t, s in zip(targets, statuses, strict=True)
        if s is not None
    ]
    return Report.from_cells(tuple(_target(t) for t in targets), cells, ())


@pytest.mark.parametrize(
    ("passing", "ran", "state", "grade"),
    [(6, 6, "6/6", "all"), (4, 6, "4/6", "some"), (0, 6, "0/6", "none"), (0, 0, "—", "idle")],
)
def test_hop_point_state_and_grade(passing: int, ran: int, state: str, grade: str) -> None:
    point = HopPoint("t", passing, ran)
    assert (point.state, point.grade, point.all_pass) == (state, grade, grade == "all")


def test_a_mode_passes_only_when_every_case_that_ran_passes() -> None:
    report = _report(
        CPU,
        {
            "catalog:cond.a/aot[cpu]": [P, P, P],
            "catalog:cond.b/aot[cpu]": [E, P, P],
            "catalog:cond.a/serialize[cpu]": [E, E, P],
            "catalog:cond.b/serialize[cpu]": [S, S, S],  # skipped: did not run
            "upstream:cond.c/retrace[cpu]": [M, M, P],  # missing: did not run
        },
    )
    (cond,) = resolve_hop_overview(report)
    assert (cond.hop, cond.cases) == ("cond", 3)
    assert [p.state for p in cond.points] == ["0/2", "1/2", "3/3"]
    (line,) = cond.families
    assert (line.family, line.since, line.at_oldest) == ("cpu", "2.13.0-cpu", False)
    assert (
        spans_text(line.spans, version_names(report.targets))
        == "0/2 ≤2.6.0 → 1/2 2.9.1 → 3/3 ≥2.13.0"
    )


def test_expected_failures_do_not_count() -> None:
    cid = "upstream:flex_attention.simple/aot[cpu]"
    report = _report(
        CPU,
        {cid: [E, E, P], "upstream:flex_attention.simple/retrace[cpu]": [P, P, P]},
        expected=frozenset({("2.6.0-cpu", cid), ("2.9.1-cpu", cid)}),
    )
    (hop,) = resolve_hop_overview(report)
    assert [p.state for p in hop.points] == ["1/1", "1/1", "2/2"]
    assert (hop.families[0].since, hop.families[0].at_oldest) == ("2.6.0-cpu", True)


def test_since_is_for_good_and_none_while_the_newest_fails() -> None:
    report = _report(
        CPU, {"catalog:map.x/aot[cpu]": [P, E, P], "catalog:scan.x/aot[cpu]": [P, P, E]}
    )
    map_, scan = resolve_hop_overview(report)
    assert map_.families[0].since == "2.13.0-cpu"
    assert scan.families[0].since is None


def test_a_hop_absent_in_a_version_has_no_state_there() -> None:
    report = _report(CPU, {"catalog:scan.x/aot[cpu]": [M, P, P]})
    (scan,) = resolve_hop_overview(report)
    assert [p.state for p in scan.points] == ["—", "1/1", "1/1"]
    assert (scan.families[0].since, scan.families[0].at_oldest) == ("2.9.1-cpu", True)


def test_pass_rates_per_mode_leave_out_what_did_not_run() -> None:
    report = _report(
        CPU,
        {
            "catalog:cond.a/aot[cpu]": [P, P, XF],
            "catalog:cond.b/aot[cpu]": [E, S, P],
            "catalog:cond.a/serialize[cpu]": [M, P, P],
        },
    )
    assert resolve_pass_rates(report) == (
        ModeRate(Mode.AOT, (("2.6.0-cpu", 1, 2), ("2.9.1-cpu", 1, 1), ("2.13.0-cpu", 1, 2))),
        ModeRate(Mode.SERIALIZE, (("2.6.0-cpu", 0, 0), ("2.9.1-cpu", 1, 1), ("2.13.0-cpu", 1, 1))),
    )


def test_real_associative_scan() -> None:
    report = read_report([str(TWO_CASES)])
    hops = {h.hop: h for h in resolve_hop_overview(report)}
    names = version_names(report.targets)
    cuda, cpu = hops["associative_scan"].families
    assert spans_text(cuda.spans, names) == (
        "— ≤2.3.1 → 0/6 2.4.1 → 6/6 2.5.1 → 0/6 2.7.1–2.8.0 → 6/6 ≥2.9.1"  # noqa: RUF001
    )
    assert (cuda.since, cpu.since) == ("2.9.1-cu128", "2.13.0-cpu")
