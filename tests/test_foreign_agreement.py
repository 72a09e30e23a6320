"""Upstream's pytest JUnit, read alone, tells the same story as the suite's own run.

``upstream-2.15.0.xml`` (../shared/reference/junit): pytest's JUnit of
upstream's test/export/test_hop.py on torch 2.15.0, CPU. The suite's run of
the same torch is ``agreement/suite-2.15.0-cu132-upstream.xml``: the matrix's
real output for 2.15.0-cu132 on a CPU machine (in its own folder, apart from
the suite/ files other tests read as a whole), its catalogue testcases left
out. Read alone, with no suite file to name 2.15's new HOPs, every foreign
name must split into a case the suite has, and every cell both measured
(same case, mode, device) must agree: both passing, or both failing.
"""

from __future__ import annotations

from pathlib import Path

from reference import reference_junit
from report_fixtures import read_report

from compat.junit import KNOWN_HOPS, KnownNames, parse_junit, resolve_foreign
from compat.load import TargetOverrides
from compat.model import Cell
from suites.schema import CellId, Mode, Status

SUITE_215 = Path(__file__).parent / "data/junit/agreement/suite-2.15.0-cu132-upstream.xml"
PASSING = {Status.PASS, Status.XPASS}
# pytest's xfail is a test that failed as upstream expected: it measured a failure.
FAILING = {Status.FAIL, Status.ERROR, Status.XFAIL, Status.TIMEOUT, Status.CRASH}
# The one cell the two disagree on: upstream's test expects aot to fail for register_hook
# (pytest xfail), the suite's aot passes. The suite's aot is export()'s default, non-strict
# in 2.15 (its cell says strict=false), and the suite's strict exports of the same case
# fail (dynamo cannot trace register_hook): upstream's aot test evidently exports strict.
STRICTNESS_DIFFERS = CellId.parse("upstream:register_hook.simple/aot[cpu]")


def _cells(paths: list[str], overrides: TargetOverrides | None = None) -> dict[CellId, Cell]:
    return {c.id: c for c in read_report(paths, overrides=overrides).cells}


def test_read_alone_its_cases_are_the_suites() -> None:
    upstream = str(reference_junit("upstream-2.15.0.xml"))
    foreign = _cells([], TargetOverrides(((upstream, "2.15.0"),)))
    suite = _cells([str(SUITE_215)])
    theirs = {c.case for c in foreign}
    ours = {c.case for c in suite}
    assert len(theirs) == 11 and theirs <= ours
    # The suite's other 5 cases (flex_attention, its backward's two variants,
    # inline_asm_elementwise, local_map_hop) have no float32 on cpu in hop_db: upstream's
    # test is never made for them there, and the suite records why.
    for cell_id, cell in suite.items():
        expectation = dict(cell.properties).get("expectation", "")
        assert (cell_id.case in theirs) == ("no-float32-on-cpu" not in expectation), cell_id


def test_read_alone_the_names_split_the_same_without_2_15s_hops() -> None:
    path = reference_junit("upstream-2.15.0.xml")
    (doc,) = parse_junit(path.read_bytes(), str(path))
    older = KnownNames(hops=KNOWN_HOPS - {"switch", "flex_gemm"})
    assert [c.id for c in resolve_foreign(doc.raw, older).cells] == [
        c.id for c in resolve_foreign(doc.raw).cells
    ]


def test_read_alone_its_cells_agree_with_the_suites_where_both_measured() -> None:
    upstream = str(reference_junit("upstream-2.15.0.xml"))
    foreign = _cells([], TargetOverrides(((upstream, "2.15.0"),)))
    suite = _cells([str(SUITE_215)])
    compared = [(theirs, suite[cell_id]) for cell_id, theirs in foreign.items()]
    assert len(compared) == 44  # 11 cases x the 4 seed modes on cpu: all in both
    agree = [t for t, o in compared if {t.status, o.status} <= PASSING]
    agree += [t for t, o in compared if {t.status, o.status} <= FAILING]
    disagree = {t.id for t, _ in compared} - {t.id for t in agree}
    assert (len(agree), disagree) == (43, {STRICTNESS_DIFFERS})
    ours = suite[STRICTNESS_DIFFERS]
    assert (foreign[STRICTNESS_DIFFERS].status, ours.status) == (Status.XFAIL, Status.PASS)
    assert dict(ours.properties)["strict"] == "false"
    strict = [c for i, c in suite.items() if i.case == ours.id.case and i.mode is not Mode.AOT]
    assert {c.status for c in strict if dict(c.properties)["strict"] == "true"} == {Status.ERROR}
