"""Drills: kills, races and huge messages never cost a report (issue "Hardening").

Real reports, written by ``python -m compat report`` into temporary folders:
runs killed at random points, identical runs started at once, leftovers of
dead runs, a missing index.md, a 10 MB message and an ``@mention``.
``COMPAT_DRILL_JUNIT`` names a folder of JUnit files for the killed runs
(default: 8 copies of a real suite file) and ``COMPAT_DRILL_RACES`` how many
pairs start at once (default 3); the issue's acceptance ran them with the
40-target files of bench/bench_report.py and 20.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compat.__main__ import main
from compat.artifacts import INDEX_NAME, report_folders

ROOT = Path(__file__).resolve().parents[1]
SUITE = Path(__file__).parent / "data" / "junit" / "suite" / "suite-2.13.0-cpu.xml"
WITH_ERRORS = SUITE.with_name("suite-2.6.0-cu124.xml")
FILES = ("junit.xml", "report.html", "report.json", "report.md", "summary.md")


def _inputs(folder: Path, targets: int) -> Path:
    """``targets`` copies of a real suite file, each its own target (2.13.0, 2.13.1, ...)."""
    folder.mkdir(parents=True, exist_ok=True)
    text = SUITE.read_text(encoding="utf-8")
    for n in range(targets):
        version = f"2.{13 + n // 10}.{n % 10}"
        copy = text.replace('"2.13.0-cpu"', f'"{version}-cpu"').replace(
            '"2.13.0+cpu"', f'"{version}+cpu"'
        )
        (folder / f"{version}-cpu.xml").write_text(copy, encoding="utf-8")
    return folder


def _report(junit: Path, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "compat", "report", str(junit), "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _finish(run: subprocess.Popen[bytes]) -> tuple[int, str]:
    """Its exit code and stderr, once it has ended (its pipes closed)."""
    _, err = run.communicate(timeout=120)
    return run.returncode, err.decode("utf-8", "replace")


def _assert_consistent(out: Path) -> None:
    """Every report folder whole, no temporary leftovers, index.md listing exactly them."""
    folders = report_folders(out)
    for folder in folders:
        assert sorted(p.name for p in folder.iterdir()) == list(FILES), folder
        json.loads((folder / "report.json").read_text(encoding="utf-8"))
    leftovers = [p.name for p in out.iterdir() if p.name.startswith(".")]
    assert leftovers == [], leftovers
    index = (out / INDEX_NAME).read_text(encoding="utf-8")
    assert sorted(re.findall(r"^- \[([^\]]+)\]", index, flags=re.M)) == sorted(
        f.name for f in folders
    )


def test_runs_killed_at_random_points_leave_nothing_half_written(tmp_path: Path) -> None:
    given = os.environ.get("COMPAT_DRILL_JUNIT")
    junit = Path(given) if given else _inputs(tmp_path / "junit", 8)
    out = tmp_path / "reports"
    started = time.monotonic()
    assert _finish(_report(junit, out))[0] == 0
    whole = time.monotonic() - started
    rnd = random.Random(15)
    for _ in range(10):
        for folder in report_folders(out):  # each run must write its report again
            shutil.rmtree(folder)
        run = _report(junit, out)
        time.sleep(rnd.uniform(0.0, whole))
        run.send_signal(signal.SIGKILL)
        assert _finish(run)[0] in (0, -signal.SIGKILL)
        for folder in report_folders(out):  # a run that finished first wrote all of it
            assert sorted(p.name for p in folder.iterdir()) == list(FILES)
    assert _finish(_report(junit, out))[0] == 0  # the next run tidies up
    _assert_consistent(out)
    assert len(report_folders(out)) == 1


def test_identical_reports_started_at_once_both_succeed(tmp_path: Path) -> None:
    junit, out = _inputs(tmp_path / "junit", 3), tmp_path / "reports"
    for _ in range(int(os.environ.get("COMPAT_DRILL_RACES", "3"))):
        runs = [_report(junit, out) for _ in range(2)]
        results = [_finish(run) for run in runs]
        assert [code for code, _ in results] == [0, 0], results
    _assert_consistent(out)
    assert len(report_folders(out)) == 1


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout)


def test_leftovers_of_dead_runs_go_and_a_missing_index_comes_back(tmp_path: Path) -> None:
    junit, out = _inputs(tmp_path / "junit", 2), tmp_path / "reports"
    assert main(["report", str(junit), "--out", str(out)], io.StringIO(), io.StringIO()) == 0
    dead = _dead_pid()
    (out / f".tmp-{dead}-x1y2").mkdir()
    (out / f".tmp-{dead}-x1y2" / "report.json").write_text("{", encoding="utf-8")
    (out / f".index.md.{dead}.abc").write_text("half", encoding="utf-8")
    alive = out / f".tmp-{os.getpid()}-busy"  # a run still writing: left alone
    alive.mkdir()
    (out / INDEX_NAME).unlink()
    stdout = io.StringIO()
    assert main(["report", str(junit), "--out", str(out)], stdout, io.StringIO()) == 0
    assert stdout.getvalue().startswith("unchanged: ")
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [alive.name]
    alive.rmdir()
    _assert_consistent(out)


def test_a_huge_message_is_cut_in_md_html_json_and_whole_in_junit(tmp_path: Path) -> None:
    junit, out = tmp_path / "junit", tmp_path / "reports"
    junit.mkdir()
    huge = "boom " * 2_000_000  # 10 MB
    text = WITH_ERRORS.read_text(encoding="utf-8")
    first = text.index('name="error_message" value="') + len('name="error_message" value="')
    end = text.index('"', first)
    (junit / "a.xml").write_text(text[:first] + huge + text[end:], encoding="utf-8")
    assert main(["report", str(junit), "--out", str(out)], io.StringIO(), io.StringIO()) == 0
    (folder,) = report_folders(out)
    sizes = {name: (folder / name).stat().st_size for name in FILES}
    assert sizes["junit.xml"] > len(huge)
    for name in ("report.md", "report.html", "report.json"):
        assert sizes[name] < 1_000_000, (name, sizes[name])
    data = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    messages = [r.get("message", "") for row in data["cells"] for r in row["results"]]
    (cut,) = [m for m in messages if m.startswith("boom")]
    assert cut.endswith(f"… [cut: {len(huge) - 2000} more characters in junit.xml]")


def test_an_at_mention_in_a_message_cannot_ping_anyone_from_report_md(tmp_path: Path) -> None:
    junit, out = tmp_path / "junit", tmp_path / "reports"
    junit.mkdir()
    text = SUITE.read_text(encoding="utf-8").replace(
        '<property name="hop_db" value="importable" />',
        '<property name="hop_db" value="unavailable: ask @pytorch-bot for help" />',
    )
    assert "@pytorch-bot" in text
    (junit / "a.xml").write_text(text, encoding="utf-8")
    assert main(["report", str(junit), "--out", str(out)], io.StringIO(), io.StringIO()) == 0
    (folder,) = report_folders(out)
    markdown = (folder / "report.md").read_text(encoding="utf-8")
    assert "@pytorch-bot" in markdown
    outside_code = re.sub(r"(`+)(?:(?!\1).)*\1", "", markdown)  # drop code spans
    assert "@" not in outside_code


def test_a_bug_is_one_sentence_and_never_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import compat.__main__ as cli

    def broken(*_: object) -> None:
        raise KeyError("https://bot:t0ken@pypi.example/simple")

    monkeypatch.setattr(cli, "resolve_facts", broken)
    junit = _inputs(tmp_path / "junit", 1)
    err = io.StringIO()
    code = main(["report", str(junit), "--out", str(tmp_path / "r")], io.StringIO(), err)
    assert code == 70  # 1 would read as "regressed" to a diff gate
    assert "Traceback" not in err.getvalue() and "t0ken" not in err.getvalue()
    assert err.getvalue().startswith("internal error: KeyError: ")
