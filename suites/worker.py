"""The worker: imports torch once, then forks one child per unit of cells it is asked for.

Started by ``suites.runner`` as ``python -m suites.worker CONFIG_JSON``.
Worker to parent, one JSON object per line on the worker's stdout:
``hello`` (suite properties, the plan, and each selected case's facts for
repros, ``suites.recipe``; only when asked to describe),
``usage`` (the request cannot be met, e.g. cuda without a GPU), ``ready``,
``started`` (a child runs request ``id``, with its ``pid``), ``cell`` (one
CellResult of request ``id``) and ``exit`` (the child of request ``id`` has
ended, and ``how``). Parent to worker, on stdin: one
``{"id": N, "run": [cell ids], "log": PATH, "threads": N or null}`` per
unit (``suites.groups``); the child writes its stdout and stderr to ``log``
and uses ``threads`` torch threads. End of input ends the
worker and its children. Whatever torch itself prints to stdout is moved to
stderr, so the channel carries only these lines.

Each child is forked from this warm process (``suites.isolation`` says why
that is safe) and runs only its unit, so no unit sees state another left
behind; several children run at once when the parent asks for them.

This module imports only the standard library at the top: the parent
imports it for ``WorkerConfig``.
"""

from __future__ import annotations

import faulthandler
import json
import os
import select
import signal
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, TextIO

from suites.isolation import (
    NVML_CHECK_ENV,
    check_fork_safe,
    die_with_parent,
    how_it_ended,
    in_child,
    prewarm,
    thread_count,
)
from suites.junit_xml import Provenance
from suites.schema import DEFAULT_MODES, CellId, Device, Mode, Source, SuiteProp

if TYPE_CHECKING:  # torch is imported only once the worker runs
    from suites.cases import Case

# With ``listing``, the hello's properties carry {case id: its --list line} under this key:
# the plan names cases by id only (a listing run writes no JUnit for it to reach).
LISTING_KEY = "_listing"
# What a run loads unless told otherwise; user cases join when a case module is given.
DEFAULT_SOURCES = (Source.UPSTREAM, Source.CATALOG, Source.EXPORTDB)


def default_sources(case_modules: Sequence[str]) -> tuple[Source, ...]:
    """The sources a run loads when none is named: user too when there are case modules."""
    return DEFAULT_SOURCES + ((Source.USER,) if case_modules else ())


@dataclass(frozen=True)
class WorkerConfig:
    """What a worker loads and, when ``describe``, reports."""

    sources: tuple[Source, ...]
    hops: tuple[str, ...] = ()
    modes: tuple[Mode, ...] = DEFAULT_MODES
    devices: tuple[Device, ...] | None = None  # None: cpu, plus cuda when present
    target: str | None = None
    describe: bool = True
    warm_up: bool = True  # False when only listing: nothing will be exported
    cases: tuple[str, ...] = ()  # --case fnmatch patterns over the case id, hop.variant or hop
    case_modules: tuple[str, ...] = ()  # --case-module: modules whose CASES are user rows
    case_path: tuple[str, ...] = ()  # --case-path: folders put first on sys.path to find them
    listing: bool = False  # --list: the hello also carries each case's --list line

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> WorkerConfig:
        data = json.loads(text)
        devices = data["devices"]
        return cls(
            sources=tuple(Source(s) for s in data["sources"]),
            hops=tuple(data["hops"]),
            modes=tuple(Mode(m) for m in data["modes"]),
            devices=None if devices is None else tuple(Device(d) for d in devices),
            target=data["target"],
            describe=data["describe"],
            warm_up=data["warm_up"],
            cases=tuple(data["cases"]),
            case_modules=tuple(data["case_modules"]),
            case_path=tuple(data["case_path"]),
            listing=data["listing"],
        )


def _claim_stdout() -> TextIO:
    """The original stdout as the channel; fd 1 then points at stderr."""
    channel = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    return channel


def _emit(channel: TextIO, event: str, **fields: Any) -> None:
    channel.write(json.dumps({"event": event, **fields}) + "\n")
    channel.flush()


class _Children:
    """The running children: their pipes, and the partial lines read from them."""

    def __init__(self, channel: TextIO, cases: dict[str, Case], threads: int) -> None:
        self.channel, self.cases, self.threads = channel, cases, threads
        self.by_fd: dict[int, tuple[int, int]] = {}  # pipe -> (request id, pid)
        self.partial: dict[int, bytes] = {}

    def start(self, request: dict[str, Any]) -> None:
        """Fork a child for one request; it streams its cells into a pipe."""
        unsafe = check_fork_safe(self.threads)
        if unsafe is not None:  # never expected: say so loudly rather than measure garbage
            raise RuntimeError(f"isolation does not hold: {unsafe}")
        rid = int(request["id"])
        cells = [CellId.parse(c) for c in request["run"]]
        threads = request.get("threads")

        def work(write: int) -> None:
            _run_unit(self.cases, rid, cells, write, threads)

        pid, fd = in_child(work, request["log"])
        self.by_fd[fd], self.partial[fd] = (rid, pid), b""
        _emit(self.channel, "started", id=rid, pid=pid)

    def relay(self, fd: int) -> None:
        """Pass a child's complete lines on; on end of pipe, reap it and say how it ended."""
        chunk = os.read(fd, 1 << 16)
        if chunk:
            *lines, self.partial[fd] = (self.partial[fd] + chunk).split(b"\n")
            for line in lines:
                self.channel.write(line.decode("utf-8", "replace") + "\n")
            self.channel.flush()
            return
        rid, pid = self.by_fd.pop(fd)
        del self.partial[fd]
        os.close(fd)
        _, status = os.waitpid(pid, 0)
        _emit(self.channel, "exit", id=rid, how=how_it_ended(status))

    def stop(self) -> None:
        for _, pid in self.by_fd.values():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            os.waitpid(pid, 0)


def _run_unit(
    cases: dict[str, Case], rid: int, cells: list[CellId], write: int, threads: int | None
) -> None:
    """In a child: run one unit's cells, one ``cell`` line each, into ``write``."""
    import torch

    from suites import body

    if threads is not None:  # in the child: its pool is its own, created from here on
        torch.set_num_threads(threads)
    leak = body.leaked_state()
    if leak is not None:  # the warm parent is never meant to hold any: isolation is broken
        raise RuntimeError(f"the forked child starts with {leak}")
    results = body.run_unit(cases[cells[0].case], [c.mode for c in cells], cells[0].device)
    with os.fdopen(write, "w", encoding="utf-8") as out:
        for result in results:
            out.write(json.dumps({"event": "cell", "id": rid, "result": result.to_json()}) + "\n")


def _serve(channel: TextIO, children: _Children) -> None:
    """Fork for each request on stdin, relay children's lines, until stdin ends."""
    stdin, pending = sys.stdin.fileno(), b""
    while True:
        ready, _, _ = select.select([stdin, *children.by_fd], [], [])
        for fd in ready:
            if fd != stdin:
                children.relay(fd)
                continue
            chunk = os.read(stdin, 1 << 16)
            if not chunk:
                children.stop()
                return
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                children.start(json.loads(line))


def _load_cases(config: WorkerConfig) -> tuple[dict[str, Case], dict[str, str]]:
    """The selected cases by id, and each loaded source's status property (collect.STATUS_PROPS).

    User cases load first, so that a broken case module fails before hop_db's seconds of
    imports; the cases keep the order of ``config.sources``. Raises ``CaseModuleError``.
    """
    from suites import collect

    loaded: dict[Source, tuple[Case, ...]] = {}
    statuses: dict[str, str] = {}
    for source in sorted(config.sources, key=lambda s: s is not Source.USER):
        found, status = collect.load_source(
            source, os.environ, config.case_modules, config.case_path
        )
        loaded[source] = collect.select(found, config.hops, config.cases)
        if status is not None and source in collect.STATUS_PROPS:
            statuses[collect.STATUS_PROPS[source].value] = status
    cases = {c.id: c for source in config.sources for c in loaded[source]}
    return cases, statuses


def main(argv: list[str]) -> int:
    """Serve one parent until its stdin closes."""
    stamp = Provenance.now()  # the run's date: the describing worker starts with the run
    die_with_parent()
    channel = _claim_stdout()
    faulthandler.enable()  # a segfault leaves a Python traceback in the log
    if hasattr(signal, "SIGUSR1"):  # the parent's way to see where a hung case is stuck
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    config = WorkerConfig.from_json(argv[0])
    os.environ.setdefault(NVML_CHECK_ENV, "1")  # is_available() without a CUDA context

    import torch

    threads = thread_count()
    from suites import collect, environment, recipe
    from suites.user import CaseModuleError

    hops = environment.registered_hops()  # before any case module registers more
    devices = config.devices or environment.available_devices()
    if Device.CUDA in devices and not torch.cuda.is_available():
        message = (
            f"--device cuda was asked for, but torch {torch.__version__} "
            "sees no CUDA GPU here (torch.cuda.is_available() is False)."
        )
        _emit(channel, "usage", message=message)
        return 2

    try:
        cases, statuses = _load_cases(config)
    except CaseModuleError as err:
        _emit(channel, "usage", message=str(err))
        return 2

    if config.warm_up:
        prewarm()
    if config.describe:
        hop_db = statuses.pop(SuiteProp.HOP_DB.value, None)
        properties = environment.suite_properties(config.target, devices, hop_db, hops, stamp)
        properties.update(statuses)
        if config.listing:
            properties[LISTING_KEY] = json.dumps(
                {c.id: collect.describe_case(c) for c in cases.values()}
            )
        plan = collect.plan(cases.values(), config.modes, devices)
        rows = [[case.id, [str(c) for c in cells]] for case, cells in plan]
        facts = {case.id: recipe.case_facts(case) for case in cases.values()}
        _emit(channel, "hello", properties=properties, plan=rows, facts=facts)
    else:
        _emit(channel, "ready")
    _serve(channel, _Children(channel, cases, threads))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
