"""python -m compat: report, diff and env-error end to end, exit codes included."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from reference import reference_junit

from compat.__main__ import main
from compat.errors import ExitCode

DATA = Path(__file__).parent / "data" / "junit"
SUITE = DATA / "suite"
BROKEN = DATA / "broken"
ROOT = Path(__file__).parent.parent


def run(*args: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in args], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _folder(root: Path) -> Path:
    (folder,) = [p for p in root.iterdir() if p.is_dir()]
    return folder


def test_report_writes_a_folder_and_says_so(tmp_path: Path) -> None:
    code, out, _ = run("report", SUITE, "--out", tmp_path)
    assert code == ExitCode.OK
    folder = _folder(tmp_path)
    files = ["junit.xml", "report.html", "report.json", "report.md", "summary.md"]
    assert sorted(p.name for p in folder.iterdir()) == files
    assert out.startswith(f"wrote {folder}/ ({', '.join(files)}): 5 targets")
    assert (
        "2 regressions, 2 fixes, 6 new, 0 gone, 0 default changed, 1 targets not installed" in out
    )
    # then a short summary: cells per status, the regressions' timelines, where to read on
    lines = out.splitlines()
    assert lines[1].startswith("  cells  ") and " pass · " in lines[1]
    assert lines[2] == "  2 regressions in 2 lines:"
    assert all(" → ▼ " in line for line in lines[3:5])
    assert lines[5] == f"  read   {folder / 'summary.md'} · report.md · report.html"
    assert len(lines) == 6
    assert (tmp_path / "index.md").is_file()
    data = json.loads((folder / "report.json").read_text())
    assert data["metadata"]["generator"].startswith("torch-hop-compat ")
    code, out, _ = run("report", SUITE, "--out", tmp_path)
    assert code == ExitCode.OK
    assert out.startswith(f"unchanged: {folder}/ already holds this report")
    assert _folder(tmp_path) == folder


def test_bad_inputs_are_listed_and_the_good_ones_merged(tmp_path: Path) -> None:
    code, _, err = run("report", BROKEN, SUITE / "hand-2.10.0-cpu.xml", "--out", tmp_path)
    assert code == ExitCode.OK
    for words in ("is empty", "not well-formed XML", "not JUnit", "left out"):
        assert words in err
    data = json.loads((_folder(tmp_path) / "report.json").read_text())
    assert [t["id"] for t in data["targets"]] == ["2.9.1-cpu", "2.10.0-cpu"]
    assert len(data["skipped_inputs"]) == 4


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["report", BROKEN / "empty.xml"], ExitCode.INPUT, "Nothing to report: "),
        (["report"], ExitCode.INPUT, "no JUnit input given"),
        (["report", SUITE, "--target", "2.6-cpu=x.xml"], ExitCode.TARGET, "is not a target id"),
        (["report", SUITE, "--config", "nope.toml"], ExitCode.CONFIG, "does not exist"),
        (["diff", "nope.json", "nope.json"], ExitCode.INPUT, "nope.json cannot be read"),
    ],
)
def test_errors_become_exit_codes(
    args: list[str | Path], code: int, words: str, tmp_path: Path
) -> None:
    got, out, err = run(*args, *(["--out", tmp_path] if args[0] == "report" else []))
    assert got == code
    assert err.startswith("error: ") and words in err
    assert out == ""


def test_foreign_files_with_targets(tmp_path: Path) -> None:
    code, out, _ = run(
        "report",
        DATA / "seed-2.13.0.xml",
        "--target",
        f"2.6.0-cpu={DATA / 'seed-2.6.0.xml'}",
        "--target",
        "2.13.0-cpu",
        "--out",
        tmp_path,
    )
    assert code == ExitCode.OK, out
    junit = (_folder(tmp_path) / "junit.xml").read_text()
    assert 'name="torch-hop-compat[2.6.0-cpu]"' in junit
    assert 'name="torch-hop-compat[2.13.0-cpu]"' in junit
    assert '<property name="behaviours" value="while_loop.serde-carried-inputs"/>' in junit


def test_a_foreign_file_with_a_version_alone(tmp_path: Path) -> None:
    seed = reference_junit("seed-2.6.0.xml")
    code, _, err = run("report", seed, "--target", "2.6.0", "--out", tmp_path)
    assert code == ExitCode.OK, err
    data = json.loads((_folder(tmp_path) / "report.json").read_text())
    (target,) = data["targets"]
    assert (target["id"], target["build"], target["version"]) == ("2.6.0", "unknown", "2.6.0")
    junit = (_folder(tmp_path) / "junit.xml").read_text()
    assert 'name="torch-hop-compat[2.6.0]"' in junit
    report_json = _folder(tmp_path) / "report.json"
    assert run("diff", report_json, report_json)[0] == ExitCode.OK  # diff reads the id back


def test_every_output_says_which_run_each_target_came_from(tmp_path: Path) -> None:
    upstream = reference_junit("upstream-2.15.0.xml")
    seed = reference_junit("seed-2.6.0.xml")
    # A suite file as suites that record their run write it (run_date, host).
    suite = (SUITE / "suite-2.13.0-cpu.xml").read_text(encoding="utf-8")
    suite = suite.replace(
        '<property name="hop_db" value="importable" />',
        '<property name="hop_db" value="importable" />'
        '<property name="run_date" value="2026-11-30T00:31:07Z" />'
        '<property name="host" value="ci-linux-7" />',
    )
    (tmp_path / "suite-2.13.0-cpu.xml").write_text(suite, encoding="utf-8")
    code, _, err = run(
        "report",
        tmp_path / "suite-2.13.0-cpu.xml",
        "--target",
        f"2.15.0={upstream}",
        "--target",
        f"2.6.0={seed}",
        "--out",
        tmp_path / "out",
    )
    assert code == ExitCode.OK, err
    folder = _folder(tmp_path / "out")
    md = (folder / "report.md").read_text()
    assert (
        "| `2.15.0` | 2.15.0 (from --target) | unknown |  |  |  | pytest JUnit (44 tests: "
        f"35 passed, 9 xfailed): `{upstream}` | 2026-11-26T05:20:34Z | vm |"
    ) in md
    assert (
        f"pytest JUnit (29 tests: 21 passed, 8 skipped): `{seed}` | 2026-11-26T05:17:32Z | vm |"
        in md
    )
    assert "| suite 0.1.0: `" in md and "` | 2026-11-30T00:31:07Z | ci-linux-7 |" in md
    html = (folder / "report.html").read_text()
    for text in ("2026-11-26T05:20:34Z", "2026-11-26T05:17:32Z", "2026-11-30T00:31:07Z"):
        assert f'<td class="nowrap">{text}</td>' in html
    assert "<td>ci-linux-7</td>" in html and "pytest JUnit (44 tests: 35 passed, 9 xfailed)" in html
    data = json.loads((folder / "report.json").read_text())
    origins = {t["id"]: t["provenance"] for t in data["targets"]}
    assert origins["2.15.0"] == {
        "format": "pytest",
        "made_by": "pytest JUnit (44 tests: 35 passed, 9 xfailed)",
        "run_date": "2026-11-26T05:20:34Z",
        "host": "vm",
        "source_file": str(upstream),
    }
    assert (origins["2.13.0-cpu"]["run_date"], origins["2.13.0-cpu"]["host"]) == (
        "2026-11-30T00:31:07Z",
        "ci-linux-7",
    )
    junit = (folder / "junit.xml").read_text()
    assert '<property name="junit_timestamp" value="2026-11-26T05:20:34.895233+00:00"/>' in junit
    assert '<property name="format" value="pytest"/>' in junit
    assert '<property name="run_date" value="2026-11-30T00:31:07Z"/>' in junit


def _reports(tmp_path: Path) -> tuple[Path, Path]:
    run("report", SUITE / "hand-2.9.1-cpu.xml", "--out", tmp_path / "old")
    run(
        "report",
        SUITE / "hand-2.9.1-cpu.xml",
        SUITE / "hand-2.10.0-cpu.xml",
        "--out",
        tmp_path / "new",
    )
    return (
        _folder(tmp_path / "old") / "report.json",
        _folder(tmp_path / "new") / "report.json",
    )


def test_diff_exit_codes(tmp_path: Path) -> None:
    old, new = _reports(tmp_path)
    code, out, _ = run("diff", old, new)
    assert code == ExitCode.REGRESSION
    lines = out.splitlines()
    assert lines[0].startswith(
        "regression  2.9.1-cpu -> 2.10.0-cpu  catalog:scan.simple/serialize[cpu]"
    )
    assert lines[-1].startswith("2 regressions, 1 fixes")
    assert run("diff", new, new)[:2] == (ExitCode.OK, "no changes\n")
    code, _, _ = run("diff", new, old)  # going back: the newest target is older, same-target only
    assert code == ExitCode.OK
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    code, _, err = run("diff", old, bad)
    assert code == ExitCode.INPUT and "is not JSON" in err


def test_env_error_command_then_report(tmp_path: Path) -> None:
    junit = tmp_path / "junit" / "2.5.1-cpu.xml"
    code, out, _ = run(
        "env-error",
        "--target",
        "2.5.1-cpu",
        "--message",
        "uv failed: https://bot:hunter2@pypi.example/simple has no torch 2.5.1",
        "--junit",
        junit,
    )
    assert code == ExitCode.OK and str(junit) in out
    assert "hunter2" not in junit.read_text()
    code, _, _ = run("report", junit.parent, SUITE / "hand-2.9.1-cpu.xml", "--out", tmp_path / "r")
    assert code == ExitCode.OK
    data = json.loads((_folder(tmp_path / "r") / "report.json").read_text())
    (target,) = [t for t in data["targets"] if t["id"] == "2.5.1-cpu"]
    assert target["env_error"] == "uv failed: https://pypi.example/simple has no torch 2.5.1"


def test_no_credential_reaches_any_output(tmp_path: Path) -> None:
    text = (
        (SUITE / "hand-2.9.1-cpu.xml")
        .read_text()
        .replace(
            'name="python" value="3.11.7"',
            'name="python" value="pip -i https://u:pa55@idx.example/"',
        )
    )
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.xml").write_text(text)
    code, out, err = run("report", tmp_path / "in", "--out", tmp_path / "r")
    assert code == ExitCode.OK
    written = "".join(p.read_text() for p in _folder(tmp_path / "r").iterdir())
    for secret in ("ghp_S3CR3T", "pa55", "ci-bot:"):
        assert secret in text
        assert secret not in written + out + err


PYPROJECT = """
[tool.compat]
versions = ["2.9.1"]

[[tool.compat.behaviours]]
id = "map.dynamo-unsupported"
hop = "map"
mode = "*"
exception = "Unsupported"
sentence = "Dynamo cannot trace map here."
"""


def test_config_behaviours_tag_cells_and_removing_them_removes_tags(tmp_path: Path) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text(PYPROJECT)
    run("report", SUITE, "--out", tmp_path / "with", "--config", config)
    with_text = "".join(p.read_text() for p in _folder(tmp_path / "with").iterdir())
    assert with_text.count("map.dynamo-unsupported") >= 3  # table, cell, junit property
    config.write_text(PYPROJECT.split("[[tool.compat.behaviours]]")[0])
    run("report", SUITE, "--out", tmp_path / "without", "--config", config)
    without_text = "".join(p.read_text() for p in _folder(tmp_path / "without").iterdir())
    assert "map.dynamo-unsupported" not in without_text


def test_error_messages_are_scrubbed_too(tmp_path: Path) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text(
        PYPROJECT.replace('mode = "*"', 'mode = "*"\nmessage = "(https://me:t0k@x.example"')
    )
    code, _, err = run("report", SUITE, "--out", tmp_path, "--config", config)
    assert code == ExitCode.CONFIG
    assert "'(https://x.example' is not a valid regex" in err
    assert "t0k" not in err


def test_bad_config_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text(PYPROJECT.replace("exception =", "excepton ="))
    code, _, err = run("report", SUITE, "--out", tmp_path, "--config", config)
    assert code == ExitCode.CONFIG
    assert "unknown key 'excepton'; did you mean 'exception'?" in err


def test_python_dash_m_compat(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "compat",
            "report",
            str(BROKEN / "empty.xml"),
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == ExitCode.INPUT
    assert "error: Nothing to report" in proc.stderr
