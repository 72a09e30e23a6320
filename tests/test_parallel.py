"""compat.parallel and its two users: a forked half gives what one process gives."""

from __future__ import annotations

import os
import signal
from datetime import date
from pathlib import Path

import pytest

from compat.__main__ import _renderers
from compat.artifacts import HELPER_WRITES, write_report
from compat.errors import ArtifactError
from compat.load import resolve_report
from compat.parallel import Forked, can_fork

DATA = Path(__file__).parent / "data" / "junit"
needs_fork = pytest.mark.skipif(not can_fork(), reason="needs fork and a second CPU")


@needs_fork
def test_a_forked_call_sees_this_process_memory_and_sends_its_value_back() -> None:
    big = list(range(100_000))  # never pickled on the way in
    job = Forked(lambda: (os.getpid(), sum(big)), "adding")
    pid, total = job.result()
    assert pid != os.getpid()
    assert total == sum(big)


@needs_fork
def test_an_exception_in_the_forked_call_is_raised_here() -> None:
    def boom() -> None:
        raise ValueError("bad cell")

    with pytest.raises(ValueError, match="bad cell"):
        Forked(boom, "failing").result()


@needs_fork
def test_an_exception_that_cannot_be_pickled_comes_back_as_its_text() -> None:
    class Local(Exception):  # a local class: pickle cannot find it again
        pass

    def boom() -> None:
        raise Local("not picklable")

    with pytest.raises(RuntimeError, match="Local: not picklable"):
        Forked(boom, "failing").result()


@needs_fork
def test_a_killed_process_is_one_sentence_naming_the_work() -> None:
    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    with pytest.raises(ArtifactError, match=r"the process reading 3 files died \(exit code -9"):
        Forked(die, "reading 3 files").result()


def test_without_fork_the_call_runs_here() -> None:
    assert Forked(os.getpid, "asking", fork=False).result() == os.getpid()


INPUTS = [
    str(DATA / "suite"),
    str(DATA / "broken"),  # skipped inputs, in the forked half too
    str(DATA / "seed-2.6.0.xml"),  # a foreign file
    str(DATA / "flex"),
]


@needs_fork
def test_reading_in_two_processes_gives_the_same_report_bytes(tmp_path: Path) -> None:
    folders = {}
    for parallel in (False, True):
        report = resolve_report(INPUTS, parallel=parallel)
        root = tmp_path / str(parallel)
        written = write_report(root, _renderers(report, print), date(2026, 1, 1), parallel=parallel)
        folders[parallel] = written.folder
    serial, forked = folders[False], folders[True]
    assert serial.name == forked.name  # same content hash
    names = sorted(p.name for p in serial.iterdir())
    assert names == ["junit.xml", "report.html", "report.json", "report.md"]
    assert set(HELPER_WRITES) < set(names)
    for name in names:
        assert (serial / name).read_bytes() == (forked / name).read_bytes(), name


@needs_fork
def test_a_failing_helper_renderer_leaves_nothing_behind(tmp_path: Path) -> None:
    def boom() -> list[str]:
        raise RuntimeError("junit renderer bug")

    renderers = {"report.json": lambda: ["{}\n"], "junit.xml": boom, "report.md": lambda: ["#"]}
    with pytest.raises(RuntimeError, match="junit renderer bug"):
        write_report(tmp_path, renderers, date(2026, 1, 1), parallel=True)
    assert list(tmp_path.iterdir()) == []
