"""The noxfile as nox sees it: `nox -l --json` in a subprocess, with test configs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINUX = sysconfig.get_platform() == "linux-x86_64"


def nox_list(*args: str, **env: str) -> list[dict[str, Any]]:
    """``nox -l --json`` with a clean COMPAT_* environment plus ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COMPAT_")}
    clean["NOX_SCRIPT_MODE"] = "none"  # this interpreter has what the noxfile imports
    done = subprocess.run(
        [sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"), "-l", "--json", *args],
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    listed: list[dict[str, Any]] = json.loads(done.stdout)
    return listed


def matrix_ids(listed: list[dict[str, Any]]) -> list[str]:
    return [s["call_spec"]["target"] for s in listed if s["name"] == "matrix" and s["call_spec"]]


def write_config(tmp_path: Path, body: str) -> str:
    path = tmp_path / "matrix.toml"
    path.write_text("[tool.compat]\n" + body, encoding="utf-8")
    return str(path)


@pytest.mark.skipif(not LINUX, reason="default-build ids carry the CUDA of Linux x86_64 wheels")
def test_default_matrix() -> None:
    listed = nox_list()
    assert [s["session"] for s in listed] == [
        "matrix(2.6.0-cu124)",
        "matrix(2.9.1-cu128)",
        "matrix(2.13.0-cpu)",
    ]
    assert {s["python"] for s in listed} == {"3.11"}
    everything = nox_list("-s", "matrix", "report", "tests", "lint")
    assert [s["name"] for s in everything][-3:] == ["report", "tests", "lint"]


@pytest.mark.skipif(not LINUX, reason="default-build ids carry the CUDA of Linux x86_64 wheels")
@pytest.mark.parametrize(
    ("env", "ids"),
    [
        ({}, ["2.4.1-cu121", "2.12.1-cpu", "2.13.0-cpu", "local"]),
        ({"COMPAT_VERSIONS": ">=2.13"}, ["2.13.0-cpu"]),
        ({"COMPAT_BUILDS": "cpu"}, ["2.12.1-cpu", "2.13.0-cpu"]),
        ({"COMPAT_TARGETS": "2.6.0-cu124,local"}, ["2.6.0-cu124", "local"]),
    ],
)
def test_configured_matrix(tmp_path: Path, env: dict[str, str], ids: list[str]) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for version in ("2.11.0", "2.12.0", "2.12.1", "2.13.0"):
        (wheels / f"torch-{version}+cpu-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"")
    config = write_config(
        tmp_path,
        f"""versions = ["2.4.1"]
[tool.compat.builds.default]
[tool.compat.builds.cpu]
versions = ">=2.12"
find-links = "{wheels}"
[tool.compat.builds.local]
""",
    )
    if "COMPAT_VERSIONS" in env:
        env = {**env, "COMPAT_BUILDS": "cpu"}
    listed = nox_list("-s", "matrix", COMPAT_CONFIG=config, **env)
    assert matrix_ids(listed) == ids
    assert [s["session"] for s in listed] == [f"matrix({i})" for i in ids]


def test_one_target_is_selected_by_its_signature(tmp_path: Path) -> None:
    config = write_config(tmp_path, 'versions = ["2.13.0"]\n[tool.compat.builds.cpu]\n')
    listed = nox_list("-s", "matrix(2.13.0-cpu)", COMPAT_CONFIG=config)
    assert [s["session"] for s in listed] == ["matrix(2.13.0-cpu)"]


def test_a_broken_config_leaves_the_other_sessions_usable(tmp_path: Path) -> None:
    config = write_config(tmp_path, 'version = ["2.6"]\n')
    listed = nox_list("-s", "matrix", "tests", COMPAT_CONFIG=config)
    assert [s["session"] for s in listed] == ["matrix", "tests"]
    assert "unknown key 'version'; did you mean 'versions'?" in listed[0]["description"]


def test_script_block_matches_the_project_dependencies() -> None:
    text = (ROOT / "noxfile.py").read_text(encoding="utf-8")
    block = re.search(r"^# /// script\n((?:#.*\n)+?)^# ///$", text, re.MULTILINE)
    assert block is not None
    script = tomllib.loads("".join(line[2:] + "\n" for line in block.group(1).splitlines()))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    nox_dep = [d for d in script["dependencies"] if d.startswith("nox")]
    assert sorted(set(script["dependencies"]) - set(nox_dep)) == sorted(project["dependencies"])
    assert nox_dep == [d for d in project["optional-dependencies"]["test"] if d.startswith("nox")]


def test_an_audit_that_cannot_run_makes_nox_exit_2(tmp_path: Path) -> None:
    # CI tells "could not run" (2) from "regressed" (1), though nox itself exits 0 or 1.
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COMPAT_")}
    summary = tmp_path / "summary.md"
    done = subprocess.run(
        [sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"), "-s", "audit"],
        capture_output=True,
        text=True,
        env={
            **clean,
            "NOX_SCRIPT_MODE": "none",
            "COMPAT_CANDIDATE": "lcoal",
            "COMPAT_AUDIT_SUMMARY": str(summary),
        },
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "$COMPAT_CANDIDATE 'lcoal' is neither 'local'" in done.stderr
    assert "did you mean 'local'?" in summary.read_text()
