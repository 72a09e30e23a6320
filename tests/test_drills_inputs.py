"""Drills for issue #15, "bad input is data" and "ids": each odd input costs one line, not a report.

Every drill writes real files, runs ``python -m compat`` in-process (one run in a
subprocess), and checks the exit code, the sentence, and that the good file given
beside the bad one is still merged.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from compat.__main__ import main
from compat.errors import ExitCode
from compat.render_json import JSON_SCHEMA_VERSION

DATA = Path(__file__).parent / "data" / "junit"
ROOT = Path(__file__).parent.parent
GOOD_TEXT = (DATA / "suite" / "hand-2.9.1-cpu.xml").read_text(encoding="utf-8")
GOOD_ID = "2.9.1-cpu"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # every control character but \t and \n

# A pytest --junitxml file with one HOP export test; {time} and {name} are filled in.
PYTEST = (
    '<?xml version="1.0" encoding="utf-8"?>{doctype}<testsuites><testsuite name="pytest" '
    'tests="2"><testcase classname="test_hop_seed.TestHOPCPU" name="{name}" time="{time}">'
    "{body}</testcase>"
    '<testcase classname="test_hop_seed.TestHOPCPU" '
    'name="test_aot_export_cond_simple_cpu_float32" time="0.5"/></testsuite></testsuites>'
)
SEED_NAME = "test_retrace_export_scan_simple_cpu_float32"


def pytest_file(time: str = "1.0", name: str = SEED_NAME, body: str = "", doctype: str = "") -> str:
    return PYTEST.format(time=time, name=name, body=body, doctype=doctype)


def run(*args: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in args], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def report(tmp_path: Path, *args: str | Path) -> tuple[int, str, dict[str, object]]:
    """``report`` of the good suite file and ``args``; the exit code, stderr and report.json."""
    good = write(tmp_path / "in" / "good-2.9.1-cpu.xml", GOOD_TEXT)
    out_root = tmp_path / "reports"
    code, out, err = run("report", good, *args, "--out", out_root)
    assert "Traceback" not in out + err
    (folder,) = [p for p in out_root.iterdir() if p.is_dir()]
    # JSON.parse takes no NaN or Infinity: neither may Python's reader here.
    text = (folder / "report.json").read_text(encoding="utf-8")
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in report.json"))
    return code, err, data


def targets(data: dict[str, object]) -> list[str]:
    return [t["id"] for t in data["targets"]]


def skipped(data: dict[str, object]) -> dict[str, str]:
    return {Path(s["path"]).name: s["reason"] for s in data["skipped_inputs"]}


# --- 1. one odd file must not cost the report --------------------------------------------------


def nested_suites(depth: int) -> str:
    return "<testsuites>" + "<testsuite>" * depth + "</testsuite>" * depth + "</testsuites>"


def test_1a_a_thousand_nested_testsuites_are_one_skipped_file(tmp_path: Path) -> None:
    bad = write(tmp_path / "in" / "nested.xml", nested_suites(1000))
    code, err, data = report(tmp_path, bad)
    assert code == ExitCode.OK
    assert targets(data) == [GOOD_ID]
    reason = skipped(data)["nested.xml"]
    assert reason.startswith(f"{bad} nests <testsuite> elements more than 8 deep")
    assert "leave the file out" in reason
    assert f"skipped: {reason}" in err


def test_1a_python_dash_m_prints_no_traceback(tmp_path: Path) -> None:
    good = write(tmp_path / "in" / "good.xml", GOOD_TEXT)
    bad = write(tmp_path / "in" / "nested.xml", nested_suites(1000))
    proc = subprocess.run(
        [sys.executable, "-m", "compat", "report", str(good), str(bad), "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"skipped: {bad} nests <testsuite> elements")
    assert proc.stdout.startswith("wrote ") and "1 targets" in proc.stdout


def test_1a_a_suite_nested_once_is_read_once(tmp_path: Path) -> None:
    inner = pytest_file()[pytest_file().index("<testsuite ") : pytest_file().index("</testsuites>")]
    nested = inner.removesuffix("</testsuite>") + inner + "</testsuite>"
    foreign = write(tmp_path / "in" / "nested-once.xml", f"<testsuites>{nested}</testsuites>")
    code, _, data = report(tmp_path, "--target", f"2.6.0-cpu={foreign}")
    assert code == ExitCode.OK
    assert targets(data) == ["2.6.0-cpu", GOOD_ID]
    # Both suites hold the same two tests: the outer one is placed, the inner one is the
    # same target again, and no cell is counted twice within a suite.
    assert "claims target 2.6.0-cpu" in skipped(data)["nested-once.xml"]


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE testsuites [<!ENTITY ext SYSTEM "file:///etc/hostname">]>',
        '<!DOCTYPE testsuites SYSTEM "junit.dtd" [<!ENTITY ext SYSTEM "/etc/passwd">]>',
    ],
)
def test_1b_an_external_entity_is_refused_as_what_it_is(tmp_path: Path, doctype: str) -> None:
    text = pytest_file(body='<failure message="x">&ext;</failure>', doctype=doctype)
    bad = write(tmp_path / "in" / "entity.xml", text)
    code, err, data = report(tmp_path, "--target", f"2.6.0-cpu={bad}")
    assert code == ExitCode.OK
    assert targets(data) == [GOOD_ID]
    reason = skipped(data)["entity.xml"]
    assert reason.startswith(f"{bad} uses XML entities that are not expanded (undefined entity")
    assert "cut off" not in reason
    assert reason in err


@pytest.mark.parametrize("time", ["abc", "nan", "NaN", "inf", "-inf", "1e999", "-3"])
def test_1c_1d_a_bad_time_in_a_pytest_file_reads_as_zero(tmp_path: Path, time: str) -> None:
    foreign = write(tmp_path / "in" / "seed.xml", pytest_file(time=time))
    code, err, data = report(tmp_path, "--target", f"2.6.0-cpu={foreign}")
    assert code == ExitCode.OK, err
    assert targets(data) == ["2.6.0-cpu", GOOD_ID]
    assert skipped(data) == {}
    times = {(row["id"], r["target"]): r["time"] for row in data["cells"] for r in row["results"]}
    assert times["upstream:scan.simple/retrace[cpu]", "2.6.0-cpu"] == 0.0
    assert times["upstream:cond.simple/aot[cpu]", "2.6.0-cpu"] == 0.5


@pytest.mark.parametrize("time", ["nan", "inf", "Infinity"])
def test_1d_a_non_finite_time_in_a_suite_file_reads_as_zero(tmp_path: Path, time: str) -> None:
    text = GOOD_TEXT.replace('"2.9.1', '"2.10.0').replace('time="0.500"', f'time="{time}"')
    other = write(tmp_path / "in" / "hand-2.10.0-cpu.xml", text)
    code, _, data = report(tmp_path, other)
    assert code == ExitCode.OK
    assert targets(data) == [GOOD_ID, "2.10.0-cpu"]
    times = [r["time"] for row in data["cells"] for r in row["results"]]
    assert all(isinstance(t, float) and 0 <= t < 10 for t in times)


def _report_json(path: Path, nesting: int) -> Path:
    return write(path, '{"schema_version": ' + "[" * nesting + "]" * nesting + "}")


def test_1e_diff_of_deeply_nested_json_is_bad_input_not_a_regression(tmp_path: Path) -> None:
    _, _, _ = report(tmp_path)
    (good,) = (tmp_path / "reports").glob("*/report.json")
    deep = _report_json(tmp_path / "deep.json", 100_000)
    for old, new in ((good, deep), (deep, good)):
        code, out, err = run("diff", old, new)
        assert code == ExitCode.INPUT  # 1 would read as "regression" to a CI gate
        assert out == ""
        assert err == (
            f"error: {deep} nests JSON deeper than any report does (too deep to read): "
            "pass the report.json of a report folder.\n"
        )


# --- 2. ids are checked where they come from --------------------------------------------------


@pytest.mark.parametrize(
    "bad_id", ["a/b", "../../x", "2.6.0-cpu&#10;regression", "2.6.0-cpu&#13;x", "2.6-cpu"]
)
def test_2a_a_files_own_target_id_is_checked(tmp_path: Path, bad_id: str) -> None:
    text = GOOD_TEXT.replace('value="2.9.1-cpu"', f'value="{bad_id}"')
    bad = write(tmp_path / "in" / "bad-id.xml", text.replace('"2.9.1+cpu"', '"2.10.0+cpu"'))
    code, err, data = report(tmp_path, bad)
    assert code == ExitCode.OK
    assert targets(data) == [GOOD_ID]
    reason = skipped(data)["bad-id.xml"]
    as_read = bad_id.replace("&#10;", "\n").replace("&#13;", "\r")  # XML's character references
    assert reason == (
        f"{bad} names target {as_read!r}, which is not a target id (<full torch version>-<build> "
        "such as 2.6.0-cpu, a version alone such as 2.6.0, or local): give it one with "
        f"--target ID={bad}."
    )
    assert not CONTROL.search(err) and "\nregression" not in err


def test_2a_a_malformed_build_falls_back_to_the_ids_tag(tmp_path: Path) -> None:
    text = GOOD_TEXT.replace("2.9.1", "2.10.0").replace(
        '"build" value="cpu"', '"build" value="a/b"'
    )
    other = write(tmp_path / "in" / "bad-build.xml", text)
    code, _, data = report(tmp_path, other)
    assert code == ExitCode.OK
    assert targets(data) == [GOOD_ID, "2.10.0-cpu"]
    assert [t["build"] for t in data["targets"]] == ["cpu", "cpu"]


def test_2a_a_bad_file_id_is_mended_with_target_id_file(tmp_path: Path) -> None:
    text = GOOD_TEXT.replace('value="2.9.1-cpu"', 'value="../../x"').replace("2.9.1", "2.10.0")
    bad = write(tmp_path / "in" / "bad-id.xml", text)
    code, _, data = report(tmp_path, "--target", f"2.10.0-cpu={bad}")
    assert code == ExitCode.OK
    assert targets(data) == [GOOD_ID, "2.10.0-cpu"]


def test_2b_target_is_stored_as_checked(tmp_path: Path) -> None:
    foreign = write(tmp_path / "in" / "seed.xml", pytest_file())
    code, _, data = report(tmp_path, "--target", f"  2.6.0-cpu \t={foreign}")
    assert code == ExitCode.OK
    assert targets(data) == ["2.6.0-cpu", GOOD_ID]
    code, _, data = report(tmp_path / "bare", foreign, "--target", " 2.6.0-cpu ")
    assert code == ExitCode.OK
    assert targets(data) == ["2.6.0-cpu", GOOD_ID]


@pytest.mark.parametrize(
    "name",
    [
        "test_aot_export_https://bot:s3cret@idx.example/x_cpu_float32",
        "test_aot_export_bot:s3cret@idx.example_cpu_float32",
        "test_aot_export_cond_x&#10;regression_cpu_float32",
        "test_aot_export_cond_a b_cpu_float32",
    ],
)
def test_2c_a_foreign_name_with_a_url_or_escape_is_no_case_id(tmp_path: Path, name: str) -> None:
    foreign = write(tmp_path / "in" / "seed.xml", pytest_file(name=name))
    code, err, data = report(tmp_path, "--target", f"2.6.0-cpu={foreign}")
    assert code == ExitCode.OK
    assert targets(data) == ["2.6.0-cpu", GOOD_ID]
    ids = [row["id"] for row in data["cells"]]
    assert "upstream:cond.simple/aot[cpu]" in ids
    assert all(re.fullmatch(r"[a-z]+:\w+\.[\w+\-]+/\w+\[\w+\]", i) for i in ids), ids
    reason = skipped(data)["seed.xml"]
    assert "1 testcase(s)" in reason and "\n" not in reason
    if "&#10;" in name:  # not named like an export test at all: shown, escaped
        assert "test_aot_export_cond_x\\x0aregression_cpu_float32 (not a HOP export" in reason
    else:
        assert "TestHOPCPU::test_aot_export_... (its HOP or variant is not a plain " in reason
    written = json.dumps(data) + err
    assert "s3cret" not in written
    assert not CONTROL.search(err) and "\nregression" not in err


def test_2c_a_suite_cell_with_a_control_character_is_left_out(tmp_path: Path) -> None:
    text = GOOD_TEXT.replace(
        '"catalog.cond.simple" name="aot[cpu]"', '"catalog.co&#10;nd.simple" name="aot[cpu]"'
    )
    text = text.replace("2.9.1", "2.10.0")
    other = write(tmp_path / "in" / "hand-2.10.0-cpu.xml", text)
    code, err, data = report(tmp_path, other)
    assert code == ExitCode.OK
    assert targets(data) == [GOOD_ID, "2.10.0-cpu"]
    assert "catalog.co\\x0and.simple::aot[cpu] (not named like a cell)" in err
    assert not CONTROL.search(err)


def _diff_report(path: Path, target: str, build: str, cell: str, status: str) -> Path:
    version = target.split("-")[0]
    data = {
        "schema_version": JSON_SCHEMA_VERSION,
        "targets": [{"id": target, "version": version, "build": build}],
        "cells": [{"id": cell, "results": [{"target": target, "status": status}]}],
    }
    return write(path, json.dumps(data))


@pytest.mark.parametrize(
    ("target", "cell"),
    [
        ("2.6.0-cpu\nregression  2.6.0-cpu  x", "catalog:cond.simple/aot[cpu]"),
        ("2.6.0-cpu", "catalog:cond.simple\nregression  2.6.0-cpu  x/aot[cpu]"),
        ("2.6.0-cpu", "catalog:co\x1b[2Knd.simple/aot[cpu]"),
        ("2.6.0-c\x1b[2Kpu", "catalog:cond.simple/aot[cpu]"),
        ("a/b", "catalog:cond.simple/aot[cpu]"),
    ],
)
def test_2c_diff_refuses_ids_that_could_forge_lines(tmp_path: Path, target: str, cell: str) -> None:
    good = _diff_report(
        tmp_path / "old.json", "2.6.0-cpu", "cpu", "catalog:cond.simple/aot[cpu]", "pass"
    )
    bad = _diff_report(tmp_path / "new.json", target, "cpu", cell, "fail")
    code, out, err = run("diff", good, bad)
    assert code == ExitCode.INPUT
    assert out == ""
    assert err.startswith(f"error: {bad} is a damaged report (")
    assert err.count("\n") == 1 and not CONTROL.search(err)


# --- 3. diff compares within build families, like the report ----------------------------------


def _suite(version: str, build: str, status: str) -> str:
    return (
        GOOD_TEXT.replace('"2.9.1-cpu"', f'"{version}-{build}"')
        .replace('"2.9.1+cpu"', f'"{version}+{build}"')
        .replace('name="build" value="cpu"', f'name="build" value="{build}"')
        .replace(
            '<property name="status" value="pass" />',
            f'<property name="status" value="{status}" />',
            1,
        )
    )


def test_3_diff_compares_cu124_with_cu128_as_one_family(tmp_path: Path) -> None:
    old_in = write(tmp_path / "old" / "2.6.0-cu124.xml", _suite("2.6.0", "cu124", "pass"))
    new_in = write(tmp_path / "new" / "2.9.1-cu128.xml", _suite("2.9.1", "cu128", "error"))
    both = run("report", old_in, new_in, "--out", tmp_path / "both")
    assert both[0] == ExitCode.OK and "1 regressions" in both[1]  # what the report says
    assert run("report", old_in, "--out", tmp_path / "r-old")[0] == ExitCode.OK
    assert run("report", new_in, "--out", tmp_path / "r-new")[0] == ExitCode.OK
    (old,) = (tmp_path / "r-old").glob("*/report.json")
    (new,) = (tmp_path / "r-new").glob("*/report.json")
    code, out, _ = run("diff", old, new)
    assert code == ExitCode.REGRESSION
    assert out.splitlines() == [
        "regression  2.6.0-cu124 -> 2.9.1-cu128  catalog:cond.simple/aot[cpu]  pass -> error",
        "1 regressions; targets added: 2.9.1-cu128; targets removed: 2.6.0-cu124",
    ]


# --- 4. words that say what is really wrong ---------------------------------------------------


def test_4a_a_symlink_loop_is_not_called_missing(tmp_path: Path) -> None:
    loop = tmp_path / "in" / "loop.xml"
    loop.parent.mkdir(parents=True)
    os.symlink(loop, loop)
    dangling = tmp_path / "in" / "dangling.xml"
    os.symlink(tmp_path / "nowhere.xml", dangling)
    code, _, data = report(tmp_path, loop, dangling, tmp_path / "typo.xml")
    assert code == ExitCode.OK
    assert targets(data) == [GOOD_ID]
    reasons = skipped(data)
    assert reasons["loop.xml"] == (
        f"{loop} is a loop of symbolic links: point the link at a JUnit file, or drop it."
    )
    assert reasons["dangling.xml"] == (
        f"{dangling} is a symbolic link to a missing file: fix the link, or drop it."
    )
    assert reasons["typo.xml"].endswith("does not exist: check the path, or drop it.")


def billion_laughs() -> str:
    entities = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    return pytest_file(
        body='<failure message="&l9;"/>', doctype=f'<!DOCTYPE t [<!ENTITY l0 "lol">{entities}]>'
    )


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        (
            "latin.xml",
            GOOD_TEXT.replace("Hand-written", "Hand-written \xe9t\xe9").encode("latin-1"),
            "is not valid UTF-8 (byte 0xe9 at offset",
        ),
        ("bomb.xml", billion_laughs().encode(), "uses XML entities that are not expanded"),
    ],
    ids=["latin-1", "billion-laughs"],
)
def test_4b_bad_encoding_and_entity_bombs_are_not_called_cut_off(
    tmp_path: Path, name: str, data: bytes, words: str
) -> None:
    bad = write(tmp_path / "in" / name, data)
    code, _, report_data = report(tmp_path, "--target", f"2.6.0-cpu={bad}")
    assert code == ExitCode.OK
    assert targets(report_data) == [GOOD_ID]
    reason = skipped(report_data)[name]
    assert reason.startswith(f"{bad} {words}") and "cut off" not in reason
    assert reason.endswith("or leave the file out.")


def test_4b_a_truncated_file_is_still_called_cut_off(tmp_path: Path) -> None:
    bad = write(tmp_path / "in" / "cut.xml", GOOD_TEXT[: len(GOOD_TEXT) // 2])
    code, _, data = report(tmp_path, bad)
    assert code == ExitCode.OK
    assert "probably cut off while being written" in skipped(data)["cut.xml"]


def test_4c_a_wrong_matrix_key_does_not_stop_the_report(tmp_path: Path) -> None:
    config = write(
        tmp_path / "pyproject.toml",
        '[tool.compat]\nversions = ">=banana"\n\n[[tool.compat.behaviours]]\n'
        'id = "cond.mine"\nhop = "cond"\nmode = "aot"\nproperties = { samples = "2" }\n'
        'sentence = "Mine."\n',
    )
    code, err, data = report(tmp_path, "--config", config)
    assert code == ExitCode.OK
    assert targets(data) == [GOOD_ID]
    (warning,) = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert warning == (
        "warning: pyproject.toml [tool.compat] versions: '>=banana' is not a version "
        "specifier; write e.g. '>=2.4' or '>=2.4,<2.8'; the report reads only the behaviours "
        "and goes on, but the matrix will not run until this is fixed."
    )
    assert "cond.mine" in json.dumps(data["cells"])


def test_4c_a_wrong_behaviour_still_stops_the_report(tmp_path: Path) -> None:
    config = write(
        tmp_path / "pyproject.toml",
        '[tool.compat]\n[[tool.compat.behaviours]]\nid = "cond.mine"\nhop = "cond"\n',
    )
    good = write(tmp_path / "good.xml", GOOD_TEXT)
    code, out, err = run("report", good, "--config", config, "--out", tmp_path / "r")
    assert code == ExitCode.CONFIG
    assert out == "" and err.startswith("error: ")
