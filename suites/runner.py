"""The parent process: drives a torch worker case by case, survives hangs and crashes.

Standard library only; torch lives in the worker (``suites.worker``), which
is started once and reused, so torch is imported once per worker, not per
case. A case that runs past its time limit has its worker killed and its
unfinished cells marked ``timeout``; a worker that dies marks them
``crash``; a worker that reports leaked global state is replaced. Either
way a fresh worker takes the next case. The JUnit file is rewritten
atomically after every case, and once more on Ctrl-C or SIGTERM with the
``interrupted`` suite property.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from suites.junit_xml import Testsuite, junit_document, suite_name, write_junit
from suites.results import CellResult, make_result
from suites.schema import CellId, Prop, Status, SuiteProp
from suites.scrub import scrub_credentials
from suites.worker import WorkerConfig

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent
LOG_TAIL_CHARS = 3000

Plan = tuple[tuple[str, tuple[CellId, ...]], ...]


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
    timeout: float = 300.0  # per case, seconds
    startup_timeout: float = 900.0  # importing torch and hop_db, seconds
    python: str = sys.executable
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


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

    def dump_stacks(self) -> None:
        """Ask a hung worker for its Python stacks (into the log), where signals allow."""
        if hasattr(signal, "SIGUSR1") and self.proc.poll() is None:
            with contextlib.suppress(OSError):
                os.kill(self.proc.pid, signal.SIGUSR1)
                time.sleep(1.0)

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
    """The current worker of a run: replaced whenever it cannot take the next cell."""

    def __init__(self, config: RunConfig, log: Path) -> None:
        self.config, self.log = config, log
        self.proc: _Worker | None = None

    def hello(self) -> dict[str, Any]:
        """Start the first worker, the one that describes the run."""
        self.proc, hello = _start(self.config, replace(self.config.worker, describe=True), self.log)
        return hello

    def worker(self, restart: WorkerConfig) -> _Worker:
        """The current worker, or a fresh one started with ``restart``."""
        if self.proc is None:
            self.proc, _ = _start(self.config, restart, self.log)
        return self.proc

    def discard(self, grace: float = 0.0) -> None:
        """Stop the current worker; the next ``worker()`` starts a fresh one."""
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
    """Give every pending cell of a case that cannot go on ``status``; the first gets the story."""
    for i, cell in enumerate(pending):
        reason = first if i == 0 else rest
        props = {Prop.REASON.value: reason}
        if i == 0:
            results[cell] = make_result(cell, status, seconds, props, reason, detail)
        else:
            results[cell] = make_result(cell, status, 0.0, props, reason)


def _run_case(
    session: _Session,
    cells: tuple[CellId, ...],
    restart: WorkerConfig,
    results: dict[CellId, CellResult],
) -> None:
    """Run one case's cells in the session's worker, replacing it when it cannot go on."""
    config, log = session.config, session.log
    pending = list(cells)
    budget = config.timeout
    while pending:
        proc = session.worker(restart)
        offset, started = _log_size(log), time.monotonic()
        last = started
        proc.send({"run": [str(c) for c in pending]})
        while True:
            try:
                event = proc.next_event(budget - (time.monotonic() - started))
            except queue.Empty:
                proc.dump_stacks()
                session.discard()
                limit = f"the case ran past its {config.timeout:g} s limit"
                _mark(
                    results,
                    pending,
                    Status.TIMEOUT,
                    time.monotonic() - last,
                    f"{limit} in this cell; its worker was stopped",
                    f"not run: {limit} in {pending[0].name}",
                    _log_tail(log, offset),
                )
                return
            if event is None:
                why = proc.death()
                session.discard()
                _mark(
                    results,
                    pending,
                    Status.CRASH,
                    time.monotonic() - last,
                    f"the interpreter died ({why}) in this cell",
                    f"not run: the interpreter died ({why}) in {pending[0].name}",
                    _log_tail(log, offset),
                )
                return
            if event["event"] == "cell":
                result = CellResult.from_json(event["result"])
                results[result.cell] = result
                pending.remove(result.cell)
                last = time.monotonic()
            elif event["event"] == "done":
                return
            elif event["event"] == "leaked":
                # The rest of the case gets a clean interpreter, and the rest of its budget.
                session.discard(grace=10)
                budget -= time.monotonic() - started
                break


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
) -> RunOutcome:
    props = dict(properties)
    if interrupted:
        props[SuiteProp.INTERRUPTED.value] = interrupted
    name = suite_name(config.worker.target, props.get(SuiteProp.TORCH_VERSION.value))
    ordered = tuple(results[c] for _, cells in plan for c in cells if c in results)
    return RunOutcome(name, props, plan, ordered, time.monotonic() - started, interrupted)


def _write(config: RunConfig, outcome: RunOutcome) -> None:
    if config.junit is not None:
        cases = tuple(r.testcase() for r in outcome.results)
        suite = Testsuite(outcome.name, tuple(outcome.properties.items()), cases)
        write_junit(config.junit, junit_document([suite], outcome.name))


def run(config: RunConfig, progress: TextIO = sys.stderr) -> RunOutcome:
    """Run every planned cell; write the JUnit after each case and at the end."""
    started = time.monotonic()
    properties: dict[str, str] = {}
    plan: Plan = ()
    results: dict[CellId, CellResult] = {}
    interrupted: str | None = None
    failure: SuiteError | None = None
    with _worker_log() as log, _sigterm_as_interrupt():
        session = _Session(config, log)
        try:
            hello = session.hello()
            properties, plan = dict(hello["properties"]), _plan(hello)
            devices = tuple(dict.fromkeys(c.device for _, cells in plan for c in cells))
            _say(progress, f"{sum(len(c) for _, c in plan)} cells in {len(plan)} cases")
            for index, (case, cells) in enumerate(plan):
                case_started = time.monotonic()
                # A replacement worker loads only the sources still ahead (hop_db costs seconds).
                sources = tuple(dict.fromkeys(c.source for _, cs in plan[index:] for c in cs))
                restart = replace(config.worker, sources=sources, devices=devices, describe=False)
                _run_case(session, cells, restart, results)
                # Until the final write says otherwise, the file calls itself incomplete:
                # a run killed from outside (OOM, SIGKILL) leaves a file that says so.
                done = sum(len(cs) for _, cs in plan[: index + 1])
                unfinished = f"incomplete: {done} of {sum(len(cs) for _, cs in plan)} cells run"
                _write(config, _outcome(config, properties, plan, results, started, unfinished))
                _say(progress, _case_line(index + 1, len(plan), case, cells, results, case_started))
        except KeyboardInterrupt as exc:
            interrupted = "SIGTERM" if isinstance(exc, Terminated) else "KeyboardInterrupt"
        except SuiteError as exc:
            if not plan:
                raise  # nothing ran: no JUnit to keep
            failure, interrupted = exc, f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        finally:
            session.discard(grace=0 if interrupted else 10)
    outcome = _outcome(config, properties, plan, results, started, interrupted)
    _write(config, outcome)
    if failure is not None:
        raise failure
    return outcome


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
    return f"[{number}/{total}] {case}: {tally} ({time.monotonic() - started:.1f} s)"


def _say(stream: TextIO, line: str) -> None:
    print(line, file=stream, flush=True)
