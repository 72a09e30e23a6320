"""Forking the warm worker safely: what the parent may do before ``os.fork``, and checks.

The worker imports torch, the export modules and hop_db once, then forks one
child per unit of cells (``suites.groups``), so no cell sees state another
case left behind. Forking a process is safe only while it has no threads
that hold locks and no device context; so before any fork the parent:

- does no tensor operation: torch creates its intra-op and inter-op thread
  pools (OpenMP, or its native pool) lazily, on the first op that needs
  them, so a parent that only imports never has them;
- never initialises CUDA: ``torch.cuda.is_available()`` is asked through
  NVML (``PYTORCH_NVML_BASED_CUDA_CHECK=1``), which creates no CUDA context,
  and ``torch.cuda.is_initialized()`` must stay False;
- starts no thread of its own (it serves its children with ``select``).

``check_fork_safe`` asserts the last two before every fork, and that the
process has no more threads than importing torch left (numpy's OpenBLAS
keeps a pool from import on; it parks it itself around ``fork`` with a
``pthread_atfork`` handler).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import sys
from collections.abc import Callable

NVML_CHECK_ENV = "PYTORCH_NVML_BASED_CUDA_CHECK"


def thread_count() -> int:
    """Threads of this process (Linux /proc; 1 where unknown)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 1


def check_fork_safe(threads_at_import: int) -> str | None:
    """Why forking now would not be safe, or None."""
    import torch

    if torch.cuda.is_initialized():
        return "CUDA was initialised in the worker before forking"
    now = thread_count()
    if now > threads_at_import:
        return f"the worker has {now} threads before forking, {threads_at_import} after import"
    return None


def die_with_parent() -> None:
    """Have the kernel kill this process when its parent dies, even mid-hang.

    The worker runs in its own session (so a terminal's Ctrl-C reaches only
    the parent), which also means nothing else would end a process stuck in a
    hung case once its parent is gone. A forked child calls it again: the
    setting does not survive ``fork``.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def in_child(work: Callable[[int], None], log: str | None = None) -> tuple[int, int]:
    """Fork; the child runs ``work(fd)`` with ``fd`` the write end of a pipe, then exits.

    Returns the child's pid and the read end. The child's stdout and stderr go
    to ``log`` when given (so a crash's last words are its own), and it exits
    with ``os._exit``: no atexit handler of the parent runs twice.
    """
    read, write = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write)
        return pid, read
    code = 0
    try:
        os.close(read)
        die_with_parent()
        if log is not None:
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.close(fd)
        work(write)
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def how_it_ended(status: int) -> str:
    """``exit code N`` or ``signal NAME`` from a ``waitpid`` status."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        with contextlib.suppress(ValueError):
            return f"signal {signal.Signals(number).name}"
        return f"signal {number}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"


def _lazily_imported(write: int) -> None:
    """In a child: run one cond case in every mode, then tell the parent what that imported."""
    from suites.body import run_unit
    from suites.catalog import CATALOG
    from suites.schema import DEFAULT_MODES, Device

    before = set(sys.modules)
    # Every step a cell takes (export, decompositions, save/load, running the program):
    # the modules each imports on first use are then imported once, in the parent.
    with contextlib.suppress(Exception):  # a torch that cannot export shows it in every cell
        run_unit(CATALOG[0], DEFAULT_MODES, Device.CPU)
    os.write(write, json.dumps(sorted(set(sys.modules) - before)).encode())
    os.close(write)


def prewarm() -> int:
    """Import in this process what a first export imports lazily; how many modules.

    The exports run in a throwaway child, since they are tensor operations;
    importing runs no op. Without this every child would pay the first
    export's imports again (0.6 s per child on torch 2.13).
    """
    pid, read = in_child(_lazily_imported)
    chunks = []
    while chunk := os.read(read, 1 << 16):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    try:
        names = json.loads(b"".join(chunks) or b"[]")
    except ValueError:
        return 0
    for name in names:
        with contextlib.suppress(Exception):  # imported only to save time; never fatal
            importlib.import_module(name)
    return len(names)
