"""The parent process: hands units of cells to a torch worker, survives hangs and crashes.

Standard library only; torch lives in the worker (``suites.worker``), which
imports it once and forks a fresh child for every unit (the cells of one
case and device that share an export, ``suites.groups``), up to ``jobs``
children at once. A unit that runs past its time limit has its child
killed and its unfinished cells marked ``timeout``; a child that dies marks
them ``crash``; either way only that unit's cells pay. Units run in plan
order, or shuffled with a seed; the results never depend on it. A unit's
time limit is its mode's own where it has one (aoti: ``--aoti-timeout``),
else ``--timeout``. The workers find the run's scratch folder (aoti's
packages and compile cache) in their environment: the one asked for, or a
temporary folder removed after the run. Cells whose
outcome differs from the previous run's JUnit run once more in a fresh
child, and where the two runs disagree the cell is marked ``flaky``. The
JUnit file is rewritten atomically after every unit, and once more on
Ctrl-C or SIGTERM with the ``interrupted`` suite property. Every cell that did
not pass carries its case's facts (``suites.recipe``), which the describing
worker sends with the plan.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import queue
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from suites.groups import Unit, units
from suites.junit_xml import Testsuite, junit_document, stamped, suite_name, write_junit
from suites.previous import load_outcomes, outcome
from suites.results import CellResult, make_result
from suites.schema import REPRO_STATUSES, CellId, Mode, Prop, Status, SuiteProp
from suites.scratch import scratch_env
from suites.scrub import scrub_credentials
from suites.worker import WorkerConfig

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent
LOG_TAIL_CHARS = 3000

Plan = tuple[tuple[str, tuple[CellId, ...]], ...]
Facts = Mapping[str, Mapping[str, str]]  # case id -> {property: value}


class SuiteError(Exception):
    """The run could not go on; ``exit_code`` is what the CLI returns."""

    exit_code = 3


class UsageError(SuiteError):
    """The request cannot be met in this environment (e.g. cuda without a GPU)."""

    exit_code = 2


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C."""


@dataclass(frozen=True)
class RunConfig:
    """One run: what the worker loads, where the JUnit goes, the time limits."""

    worker: WorkerConfig
    junit: Path | None = None
    timeout: float = 300.0  # per unit (one child), seconds
    # Per mode, where it is not ``timeout`` (aoti compiles C++: --aoti-timeout).
    mode_timeouts: Mapping[Mode, float] = field(default_factory=dict)
    startup_timeout: float = 900.0  # importing torch and hop_db, seconds
    python: str = sys.executable
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    jobs: int = 1  # children at once
    shuffle: int | None = None  # seed of the unit order; None: plan order
    previous: Path | None = None  # an earlier JUnit of this target: changed cells run again
    scratch: Path | None = None  # aoti packages and compile cache; None: a temporary folder

    def limit(self, unit: Unit) -> float:
        """The time limit of one unit's child: its mode's own, else ``timeout``."""
        return self.mode_timeouts.get(unit[0].mode, self.timeout)


@dataclass(frozen=True)
class RunOutcome:
    """What a run produced, finished or not."""

    name: str
    properties: Mapping[str, str]
    plan: Plan
    results: tuple[CellResult, ...]
    seconds: float
    interrupted: str | None = None


class _Worker:
    """One worker process and the JSON events it streams."""

    def __init__(self, config: RunConfig, worker: WorkerConfig, log: Path) -> None:
        env = dict(config.env)
        # The worker must import this very package, wherever the parent found it.
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(_PACKAGE_ROOT), env.get("PYTHONPATH")) if p
        )
        self.log = log
        with log.open("ab") as err:
            self.proc = subprocess.Popen(
                [config.python, "-m", "suites.worker", worker.to_json()],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                env=env,
                text=True,
                encoding="utf-8",
                errors="replace",
                # Its own session: Ctrl-C reaches the parent only, which then stops it.
                start_new_session=os.name == "posix",
            )
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with contextlib.suppress(ValueError):
                self.events.put(json.loads(line))
        self.events.put(None)

    def next_event(self, timeout: float) -> dict[str, Any] | None:
        """The next event; None once the worker has exited; queue.Empty on timeout."""
        return self.events.get(timeout=max(timeout, 0.0))

    def send(self, payload: Mapping[str, Any]) -> None:
        assert self.proc.stdin is not None
        # A dead worker shows up as end of events; nothing to do here.
        with contextlib.suppress(BrokenPipeError, OSError):
            self.proc.stdin.write(json.dumps(payload) + "\n")
            self.proc.stdin.flush()

    def death(self) -> str:
        """How the worker ended, e.g. ``signal SIGSEGV`` or ``exit code 1``."""
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.stop()
            code = self.proc.returncode
        if code is not None and code < 0:
            with contextlib.suppress(ValueError):
                return f"signal {signal.Signals(-code).name}"
        return f"exit code {code}"

    def stop(self, grace: float = 0.0) -> None:
        """End the worker: close its input, wait ``grace`` seconds, then kill its group."""
        with contextlib.suppress(OSError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=grace)
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if os.name == "posix":
                    os.killpg(self.proc.pid, signal.SIGKILL)
                else:
                    self.proc.kill()
            self.proc.wait()


def _log_size(log: Path) -> int:
    return log.stat().st_size if log.exists() else 0


def _log_tail(log: Path, since: int) -> str:
    with log.open("rb") as fh:
        fh.seek(since)
        text = fh.read().decode("utf-8", "replace")
    return scrub_credentials(text)[-LOG_TAIL_CHARS:]  # scrubbed before the cut can split a URL


def _start(config: RunConfig, worker: WorkerConfig, log: Path) -> tuple[_Worker, dict[str, Any]]:
    """A started worker and its first event (``hello`` or ``ready``)."""
    offset = _log_size(log)
    proc = _Worker(config, worker, log)
    try:
        event = proc.next_event(config.startup_timeout)
    except queue.Empty:
        proc.stop()
        raise SuiteError(
            f"the suite's worker did not start within {config.startup_timeout:g} s"
        ) from None
    except BaseException:
        proc.stop()
        raise
    if event is None:
        why = proc.death()
        raise SuiteError(
            f"the suite's worker ({config.python}) could not start ({why}):\n"
            + _log_tail(log, offset)
        )
    if event["event"] == "usage":
        proc.stop(grace=5)
        raise UsageError(event["message"])
    return proc, event


@contextlib.contextmanager
def _worker_log() -> Iterator[Path]:
    """A scratch file for the workers' stderr, read back for crash details."""
    fd, name = tempfile.mkstemp(prefix="hop-suite-worker-", suffix=".log")
    os.close(fd)
    try:
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def _plan(hello: Mapping[str, Any]) -> Plan:
    return tuple((case, tuple(CellId.parse(c) for c in cells)) for case, cells in hello["plan"])


def describe(config: RunConfig) -> tuple[dict[str, str], Plan]:
    """Suite properties and the plan, from a worker asked only to describe."""
    with _worker_log() as log:
        proc, hello = _start(config, replace(config.worker, describe=True, warm_up=False), log)
        proc.stop(grace=10)
    return dict(hello["properties"]), _plan(hello)


class _Session:
    """The current worker of a run: replaced whenever it dies."""

    def __init__(self, config: RunConfig, log: Path) -> None:
        self.config, self.log = config, log
        self.proc: _Worker | None = None

    def hello(self) -> dict[str, Any]:
        """Start the first worker, the one that describes the run."""
        self.proc, hello = _start(self.config, replace(self.config.worker, describe=True), self.log)
        return hello

    def worker(self) -> _Worker:
        """The current worker, or a fresh one that loads what the first did."""
        if self.proc is None:
            worker = replace(self.config.worker, describe=False)
            self.proc, _ = _start(self.config, worker, self.log)
        return self.proc

    def discard(self, grace: float = 0.0) -> None:
        """Stop the current worker and its children; the next ``worker()`` starts a fresh one."""
        if self.proc is not None:
            self.proc.stop(grace)
            self.proc = None


def _mark(
    results: dict[CellId, CellResult],
    pending: list[CellId],
    status: Status,
    seconds: float,
    first: str,
    rest: str,
    detail: str,
) -> None:
    """Give every pending cell of a unit that cannot go on ``status``; the first gets the story."""
    for i, cell in enumerate(pending):
        reason = first if i == 0 else rest
        props = {Prop.REASON.value: reason}
        if i == 0:
            results[cell] = make_result(cell, status, seconds, props, reason, detail)
        else:
            results[cell] = make_result(cell, status, 0.0, props, reason)


@dataclass
class _Flight:
    """One unit in a child: what it still owes (private and mutable: filled by events)."""

    unit: Unit
    log: Path
    started: float
    limit: float  # seconds
    pending: list[CellId]
    pid: int | None = None
    killed: bool = False


class _Pool:
    """Runs units in up to ``jobs`` children of the session's worker at once."""

    def __init__(self, session: _Session, logs: Path) -> None:
        self.session, self.logs = session, logs
        self.ids = itertools.count()

    def run(
        self,
        todo: list[Unit],
        results: dict[CellId, CellResult],
        done: Callable[[Unit], None] = lambda unit: None,
    ) -> None:
        """Run every unit of ``todo`` into ``results``; ``done`` after each."""
        jobs = max(1, self.session.config.jobs)
        flights: dict[int, _Flight] = {}
        while todo or flights:
            while todo and len(flights) < jobs:
                rid, flight = self._launch(todo.pop(0))
                flights[rid] = flight
            for flight in self._advance(flights, results):
                done(flight.unit)

    def _launch(self, unit: Unit) -> tuple[int, _Flight]:
        rid = next(self.ids)
        limit = self.session.config.limit(unit)
        flight = _Flight(unit, self.logs / f"{rid}.log", time.monotonic(), limit, list(unit))
        request = {
            "id": rid,
            "run": [str(c) for c in unit],
            "log": str(flight.log),
            "threads": _threads(self.session.config.jobs),
        }
        self.session.worker().send(request)
        return rid, flight

    def _advance(
        self, flights: dict[int, _Flight], results: dict[CellId, CellResult]
    ) -> list[_Flight]:
        """Wait for the next event; the flights it finished."""
        wait = min(f.started + f.limit for f in flights.values()) - time.monotonic()
        proc = self.session.worker()
        try:
            event = proc.next_event(wait)
        except queue.Empty:
            self._stop_overdue(flights)
            return []
        if event is None:  # the worker itself died, and its children with it
            why = proc.death()
            self.session.discard()
            for flight in flights.values():
                _give_up(flight, results, Status.CRASH, f"the worker died ({why})", "")
            finished = list(flights.values())
            flights.clear()
            return finished
        flight = flights[int(event["id"])]
        if event["event"] == "started":
            flight.pid = int(event["pid"])
        elif event["event"] == "cell":
            result = CellResult.from_json(event["result"])
            results[result.cell] = result
            flight.pending.remove(result.cell)
        elif event["event"] == "exit":
            del flights[int(event["id"])]
            self._finish(flight, event["how"], results)
            return [flight]
        return []

    def _stop_overdue(self, flights: dict[int, _Flight]) -> None:
        """Kill the child of every unit past its time limit, after asking for its stacks."""
        for flight in flights.values():
            if flight.pid is None or flight.killed:
                continue
            if time.monotonic() - flight.started >= flight.limit:
                _kill(flight.pid)
                flight.killed = True

    def _finish(self, flight: _Flight, how: str, results: dict[CellId, CellResult]) -> None:
        """Mark what a child left undone: timeout when it was stopped, else crash."""
        detail = _log_tail(flight.log, 0) if flight.log.exists() else ""
        flight.log.unlink(missing_ok=True)
        if not flight.pending:
            return
        if flight.killed:
            limit = f"the case ran past its {flight.limit:g} s limit"
            _give_up(flight, results, Status.TIMEOUT, limit, detail, "; its worker was stopped")
        else:
            _give_up(flight, results, Status.CRASH, f"the interpreter died ({how})", detail)


def _threads(jobs: int) -> int | None:
    """torch threads per child: the CPUs shared by ``jobs`` children; None leaves torch's own."""
    if jobs <= 1 or not hasattr(os, "sched_getaffinity"):
        return None
    # Children that each start one OpenMP thread per core would spin against each other.
    return max(1, len(os.sched_getaffinity(0)) // jobs)


def _kill(pid: int) -> None:
    """Ask a hung child for its Python stacks (into its log), then kill it."""
    with contextlib.suppress(OSError):
        if hasattr(signal, "SIGUSR1"):
            os.kill(pid, signal.SIGUSR1)
            time.sleep(1.0)
        os.kill(pid, signal.SIGKILL)


def _give_up(
    flight: _Flight,
    results: dict[CellId, CellResult],
    status: Status,
    what: str,
    detail: str,
    more: str = "",
) -> None:
    pending = flight.pending
    if pending:
        first, rest = f"{what} in this cell{more}", f"not run: {what} in {pending[0].name}"
        _mark(results, pending, status, time.monotonic() - flight.started, first, rest, detail)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _outcome(
    config: RunConfig,
    properties: Mapping[str, str],
    plan: Plan,
    results: Mapping[CellId, CellResult],
    started: float,
    interrupted: str | None = None,
    facts: Facts | None = None,
) -> RunOutcome:
    props = dict(properties)
    if interrupted:
        props[SuiteProp.INTERRUPTED.value] = interrupted
    name = suite_name(config.worker.target, props.get(SuiteProp.TORCH_VERSION.value))
    found = (results[c] for _, cells in plan for c in cells if c in results)
    ordered = tuple(_with_facts(r, facts or {}) for r in found)
    return RunOutcome(name, props, plan, ordered, time.monotonic() - started, interrupted)


def _with_facts(result: CellResult, facts: Facts) -> CellResult:
    """``result`` with its case's facts, if it did not pass."""
    if result.status not in REPRO_STATUSES:
        return result
    for key, value in facts.get(result.cell.case, {}).items():
        result = result.with_property(key, value)
    return result


def _write(config: RunConfig, outcome: RunOutcome) -> None:
    if config.junit is not None:
        cases = tuple(r.testcase() for r in outcome.results)
        suite = stamped(Testsuite(outcome.name, tuple(outcome.properties.items()), cases))
        write_junit(config.junit, junit_document([suite], outcome.name))


def run(config: RunConfig, progress: TextIO = sys.stderr) -> RunOutcome:
    """Run every planned cell; write the JUnit after each unit and at the end."""
    started = time.monotonic()
    properties: dict[str, str] = {}
    plan: Plan = ()
    facts: Facts = {}
    results: dict[CellId, CellResult] = {}
    interrupted: str | None = None
    failure: SuiteError | None = None
    with _scratch(config) as scratched, _worker_log() as log, _sigterm_as_interrupt():
        session = _Session(scratched, log)
        try:
            hello = session.hello()
            properties, plan = dict(hello["properties"]), _plan(hello)
            facts = hello.get("facts", {})
            previous = load_outcomes(config.previous, properties.get("torch_version", ""))
            _say(progress, f"{sum(len(c) for _, c in plan)} cells in {len(plan)} cases")
            with _unit_logs() as logs:
                pool = _Pool(session, logs)
                track = _Progress(config, progress, properties, plan, results, started, facts)
                pool.run(_ordered(plan, config.shuffle), results, track.unit_done)
                _recheck(pool, previous, results, progress)
        except KeyboardInterrupt as exc:
            interrupted = "SIGTERM" if isinstance(exc, Terminated) else "KeyboardInterrupt"
        except SuiteError as exc:
            if not plan:
                raise  # nothing ran: no JUnit to keep
            failure, interrupted = exc, f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        finally:
            session.discard(grace=0 if interrupted else 10)
    outcome = _outcome(config, properties, plan, results, started, interrupted, facts)
    _write(config, outcome)
    if failure is not None:
        raise failure
    return outcome


@contextlib.contextmanager
def _scratch(config: RunConfig) -> Iterator[RunConfig]:
    """``config`` with the scratch folder named in its workers' environment (suites.scratch);
    without one, a temporary folder that is removed after the run."""
    if config.scratch is not None:
        folder = config.scratch.resolve()
        folder.mkdir(parents=True, exist_ok=True)
        yield replace(config, env={**config.env, **scratch_env(folder)})
        return
    with tempfile.TemporaryDirectory(prefix="hop-suite-scratch-") as name:
        yield replace(config, env={**config.env, **scratch_env(Path(name))})


@contextlib.contextmanager
def _unit_logs() -> Iterator[Path]:
    """A scratch folder for each child's stdout and stderr, read back for crash details."""
    with tempfile.TemporaryDirectory(prefix="hop-suite-units-") as name:
        yield Path(name)


def _ordered(plan: Plan, seed: int | None) -> list[Unit]:
    """Every unit of the plan, in plan order or shuffled by ``seed``."""
    todo = [unit for _, cells in plan for unit in units(cells)]
    if seed is not None:
        random.Random(seed).shuffle(todo)
    return todo


class _Progress:
    """After each unit: the JUnit rewritten; after a case's last unit, its progress line."""

    def __init__(
        self,
        config: RunConfig,
        stream: TextIO,
        properties: Mapping[str, str],
        plan: Plan,
        results: Mapping[CellId, CellResult],
        started: float,
        facts: Facts,
    ) -> None:
        self.config, self.stream, self.properties = config, stream, properties
        self.plan, self.results, self.started, self.facts = plan, results, started, facts
        self.cells = {case: cells for case, cells in plan}
        self.left = {case: len(units(cells)) for case, cells in plan}
        self.first: dict[str, float] = {}
        self.cases_done = 0

    def unit_done(self, unit: Unit) -> None:
        total = sum(len(cs) for _, cs in self.plan)
        # Until the final write says otherwise, the file calls itself incomplete:
        # a run killed from outside (OOM, SIGKILL) leaves a file that says so.
        unfinished = f"incomplete: {len(self.results)} of {total} cells run"
        outcome = _outcome(
            self.config,
            self.properties,
            self.plan,
            self.results,
            self.started,
            unfinished,
            self.facts,
        )
        _write(self.config, outcome)
        case = unit[0].case
        self.left[case] -= 1
        if self.left[case] == 0:
            self.cases_done += 1
            line = _case_line(
                self.cases_done, len(self.plan), case, self.cells[case], self.results, self.started
            )
            _say(self.stream, line)


def _recheck(
    pool: _Pool,
    previous: Mapping[CellId, str],
    results: dict[CellId, CellResult],
    progress: TextIO,
) -> None:
    """Run once more, each in a fresh child, the cells whose outcome changed since ``previous``.

    Where the second run disagrees with the first, the cell is flaky: its
    result keeps the first outcome and carries both in the ``flaky`` property.
    A timeout is not run again: it would cost its whole time limit once more.
    """
    changed = [
        c
        for c, r in results.items()
        if c in previous and _outcome_of(r) != previous[c] and r.status is not Status.TIMEOUT
    ]
    if not changed:
        return
    _say(progress, f"{len(changed)} cells changed since the previous run: running them again")
    # In a fresh worker, not only a fresh child: some outcomes depend on the process's
    # memory layout (2.6.0's associative_scan error text follows ASLR), which every
    # child of one worker shares.
    pool.session.discard(grace=10)
    again: dict[CellId, CellResult] = {}
    by_case: dict[str, list[CellId]] = {}
    for cell in sorted(changed):
        by_case.setdefault(cell.case, []).append(cell)
    pool.run([u for cells in by_case.values() for u in units(cells)], again)
    for cell in changed:
        first, second = _outcome_of(results[cell]), _outcome_of(again[cell])
        if first != second:
            results[cell] = results[cell].with_property(Prop.FLAKY, f"{first} | {second}")


def _outcome_of(result: CellResult) -> str:
    return outcome(result.status.value, result.prop(Prop.SIGNATURE))


def _case_line(
    number: int,
    total: int,
    case: str,
    cells: tuple[CellId, ...],
    results: Mapping[CellId, CellResult],
    started: float,
) -> str:
    statuses = [results[c].status.value for c in cells if c in results]
    tally = " ".join(f"{s} {statuses.count(s)}" for s in dict.fromkeys(statuses))
    return f"[{number}/{total}] {case}: {tally} ({time.monotonic() - started:.1f} s into the run)"


def _say(stream: TextIO, line: str) -> None:
    print(line, file=stream, flush=True)
