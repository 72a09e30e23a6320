"""What the suite's JUnit says, read back from a real run on the installed torch.

The strict mode beside aot and non_strict, the evidence a while_loop
serialize cell records and the behaviours it is tagged with, the kind of gap
of a missing cell, and when and where the run happened.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

from suites.behaviours import BUILTIN, judgeable, resolve_status  # noqa: E402
from suites.cases import PLANTED_ENV  # noqa: E402
from suites.junit_xml import junit_timestamp  # noqa: E402
from suites.schema import DEFAULT_MODES, CellId, Gap, Mode, Prop, Status, SuiteProp  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CARRIED, TUPLE_TO_LIST = BUILTIN
OLD_MESSAGE = "operands must be a tuple but got <class 'list'>"  # torch 2.3.1's wording


@dataclass(frozen=True)
class Run:
    started: datetime
    ended: datetime
    suite: ET.Element
    props: dict[str, str]
    cells: dict[CellId, dict[str, str]]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """cond.simple, both while_loop cases and the two planted gaps (about 30 s on 2 cores)."""
    junit = tmp_path_factory.mktemp("story") / "t.xml"
    hops = ("cond.simple", "while_loop.simple", "while_loop.closure", "_gap_planted*")
    args = ["--junit", str(junit), "--target", "t-story", "--source", "catalog", "--no-recheck"]
    args += [a for hop in hops for a in ("--hop", hop)]
    started = datetime.now(UTC).replace(microsecond=0)
    proc = subprocess.run(
        [sys.executable, "-m", "suites", *args],
        cwd=REPO,
        env={**os.environ, PLANTED_ENV: "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    cells = {}
    for case in suite.iterfind("testcase"):
        cell = CellId.from_junit(case.get("classname", ""), case.get("name", ""))
        cells[cell] = {p.get("name", ""): p.get("value", "") for p in case.iterfind(".//property")}
    props = {p.get("name", ""): p.get("value", "") for p in suite.iterfind("properties/property")}
    return Run(started, datetime.now(UTC), suite, props, cells)


def _cases(run: Run) -> set[str]:
    return {c.case for c in run.cells}


def _cell(run: Run, case: str, mode: Mode) -> dict[str, str]:
    (props,) = [p for c, p in run.cells.items() if c.case == case and c.mode is mode]
    return props


# ---------------------------------------------------------------- strict


def test_every_case_has_a_strict_cell_right_after_aot(run: Run) -> None:
    for case in _cases(run):
        modes = [c.mode for c in run.cells if c.case == case]
        assert modes == list(DEFAULT_MODES)
        assert modes.index(Mode.STRICT) == modes.index(Mode.AOT) + 1


@pytest.mark.parametrize("case", ["catalog:cond.simple", "catalog:while_loop.simple"])
def test_strict_exports_strictly_and_aot_records_its_default(run: Run, case: str) -> None:
    assert _cell(run, case, Mode.STRICT)[Prop.STRICT] == "true"
    assert _cell(run, case, Mode.NON_STRICT)[Prop.STRICT] == "false"
    assert _cell(run, case, Mode.AOT)[Prop.STRICT] == run.props[SuiteProp.AOT_STRICT]


@pytest.mark.parametrize("case", ["catalog:cond.simple", "catalog:while_loop.closure"])
def test_the_modes_sharing_an_export_each_ran_and_compared_on_their_own(
    run: Run, case: str
) -> None:
    # aot makes the same call as strict (through 2.7) or non_strict (from 2.8): one export,
    # yet each mode ran the program on every sample and compared it itself ("samples" counts
    # the samples a mode ran and compared; tests/test_suites_cases.py makes one of the two
    # fail while the other passes).
    partner = Mode.STRICT if run.props[SuiteProp.AOT_STRICT] == "true" else Mode.NON_STRICT
    aot, other = _cell(run, case, Mode.AOT), _cell(run, case, partner)
    assert aot[Prop.MODE] == "aot" and other[Prop.MODE] == partner.value
    assert aot[Prop.SAMPLES] == other[Prop.SAMPLES] != "0"


# ---------------------------------------------------------------- evidence


def test_serialize_while_loop_records_tuple_to_list_and_passes_here(run: Run) -> None:
    for case in ("catalog:while_loop.simple", "catalog:while_loop.closure"):
        props = _cell(run, case, Mode.SERIALIZE)
        assert (props[Prop.CARRIED_BEFORE], props[Prop.CARRIED_AFTER]) == ("tuple", "list")
        # torch 2.13 runs the loaded list; the seed's exception is gone, the cause is not.
        assert props[Prop.STATUS] == Status.XPASS
        assert Prop.STEP not in props and Prop.ERROR_TYPE not in props
        assert props[Prop.BEHAVIOURS] == TUPLE_TO_LIST.id
        assert judgeable(CARRIED, Status(props[Prop.STATUS]), None, props)


def test_the_2_3_message_with_this_cells_evidence_is_the_carried_inputs_behaviour(
    run: Run,
) -> None:
    # torch 2.3.1 raised this at the run after save/load, with the same tuple -> list cause.
    props = {**_cell(run, "catalog:while_loop.simple", Mode.SERIALIZE), Prop.STEP.value: "run"}
    status, tags = resolve_status(
        Status.ERROR, "while_loop", "serialize", "RuntimeError", OLD_MESSAGE, props
    )
    assert (status, tags) == (Status.XFAIL, (CARRIED.id, TUPLE_TO_LIST.id))
    # The same words where the carried inputs stayed a tuple: another cause, another error.
    kept = {**props, Prop.CARRIED_AFTER.value: "tuple"}
    status, tags = resolve_status(
        Status.ERROR, "while_loop", "serialize", "RuntimeError", OLD_MESSAGE, kept
    )
    assert (status, tags) == (Status.ERROR, ())


# ---------------------------------------------------------------- gaps


@pytest.mark.parametrize(
    ("case", "gap", "words"),
    [
        ("catalog:_gap_planted.unregistered", Gap.HOP_NOT_REGISTERED, "does not register"),
        ("catalog:_gap_planted.api_absent", Gap.PUBLIC_API_ABSENT, "(as cond), but its public"),
    ],
)
def test_missing_cells_say_which_gap(run: Run, case: str, gap: Gap, words: str) -> None:
    cells = [p for c, p in run.cells.items() if c.case == case]
    assert len(cells) == len(DEFAULT_MODES)
    for props in cells:
        assert props[Prop.STATUS] == Status.MISSING
        assert props[Prop.GAP] == gap
        assert words in props[Prop.REASON] and torch.__version__ in props[Prop.REASON]


def test_only_missing_cells_carry_a_gap(run: Run) -> None:
    assert all((Prop.GAP in p) is (p[Prop.STATUS] == Status.MISSING) for p in run.cells.values())


# ---------------------------------------------------------------- provenance


def test_the_suite_says_when_and_where_it_ran(run: Run) -> None:
    run_date = datetime.fromisoformat(run.props[SuiteProp.RUN_DATE])
    assert run_date.utcoffset() == timedelta(0)
    assert run.started <= run_date <= run.ended
    assert run.props[SuiteProp.HOST] == socket.gethostname()
    names = list(run.props)
    assert names.index(SuiteProp.RUN_DATE) == names.index(SuiteProp.SUITE_VERSION) + 1


def test_the_testsuite_element_has_junit_timestamp_and_hostname(run: Run) -> None:
    assert run.suite.get("timestamp") == junit_timestamp(run.props[SuiteProp.RUN_DATE])
    assert run.suite.get("hostname") == socket.gethostname()
