"""``python -m suites`` end to end: real worker, real exports, real JUnit files.

Runs are kept small with --hop filters; the planted rows (HOP_SUITE_PLANTED=1)
provide a case that segfaults and one that hangs, and HOP_SUITE_PLANTED_FLAKY
one that fails every second time.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from suites import cases, recipe  # noqa: E402
from suites.cases import PLANTED_FIFO_ENV, PLANTED_FLAKY_ENV  # noqa: E402
from suites.groups import units  # noqa: E402
from suites.runner import RunConfig, _ordered  # noqa: E402
from suites.schema import (  # noqa: E402
    DEFAULT_MODES,
    JUNIT_ELEMENT,
    REPRO_STATUSES,
    CellId,
    Device,
    Mode,
    Prop,
    Source,
    Status,
    SuiteProp,
)
from suites.worker import WorkerConfig  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
HANG_LIMIT = 20  # s; well above what a real catalogue case takes, well below the test timeout


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    junit: Path


@dataclass(frozen=True)
class Cell:
    id: CellId
    status: Status
    props: dict[str, str]


def _suite(
    tmp: Path, *args: str, planted: bool = False, timeout: float = 600, **env_extra: str
) -> Run:
    junit = tmp / "junit.xml"
    env = {**os.environ, "HOP_SUITE_PLANTED": "1" if planted else "0", **env_extra}
    proc = subprocess.run(
        [sys.executable, "-m", "suites", "--junit", str(junit), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr, junit)


def _read(junit: Path) -> tuple[ET.Element, dict[str, str], list[Cell]]:
    root = ET.parse(junit).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    assert suite is not None
    props = {p.get("name", ""): p.get("value", "") for p in suite.iterfind("properties/property")}
    cells = []
    for case in suite.iterfind("testcase"):
        cell = CellId.from_junit(case.get("classname", ""), case.get("name", ""))
        cprops = {
            p.get("name", ""): p.get("value", "") for p in case.iterfind("properties/property")
        }
        cells.append(Cell(cell, Status(cprops[Prop.STATUS]), cprops))
    return suite, props, cells


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """One run of: a segfaulting case, a hanging case, then a real while_loop case."""
    tmp = tmp_path_factory.mktemp("planted")
    args = ("--source", "catalog", "--hop", "_planted*", "--hop", "while_loop.simple")
    return _suite(tmp, *args, "--timeout", str(HANG_LIMIT), "--target", "t-1", planted=True)


def test_planted_run_finishes_and_summarises(planted_run: Run) -> None:
    assert planted_run.returncode == 0, planted_run.stderr
    assert f"hop-suite[t-1]: {3 * len(DEFAULT_MODES)} cells in 3 cases" in planted_run.stdout
    assert "[3/3] " in planted_run.stderr
    assert "catalog:while_loop.simple: pass" in planted_run.stderr


@pytest.mark.parametrize(
    ("hop", "status", "first_reason"),
    [
        ("_planted_crash", Status.CRASH, "the interpreter died (signal SIGSEGV) in this cell"),
        (
            "_planted_hang",
            Status.TIMEOUT,
            f"the case ran past its {HANG_LIMIT} s limit in this cell",
        ),
    ],
)
def test_a_planted_case_costs_exactly_its_own_cells(
    planted_run: Run, hop: str, status: Status, first_reason: str
) -> None:
    _, _, cells = _read(planted_run.junit)
    mine = [c for c in cells if c.id.hop == hop]
    assert [c.id.mode for c in mine] == list(DEFAULT_MODES)
    assert {c.status for c in mine} == {status}
    # One child per unit (torch.export.export's modes; the pre-dispatch export's; dynamic's
    # own): the first cell of each tells the story, the others point at it.
    firsts = {unit[0] for unit in units([c.id for c in mine])}
    assert len(firsts) == 3
    by_id = {c.id: c for c in mine}
    assert all(by_id[c].props[Prop.REASON].startswith(first_reason) for c in firsts)
    rest = [c for c in mine if c.id not in firsts]
    assert all(c.props[Prop.REASON].startswith("not run: ") for c in rest)
    others = [c for c in cells if c.id.hop != hop]
    assert len(others) == 2 * len(DEFAULT_MODES) and status not in {c.status for c in others}


@pytest.mark.parametrize(
    ("classname", "kind", "words"),
    [
        ("catalog._planted_crash.segfault", "crash", "Segmentation fault"),
        # The worker's stacks, dumped on SIGUSR1 before it is killed, show where it hung.
        ("catalog._planted_hang.sleep", "timeout", "build_planted_hang"),
    ],
)
def test_the_detail_holds_the_workers_last_words(
    planted_run: Run, classname: str, kind: str, words: str
) -> None:
    root = ET.parse(planted_run.junit).getroot()
    error = root.find(f".//testcase[@classname='{classname}'][@name='aot[cpu]']/error")
    assert error is not None and error.get("type") == kind
    assert words in (error.text or "")


def test_the_real_case_after_a_crash_and_a_hang_ran_normally(planted_run: Run) -> None:
    _, _, cells = _read(planted_run.junit)
    real = {c.id.mode: c for c in cells if c.id.hop == "while_loop"}
    assert set(real) == set(DEFAULT_MODES)
    assert real[Mode.AOT].status is Status.PASS
    assert real[Mode.AOT].props[Prop.SAMPLES] == "1"


def test_while_loop_serialize_records_carried_inputs_before_and_after(planted_run: Run) -> None:
    _, _, cells = _read(planted_run.junit)
    (serialize,) = [c for c in cells if c.id.hop == "while_loop" and c.id.mode is Mode.SERIALIZE]
    assert serialize.props[Prop.CARRIED_BEFORE] == "tuple"
    assert serialize.props[Prop.CARRIED_AFTER] in ("tuple", "list")
    # The seed's behaviour is expected: reproduced (xfail) or gone (xpass).
    assert serialize.status in (Status.XFAIL, Status.XPASS)
    if serialize.props[Prop.CARRIED_AFTER] == "list":
        assert "while_loop.serde-tuple-to-list" in serialize.props[Prop.BEHAVIOURS]


def test_cells_that_did_not_pass_carry_their_cases_facts_and_only_they(
    planted_run: Run,
) -> None:
    _, _, cells = _read(planted_run.junit)
    planted = {c.hop: c for c in cases.planted({})}
    for cell in cells:
        facts = recipe.case_facts(planted[cell.id.hop]) if cell.id.hop in planted else None
        if cell.status not in REPRO_STATUSES:
            assert Prop.CASE_SOURCE not in cell.props, cell.id
        elif facts is not None:  # read back from the JUnit as written, newlines and all
            assert {k: cell.props.get(k) for k in facts} == facts, cell.id
    crash = next(c for c in cells if c.status is Status.CRASH)
    assert crash.props[Prop.CASE_BUILD] == "build_planted_crash"
    assert "faulthandler._sigsegv()" in crash.props[Prop.CASE_SOURCE]
    timeout = next(c for c in cells if c.status is Status.TIMEOUT)
    assert timeout.props[Prop.CASE_BUILD] == "functools.partial(build_planted_hang, fifo=None)"
    real = [c for c in cells if c.id.hop == "while_loop"]
    assert any(Prop.CASE_SOURCE in c.props for c in real) == any(
        c.status in REPRO_STATUSES for c in real
    )


def test_suite_properties_describe_the_torch(planted_run: Run) -> None:
    suite, props, cells = _read(planted_run.junit)
    assert suite.get("name") == "hop-suite[t-1]"
    assert props[SuiteProp.TARGET] == "t-1"
    assert props[SuiteProp.TORCH_VERSION] == torch.__version__
    assert props[SuiteProp.DEVICES].split(",")[0] == "cpu"
    assert props[SuiteProp.AOT_STRICT] in ("true", "false")
    hops = props[SuiteProp.REGISTERED_HOPS].split(",")
    assert hops == sorted(hops) and {"cond", "while_loop"} <= set(hops)
    assert SuiteProp.HOP_DB not in props  # upstream was not asked for
    assert SuiteProp.INTERRUPTED not in props
    assert suite.get("tests") == str(len(cells)) == str(3 * len(DEFAULT_MODES))
    errors = [c for c in cells if JUNIT_ELEMENT[c.status][0] == "error"]
    assert suite.get("errors") == str(len(errors))
    # crash and timeout, plus what this torch gets wrong
    assert len(errors) >= 2 * len(DEFAULT_MODES)


def _unit(mode: Mode) -> tuple[CellId, ...]:
    return (CellId(Source.CATALOG, "cond", "simple", mode, Device.CPU),)


def test_a_units_limit_is_its_modes_own_else_the_timeout() -> None:
    config = RunConfig(WorkerConfig(sources=()), timeout=300, mode_timeouts={Mode.AOTI: 900})
    assert [config.limit(_unit(m)) for m in (Mode.AOTI, Mode.AOT, Mode.DYNAMIC)] == [900, 300, 300]


def test_the_aoti_limit_stops_aoti_units_only_and_the_scratch_goes_with_the_run(
    tmp_path: Path,
) -> None:
    # The planted hang in aot and aoti at once, each unit in its own child: each is stopped
    # at its own mode's limit. No --scratch: the run makes a temporary one, then removes it.
    temp = tmp_path / "temp"
    temp.mkdir()
    args = ("--source", "catalog", "--hop", "_planted_hang*", "--mode", "aot", "--mode", "aoti")
    args += ("--timeout", "12", "--aoti-timeout", "3", "--jobs", "2", "--no-recheck")
    run = _suite(tmp_path, *args, planted=True, TMPDIR=str(temp))
    assert run.returncode == 0, run.stderr
    cells = {c.id.mode: c for c in _read(run.junit)[2]}
    assert {m: c.status for m, c in cells.items()} == {
        Mode.AOT: Status.TIMEOUT,
        Mode.AOTI: Status.TIMEOUT,
    }
    assert cells[Mode.AOT].props[Prop.REASON].startswith("the case ran past its 12 s limit")
    assert cells[Mode.AOTI].props[Prop.REASON].startswith("the case ran past its 3 s limit")
    assert list(temp.iterdir()) == []


# The catalogue's first cond, while_loop and associative_scan rows: five cases.
ORDER_HOPS = ("cond.simple", "cond.parameter", "while_loop.simple", "while_loop.closure")
ORDER_HOPS += ("associative_scan.cumsum",)
ORDER_CASES = ("--source", "catalog", *(a for h in ORDER_HOPS for a in ("--hop", h)))
ORDER_CASES += ("--no-recheck",)


def _outcomes(junit: Path) -> dict[CellId, tuple[Status, str | None]]:
    return {c.id: (c.status, c.props.get(Prop.SIGNATURE)) for c in _read(junit)[2]}


def test_cells_do_not_depend_on_the_order_they_ran_in(tmp_path: Path) -> None:
    runs = []
    for seed in ("1", "2"):
        run = _suite(tmp_path / seed, *ORDER_CASES, "--shuffle", seed, "--jobs", "2")
        assert run.returncode == 0, run.stderr
        runs.append(run)
    first, second = (_outcomes(r.junit) for r in runs)
    assert len(first) == 5 * len(DEFAULT_MODES) and first == second
    cases: dict[str, list[CellId]] = {}
    for cell in sorted(first):
        cases.setdefault(cell.case, []).append(cell)
    plan = tuple((case, tuple(cells)) for case, cells in cases.items())
    assert _ordered(plan, 1) != _ordered(plan, 2), "the two seeds ran the units in one order"


def test_a_cell_whose_two_runs_disagree_is_marked_flaky(tmp_path: Path) -> None:
    counter = str(tmp_path / "builds")
    args = ("--source", "catalog", "--hop", "_planted_flaky*", "--mode", "aot")
    first = _suite(tmp_path, *args, **{PLANTED_FLAKY_ENV: counter})
    assert first.returncode == 0, first.stderr
    assert Prop.FLAKY not in _read(first.junit)[2][0].props
    # The same file again: the build fails now, differs from the first run, runs once more
    # (and passes): two runs that disagree.
    second = _suite(tmp_path, *args, **{PLANTED_FLAKY_ENV: counter})
    (cell,) = _read(second.junit)[2]
    assert cell.status is Status.ERROR
    assert cell.props[Prop.FLAKY] == (
        "error: RuntimeError: this build fails every second time | pass"
    )


def _wait_readable(fd: int, timeout: float) -> bool:
    """Whether ``fd`` has something to read (or has ended) within ``timeout`` seconds."""
    ready, _, _ = select.select([fd], [], [], max(timeout, 0.0))
    return bool(ready)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _stop_inside_the_hang(
    tmp_path: Path, stop: Callable[[subprocess.Popen[str]], None]
) -> tuple[int, str, Path]:
    """Run the planted cases and ``stop`` the suite once the crash case is done and the
    hang has begun; its exit code, stdout and JUnit path."""
    junit, err, fifo = tmp_path / "junit.xml", tmp_path / "stderr.txt", tmp_path / "hang.fifo"
    # One child at a time: the crash's children end before the hang's first one starts.
    args = ["--source", "catalog", "--hop", "_planted*", "--timeout", "600", "--jobs", "1"]
    # The hang writes to this FIFO once it hangs. Opened first, without waiting for a writer,
    # so that select() waits for that line (Linux reports no hang-up before a writer came).
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    env = {**os.environ, "HOP_SUITE_PLANTED": "1", PLANTED_FIFO_ENV: str(fifo)}
    try:
        with err.open("w") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-m", "suites", "--junit", str(junit), *args],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                # The suite must see SIGINT as a terminal's Ctrl-C would deliver it, whatever
                # the disposition or signal mask this test process inherited (a background
                # job's SIGINT is ignored; a library may block it in this thread).
                preexec_fn=_default_sigint,
            )
        try:
            began = _wait_readable(reader, 300)
            assert began, f"the planted hang never began:\n{err.read_text()[-3000:]}"
            assert os.read(reader, 64) == b"hanging\n"
            stop(proc)
            stdout, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    finally:
        os.close(reader)
    return proc.returncode, stdout, junit


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_leaves_a_valid_junit(tmp_path: Path, sig: signal.Signals) -> None:
    code, stdout, junit = _stop_inside_the_hang(tmp_path, lambda proc: proc.send_signal(sig))
    assert code == 130
    assert "INTERRUPTED" in stdout
    _, props, cells = _read(junit)
    assert props[SuiteProp.INTERRUPTED] == (
        "SIGTERM" if sig == signal.SIGTERM else "KeyboardInterrupt"
    )
    assert Counter(c.id.hop for c in cells) == {"_planted_crash": len(DEFAULT_MODES)}


def test_a_killed_run_leaves_a_junit_that_says_it_is_incomplete(tmp_path: Path) -> None:
    workers: list[int] = []

    def kill(proc: subprocess.Popen[str]) -> None:
        workers.extend(_descendants(proc.pid))
        proc.kill()  # like the OOM killer: no handler runs, so there is no final write

    code, _, junit = _stop_inside_the_hang(tmp_path, kill)
    assert code == -signal.SIGKILL
    _, props, cells = _read(junit)
    assert (
        props[SuiteProp.INTERRUPTED]
        == f"incomplete: {len(DEFAULT_MODES)} of {2 * len(DEFAULT_MODES)} cells run"
    )
    assert Counter(c.id.hop for c in cells) == {"_planted_crash": len(DEFAULT_MODES)}
    # The worker and its hung child die with their parent instead of hanging on.
    assert len(workers) >= 2
    deadline = time.monotonic() + 30
    assert [pid for pid in workers if not _exits(pid, deadline - time.monotonic())] == []


def _exits(pid: int, timeout: float) -> bool:
    """Whether process ``pid`` (not a child of ours) has exited within ``timeout`` seconds."""
    try:
        fd = os.pidfd_open(pid)  # readable once the process has exited
    except ProcessLookupError:
        return True
    try:
        return _wait_readable(fd, timeout)
    finally:
        os.close(fd)


def _descendants(pid: int) -> list[int]:
    """Pids of the live children of ``pid``, their children, and so on (Linux /proc)."""
    found = _children(pid)
    return found + [d for child in found for d in _descendants(child)]


def _children(pid: int) -> list[int]:
    """Pids of the live children of ``pid`` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_exits_2_with_one_sentence(tmp_path: Path) -> None:
    run = _suite(tmp_path, "--device", "cuda", "--source", "catalog", "--hop", "cond")
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "cuda" in lines[0] and lines[0].endswith(".")
    assert not run.junit.exists()


def test_list_prints_cells_and_runs_nothing(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "suites", "--list", "--source", "catalog", "--hop", "cond.simple"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[0] == "catalog:cond.simple"  # then its oldest release and pattern
    cells = [CellId.parse(line.strip()) for line in lines[1:]]
    assert [c.mode for c in cells if c.device.value == "cpu"] == list(DEFAULT_MODES)


def test_junit_is_required_without_list() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "suites"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert "--junit" in proc.stderr
