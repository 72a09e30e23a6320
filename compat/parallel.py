"""A second CPU for a big report: one call run in a forked process, its value sent back.

Reading a big matrix and writing its report are each split in two parts;
the forked part starts with the parent's memory as it is (no pickling of
inputs: the report, the renderers), and only its value comes back, pickled.
Callers ask ``can_fork`` first; where it says no, ``Forked(..., fork=False)``
runs the call in place when its result is asked for.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from compat.errors import ArtifactError

T = TypeVar("T")


def can_fork() -> bool:
    """Whether a forked helper would run beside this process rather than take turns with it."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    try:
        return len(os.sched_getaffinity(0)) > 1
    except AttributeError:  # no affinity on this platform
        return (os.cpu_count() or 1) > 1


class Forked(Generic[T]):
    """``call()`` in a forked process (or here, when ``fork`` is False); ``result()`` waits.

    ``what`` names the work in the one error a dead process leaves (e.g. killed for
    memory). An exception raised by ``call`` is raised again by ``result``.
    """

    def __init__(self, call: Callable[[], T], what: str, fork: bool = True) -> None:
        self.what = what
        self._call: Callable[[], T] | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        if not fork:
            self._call = call  # run by result(), in this process
            return
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(target=_child, args=(call, send), daemon=True)
        self._process.start()
        send.close()

    def result(self) -> T:
        if self._process is None:
            assert self._call is not None
            return self._call()
        try:
            message = self._receive.recv_bytes()
        except EOFError:
            message = b""
        finally:
            self._receive.close()
        self._process.join()
        if not message:
            raise ArtifactError(
                f"the process {self.what} died (exit code {self._process.exitcode}; killed "
                "for memory?): free some memory and run the report again."
            )
        ok, value = pickle.loads(message)
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def stop(self) -> None:
        """Kill the process if it still runs (the caller gave up on its result)."""
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join()


def _child(call: Callable[[], Any], send: Any) -> None:
    """In the forked process: send ``(True, value)`` or ``(False, exception)``, pickled
    (an exception that cannot be pickled goes back as a RuntimeError with its text)."""
    try:
        outcome: tuple[bool, Any] = (True, call())
    except BaseException as err:  # every failure goes back to the parent
        outcome = (False, err)
    try:
        message = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as err:  # a value or exception that cannot be pickled
        what = outcome[1] if not outcome[0] else err
        message = pickle.dumps((False, RuntimeError(f"{type(what).__name__}: {what}")))
    send.send_bytes(message)
    send.close()
