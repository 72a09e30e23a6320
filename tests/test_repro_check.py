"""compat.repro_check: how a script's end is read, and what counts as reproducing its cell.

Real scripts in this interpreter (no torch needed): one that raises, one that
dies by a signal, one that hangs, one that fails only every second run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from compat.repro_check import (
    ATTEMPTS,
    Expected,
    Ran,
    check,
    expected_cells,
    remember_python,
    remembered_pythons,
    render_check,
    reproduces,
    run_script,
)
from suites.schema import Mode, Status

CELL = "catalog:cond.simple/aot[cpu]"


def _script(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


def _expected(script: Path, status: Status = Status.ERROR, sig: str | None = None) -> Expected:
    return Expected("2.13.0-cpu", CELL, status, "ValueError", sig, script)


def test_the_exception_a_script_ends_with_is_read_as_its_signature(tmp_path: Path) -> None:
    script = _script(tmp_path, "raise.py", "raise ValueError('bad size 3 at 0x7f00')\n")
    ran = run_script(sys.executable, script, 60)
    assert (ran.error_type, ran.signature) == ("ValueError", "ValueError: bad size <n> at <addr>")
    assert reproduces(_expected(script, sig="ValueError: bad size <n> at <addr>"), ran)
    assert not reproduces(_expected(script, sig="ValueError: other"), ran)
    torch_like = _script(tmp_path, "qual.py", "import json\njson.loads('{')\n")
    assert run_script(sys.executable, torch_like, 60).error_type == "json.decoder.JSONDecodeError"


def test_a_script_that_does_not_fail_does_not_reproduce(tmp_path: Path) -> None:
    ran = run_script(sys.executable, _script(tmp_path, "ok.py", "print('fine')\n"), 60)
    assert ran.error_type is None and ran.describe() == "no failure"
    assert not reproduces(_expected(tmp_path / "ok.py", sig="ValueError: x"), ran)


def test_a_crash_is_a_signal_and_a_timeout_is_a_script_still_running(tmp_path: Path) -> None:
    crash = _script(
        tmp_path, "crash.py", "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n"
    )
    ran = run_script(sys.executable, crash, 60)
    assert ran.signal == 11 and reproduces(_expected(crash, Status.CRASH), ran)
    hang = _script(tmp_path, "hang.py", "import time\ntime.sleep(60)\n")
    ran = run_script(sys.executable, hang, 1)
    assert ran.timed_out and reproduces(_expected(hang, Status.TIMEOUT), ran)
    assert not reproduces(_expected(hang, Status.CRASH), ran)


def test_a_gone_interpreter_is_said_not_guessed(tmp_path: Path) -> None:
    ran = run_script(str(tmp_path / "no-python"), tmp_path / "x.py", 60)
    assert ran.missing is not None and "is gone" in ran.missing
    assert not reproduces(_expected(tmp_path / "x.py", sig="ValueError: x"), ran)


def test_a_script_that_fails_as_its_cell_only_at_a_later_run_counts_and_is_listed(
    tmp_path: Path,
) -> None:
    counter = tmp_path / "runs"
    body = (
        f"from pathlib import Path\np = Path({str(counter)!r})\n"
        "n = int(p.read_text()) if p.exists() else 0\np.write_text(str(n + 1))\n"
        "raise ValueError('second' if n % 2 else 'first')\n"
    )
    flaky = _expected(_script(tmp_path, "flaky.py", body), sig="ValueError: second")
    never = _expected(_script(tmp_path, "never.py", "raise KeyError(1)\n"), sig="ValueError: x")
    lines: list[str] = []
    limits = {Mode.AOT: 60.0}
    done = check([flaky, never], {"2.13.0-cpu": sys.executable}, limits, 2, lines.append)
    runs = dict((e.script.name, r) for e, r in done)
    assert len(runs["flaky.py"]) == 2 and reproduces(flaky, runs["flaky.py"][-1])
    assert len(runs["never.py"]) == ATTEMPTS
    text = render_check(done)
    assert "1 of 2 scripts fail as their cells did (0 at the first run, 1 at a later one)" in text
    assert "ValueError: first / ValueError: second" in text
    assert "KeyError: <n> / KeyError: <n> / KeyError: <n>" in text
    assert any("ok*" in line for line in lines) and any("DIFF" in line for line in lines)


def test_expected_cells_pair_each_script_with_its_cells_result(tmp_path: Path) -> None:
    (tmp_path / "repro").mkdir()
    index = {"cells": {CELL: {"targets": {"2.6.0-cpu": "a.py", "2.13.0-cpu": "a.py"}}}}
    (tmp_path / "repro" / "index.json").write_text(json.dumps(index))
    results = [
        {"target": "2.6.0-cpu", "status": "xfail", "error_type": "E", "signature": "E: x"},
        {"target": "2.13.0-cpu", "status": "crash"},
    ]
    (tmp_path / "report.json").write_text(json.dumps({"cells": [{"id": CELL, "results": results}]}))
    found = {(e.target, e.status, e.signature, e.script.name) for e in expected_cells(tmp_path)}
    assert found == {
        ("2.6.0-cpu", Status.XFAIL, "E: x", "a.py"),
        ("2.13.0-cpu", Status.CRASH, None, "a.py"),
    }


def test_the_matrix_notes_each_targets_interpreter_for_the_check(tmp_path: Path) -> None:
    remember_python(tmp_path, "2.6.0-cu124", "/venvs/a/bin/python")
    remember_python(tmp_path, "local", sys.executable)
    assert remembered_pythons(tmp_path) == {
        "2.6.0-cu124": "/venvs/a/bin/python",
        "local": sys.executable,
    }
    assert remembered_pythons(tmp_path / "nothing") == {}
    assert Ran(timed_out=True).describe() == "still running at the limit"
