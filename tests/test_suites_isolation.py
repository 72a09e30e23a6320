"""suites.isolation: forking a child, reading how it ended; no torch needed."""

from __future__ import annotations

import os
import signal

import pytest

from suites.isolation import how_it_ended, in_child
from suites.runner import _threads


def _ended(work: object) -> tuple[str, bytes]:
    pid, read = in_child(work)  # type: ignore[arg-type]
    data = b""
    while chunk := os.read(read, 1024):
        data += chunk
    os.close(read)
    _, status = os.waitpid(pid, 0)
    return how_it_ended(status), data


def test_a_child_reports_through_its_pipe_and_exits_cleanly() -> None:
    assert _ended(lambda fd: os.write(fd, b"hello")) == ("exit code 0", b"hello")


def test_a_child_that_raises_exits_1() -> None:
    def boom(fd: int) -> None:
        raise ValueError("boom")

    assert _ended(boom)[0] == "exit code 1"


def test_a_killed_child_names_its_signal() -> None:
    assert _ended(lambda fd: os.kill(os.getpid(), signal.SIGKILL))[0] == "signal SIGKILL"


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="Linux only")
def test_children_share_the_cpus() -> None:
    cpus = len(os.sched_getaffinity(0))
    assert _threads(1) is None
    assert _threads(2) == max(1, cpus // 2)
    assert _threads(10 * cpus) == 1
