"""The worker: imports torch once, then runs the cells the parent asks for.

Started by ``suites.runner`` as ``python -m suites.worker CONFIG_JSON``.
Worker to parent, one JSON object per line on the worker's stdout:
``hello`` (suite properties and the plan; only when asked to describe),
``usage`` (the request cannot be met, e.g. cuda without a GPU), ``ready``,
``cell`` (one CellResult), ``done`` (a run request is finished) and
``leaked`` (a cell left global torch state behind: the worker exits so that
the parent restarts a clean one). Parent to worker, on stdin: one
``{"run": [cell ids]}`` per case; end of input ends the worker. Whatever
torch itself prints to stdout is moved to stderr, so the channel carries
only these lines.

This module imports only the standard library at the top: the parent
imports it for ``WorkerConfig``.
"""

from __future__ import annotations

import faulthandler
import json
import os
import signal
import sys
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, TextIO

from suites.schema import CellId, Device, Mode, Source

if TYPE_CHECKING:  # torch is imported only once the worker runs
    from suites.cases import Case


@dataclass(frozen=True)
class WorkerConfig:
    """What a worker loads and, when ``describe``, reports."""

    sources: tuple[Source, ...]
    hops: tuple[str, ...] = ()
    modes: tuple[Mode, ...] = tuple(Mode)
    devices: tuple[Device, ...] | None = None  # None: cpu, plus cuda when present
    target: str | None = None
    describe: bool = True
    warm_up: bool = True  # False when only listing: nothing will be exported

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
        )


def _claim_stdout() -> TextIO:
    """The original stdout as the channel; fd 1 then points at stderr."""
    channel = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    return channel


def _emit(channel: TextIO, event: str, **fields: Any) -> None:
    channel.write(json.dumps({"event": event, **fields}) + "\n")
    channel.flush()


def _die_with_parent() -> None:
    """Have the kernel kill this worker when its parent dies, even mid-hang.

    The worker runs in its own session (so a terminal's Ctrl-C reaches only
    the parent), which also means nothing else would end a worker stuck in a
    hung case once its parent is gone.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


def main(argv: list[str]) -> int:
    """Serve one parent until its stdin closes (or state leaks)."""
    _die_with_parent()
    channel = _claim_stdout()
    faulthandler.enable()  # a segfault leaves a Python traceback in the log
    if hasattr(signal, "SIGUSR1"):  # the parent's way to see where a hung case is stuck
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    config = WorkerConfig.from_json(argv[0])

    import torch

    from suites import body, collect, environment

    hops = environment.registered_hops()  # before any case module registers more
    devices = config.devices or environment.available_devices()
    if Device.CUDA in devices and not torch.cuda.is_available():
        message = (
            f"--device cuda was asked for, but torch {torch.__version__} "
            "sees no CUDA GPU here (torch.cuda.is_available() is False)."
        )
        _emit(channel, "usage", message=message)
        return 2

    cases: dict[str, Case] = {}
    hop_db: str | None = None
    for source in config.sources:
        loaded, status = collect.load_source(source, os.environ)
        hop_db = status or hop_db
        cases.update((c.id, c) for c in collect.select(loaded, config.hops))

    if config.warm_up:
        body.warm_up()
    if config.describe:
        properties = environment.suite_properties(config.target, devices, hop_db, hops)
        plan = collect.plan(cases.values(), config.modes, devices)
        rows = [[case.id, [str(c) for c in cells]] for case, cells in plan]
        _emit(channel, "hello", properties=properties, plan=rows)
    else:
        _emit(channel, "ready")

    for line in sys.stdin:
        for text in json.loads(line)["run"]:
            cell = CellId.parse(text)
            result = body.run_cell(cases[cell.case], cell.mode, cell.device)
            _emit(channel, "cell", result=result.to_json())
            leak = body.leaked_state()
            if leak is not None:
                _emit(channel, "leaked", reason=f"{leak} after {cell}")
                return 0
        _emit(channel, "done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
