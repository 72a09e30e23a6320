"""Targets: the id round trip, planning, install arguments, env-error messages, run state."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest
from packaging.version import Version

from compat.config import Build, ConfigValueError, InstallSource, SourceKind, parse_config
from compat.errors import TargetError
from compat.targets import (
    State,
    Target,
    TargetId,
    TargetState,
    build_tag,
    check_source,
    count_outcomes,
    default_tag,
    env_error_message,
    install_args,
    local_python,
    plan_targets,
    probe_tag,
    read_states,
    render_progress,
    write_state,
)
from compat.versions import NoMatchingVersionError

LINUX = "linux-x86_64"
JUNIT = Path(__file__).parent / "data" / "junit"

# --- ids ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "version", "tag"),
    [
        ("2.6.0-cu124", "2.6.0", "cu124"),
        ("2.13.0-cpu", "2.13.0", "cpu"),
        ("2.9.1-rocm6.3", "2.9.1", "rocm6.3"),
        ("2.16.0rc1-cu132", "2.16.0rc1", "cu132"),
        ("2.17.0.dev20260101-cpu", "2.17.0.dev20260101", "cpu"),
        ("2.16.0-default", "2.16.0", "default"),
        ("local", None, "local"),
    ],
)
def test_id_round_trip(text: str, version: str | None, tag: str) -> None:
    tid = TargetId.parse(text)
    assert tid == TargetId(Version(version) if version else None, tag)
    assert str(tid) == text
    assert TargetId.parse(str(tid)) == tid


@pytest.mark.parametrize(
    "text",
    [
        "2.6-cu124",
        "2.6.0",
        "2.6.0-",
        "2.6.0-CU124",
        "2.6.0+cpu-cpu",
        "v2.6.0-cpu",
        "2.06.0-cpu",
        "",
    ],
)
def test_id_parse_rejects(text: str) -> None:
    with pytest.raises(TargetError, match="is not a target id; write <full torch version>-<build>"):
        TargetId.parse(text)


@pytest.mark.parametrize(
    ("version", "platform", "tag"),
    [
        ("2.2.0", LINUX, "cu121"),
        ("2.4.1", LINUX, "cu121"),
        ("2.5.1", LINUX, "cu124"),
        ("2.6.0", LINUX, "cu124"),
        ("2.7.1", LINUX, "cu126"),
        ("2.8.0", LINUX, "cu128"),
        ("2.10.0", LINUX, "cu128"),
        ("2.11.0", LINUX, "cu130"),
        ("2.14.1", LINUX, "cu130"),
        ("2.15.0", LINUX, "cu132"),
        ("2.16.0rc1", LINUX, "default"),  # not in the table: the suite reports the real CUDA
        ("2.6.0", "macosx-14.0-arm64", "cpu"),
        ("2.6.0", "win-amd64", "cpu"),
    ],
)
def test_default_tag(version: str, platform: str, tag: str) -> None:
    assert default_tag(Version(version), platform) == tag
    assert build_tag("default", Version(version), platform) == tag
    assert build_tag("cu126", Version(version), platform) == "cu126"


@pytest.mark.parametrize(
    ("torch_version", "cuda", "hip", "tag"),
    [
        ("2.13.0+cpu", None, None, "cpu"),
        ("2.6.0+cu124", "12.4", None, "cu124"),
        ("2.9.1", "12.8", None, "cu128"),  # the default index's wheels carry no label
        ("2.9.1", None, None, "cpu"),
        ("2.7.0+rocm6.3", None, "6.3.42131", "rocm6.3"),
        ("2.7.0", None, "6.2.41133-dd7f95766", "rocm6.2"),
    ],
)
def test_probe_tag(torch_version: str, cuda: str | None, hip: str | None, tag: str) -> None:
    assert probe_tag(torch_version, cuda, hip) == tag


# --- planning ----------------------------------------------------------------------------------

MATRIX = """
[tool.compat]
versions = ["2.6", "2.9.1"]
[tool.compat.builds.default]
[tool.compat.builds.cpu]
versions = ">=2.12"
find-links-env = "PIP_FIND_LINKS"
"""
OFFERED = {
    "default": [Version(v) for v in ("2.6.0", "2.9.0", "2.9.1", "2.12.1", "2.13.0")],
    "cpu": [Version(v) for v in ("2.11.0+cpu", "2.12.0+cpu", "2.12.1+cpu", "2.13.0+cpu")],
}


def plan(text: str = MATRIX, env: dict[str, str] | None = None) -> list[str]:
    config = parse_config(tomllib.loads(text)["tool"]["compat"], env or {})
    asked: list[str] = []

    def lister(build: Build) -> list[Version]:
        asked.append(build.name)
        return OFFERED[build.name]

    targets = plan_targets(config, env or {}, platform=LINUX, list_versions=lister)
    return [t.name for t in targets]


@pytest.mark.parametrize(
    ("env", "ids"),
    [
        ({}, ["2.6.0-cu124", "2.9.1-cu128", "2.12.1-cpu", "2.13.0-cpu"]),
        ({"COMPAT_BUILDS": "cpu"}, ["2.12.1-cpu", "2.13.0-cpu"]),
        ({"COMPAT_VERSIONS": "2.12"}, ["2.12.1-cu130", "2.12.1-cpu"]),
        ({"COMPAT_BUILDS": "default,local"}, ["2.6.0-cu124", "2.9.1-cu128", "local"]),
        ({"COMPAT_TARGETS": "2.13.0-cpu,2.9.1-cu128"}, ["2.13.0-cpu", "2.9.1-cu128"]),
        ({"COMPAT_TARGETS": "2.8.0-cu126"}, ["2.8.0-cu126"]),  # uv's backend, no table needed
        ({"COMPAT_TARGETS": "local"}, ["local"]),
    ],
)
def test_plan(env: dict[str, str], ids: list[str]) -> None:
    assert plan(env=env) == ids


def test_plan_asks_no_index_for_exact_pins() -> None:
    text = '[tool.compat]\nversions = ["2.6.0", "2.9.1"]\n'
    config = parse_config(tomllib.loads(text)["tool"]["compat"], {})

    def lister(build: Build) -> list[Version]:
        raise AssertionError("exact pins need no index")

    targets = plan_targets(config, {}, platform=LINUX, list_versions=lister)
    assert [t.name for t in targets] == ["2.6.0-cu124", "2.9.1-cu128"]


def test_plan_rejects_two_builds_making_one_id() -> None:
    text = """
[tool.compat]
versions = ["2.6.0"]
[tool.compat.builds.default]
[tool.compat.builds.cu124]
"""
    with pytest.raises(ConfigValueError) as info:
        plan(text)
    assert "builds 'default' and 'cu124' both make target 2.6.0-cu124" in str(info.value)


def test_plan_names_the_build_when_a_version_is_missing() -> None:
    with pytest.raises(NoMatchingVersionError) as info:
        plan(env={"COMPAT_VERSIONS": "2.6"})
    assert str(info.value).startswith(
        "[tool.compat.builds.cpu]: no torch 2.6.x on uv's --torch-backend cpu"
    )
    assert "(COMPAT_BUILDS)" in str(info.value)


def test_plan_rejects_ids_no_build_makes() -> None:
    with pytest.raises(TargetError) as info:
        plan(env={"COMPAT_TARGETS": "2.6.0-nightly"})
    assert "no build makes '2.6.0-nightly'" in str(info.value)


# --- sources -----------------------------------------------------------------------------------


def target(build: str, version: str, source: InstallSource) -> Target:
    v = Version(version)
    return Target(TargetId(v, build_tag(build, v, LINUX)), Build(build, source))


EXTRAS = ["numpy", "expecttest", "setuptools", "hypothesis"]
WHEELHOUSE_ENV = InstallSource(SourceKind.TORCH_BACKEND, "cpu", "PIP_FIND_LINKS")


@pytest.mark.parametrize(
    ("build", "version", "source", "env", "args"),
    [
        (
            "default",
            "2.6.0",
            InstallSource(SourceKind.INDEX),
            {},
            ["torch==2.6.0", *EXTRAS],
        ),
        (
            "default",
            "2.3.1",
            InstallSource(SourceKind.INDEX),
            {},
            ["torch==2.3.1", "numpy<2", "expecttest", "setuptools", "hypothesis"],
        ),
        (
            "cpu",
            "2.13.0",
            WHEELHOUSE_ENV,
            {"PIP_FIND_LINKS": "/w1 /w2"},
            ["torch==2.13.0+cpu", *EXTRAS, "--find-links", "/w1", "--find-links", "/w2"],
        ),
        (
            "cpu",
            "2.13.0",
            WHEELHOUSE_ENV,
            {},  # the variable is unset: uv's cpu backend
            ["torch==2.13.0", *EXTRAS, "--torch-backend", "cpu"],
        ),
        (
            "cu126",
            "2.7.1",
            InstallSource(SourceKind.INDEX_URL, "https://mirror.example/cu126"),
            {},
            ["torch==2.7.1", *EXTRAS, "--index", "https://mirror.example/cu126"],
        ),
    ],
)
def test_install_args(
    build: str, version: str, source: InstallSource, env: dict[str, str], args: list[str]
) -> None:
    assert install_args(target(build, version, source), env) == args


def _wheelhouse(tmp_path: Path, *names: str) -> Path:
    for name in names:
        (tmp_path / name).write_bytes(b"")
    return tmp_path


def test_check_source_wheelhouse(tmp_path: Path) -> None:
    house = _wheelhouse(tmp_path, "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")
    env = {"PIP_FIND_LINKS": str(house)}
    assert check_source(target("cpu", "2.13.0", WHEELHOUSE_ENV), env) is None
    assert check_source(target("cpu", "2.9.1", WHEELHOUSE_ENV), env) == (
        "it has no torch 2.9.1+cpu wheel (it has 2.13.0+cpu)"
    )
    only_env = InstallSource(SourceKind.FIND_LINKS, "", "MY_WHEELS")
    assert check_source(target("cpu", "2.13.0", only_env), {}) == "$MY_WHEELS is not set"
    missing = {"PIP_FIND_LINKS": str(tmp_path / "nope")}
    assert "is not a folder" in (
        check_source(target("cpu", "2.13.0", WHEELHOUSE_ENV), missing) or ""
    )


def test_check_source_index_that_does_not_answer() -> None:
    src = InstallSource(SourceKind.INDEX_URL, "http://user:s3cret@127.0.0.1:9/simple")
    problem = check_source(target("cu126", "2.7.1", src), {}, timeout=2)
    assert problem is not None
    assert "does not answer" in problem
    assert "s3cret" not in problem and "http://127.0.0.1:9/simple/torch/" in problem


@pytest.mark.parametrize(
    ("build", "source", "env", "fragments"),
    [
        (
            "cpu",
            WHEELHOUSE_ENV,
            {"PIP_FIND_LINKS": "/srv/wheels"},
            [
                "target 2.9.1-cpu: could not install torch 2.9.1 from the wheelhouse /srv/wheels "
                "($PIP_FIND_LINKS): PROBLEM.",
                "Set PIP_FIND_LINKS to a folder that has the wheel, or set find-links in "
                "[tool.compat.builds.cpu].",
            ],
        ),
        (
            "cpu",
            WHEELHOUSE_ENV,
            {},
            ["from uv's --torch-backend cpu: PROBLEM.", "find-links-env naming a variable"],
        ),
        (
            "default",
            InstallSource(SourceKind.INDEX),
            {"UV_DEFAULT_INDEX": "https://bob:t0ken@mirror.example/simple"},
            [
                "from the default index (UV_DEFAULT_INDEX=https://mirror.example/simple)",
                "Point uv at another index with UV_DEFAULT_INDEX, or give "
                "[tool.compat.builds.default] an index-url",
            ],
        ),
        (
            "cu126",
            InstallSource(SourceKind.INDEX_URL, "https://bob:t0ken@mirror.example/cu126"),
            {},
            [
                "from the index https://mirror.example/cu126",
                "Change index-url in [tool.compat.builds.cu126]",
            ],
        ),
    ],
)
def test_env_error_message(
    build: str, source: InstallSource, env: dict[str, str], fragments: list[str]
) -> None:
    message = env_error_message(target(build, "2.9.1", source), "PROBLEM", env)
    for fragment in fragments:
        assert fragment in message
    assert "t0ken" not in message and "bob" not in message


def test_local_python_skips_nox_envs(tmp_path: Path) -> None:
    own = tmp_path / ".nox"
    for folder in (own / "_nox_script_mode" / "bin", tmp_path / "user" / "bin"):
        folder.mkdir(parents=True)
        exe = folder / "python"
        exe.write_text("#!/bin/sh\n", encoding="utf-8")
        exe.chmod(0o755)
    path = os.pathsep.join([str(own / "_nox_script_mode" / "bin"), str(tmp_path / "user" / "bin")])
    assert local_python({"PATH": path}, own) == str(tmp_path / "user" / "bin" / "python")
    assert local_python({"PATH": path, "COMPAT_LOCAL_PYTHON": "/opt/py"}, own) == "/opt/py"
    assert local_python({"PATH": str(own / "_nox_script_mode" / "bin")}, own) is None


# --- run state ---------------------------------------------------------------------------------


def test_states_of_this_run_only(tmp_path: Path) -> None:
    write_state(tmp_path, TargetState("2.6.0-cu124", "run1", State.DONE, (("pass", 3),), 12.0))
    write_state(tmp_path, TargetState("2.9.1-cu128", "run1", State.RUNNING))
    write_state(tmp_path, TargetState("2.13.0-cpu", "old", State.DONE))
    (tmp_path / "junk.json").write_text("{", encoding="utf-8")
    states = read_states(tmp_path, "run1")
    assert sorted(states) == ["2.6.0-cu124", "2.9.1-cu128"]
    assert states["2.6.0-cu124"].counts == (("pass", 3),)
    lines = render_progress(["2.6.0-cu124", "2.9.1-cu128", "2.13.0-cpu"], states)
    assert lines[0] == "matrix: 1 done · 1 running · 1 waiting (of 3 targets)"
    assert lines[1].split() == ["done", "2.6.0-cu124", "12s", "3", "pass"]
    assert lines[2].split() == ["running", "2.9.1-cu128"]
    assert lines[3].split() == ["waiting", "2.13.0-cpu"]


@pytest.mark.parametrize(
    ("name", "counts"),
    [
        ("env-error-2.5.1-cpu.xml", (("env-error", 1),)),
        ("suite-2.6.0-cu124.xml", (("pass", 9), ("error", 3), ("xfail", 3))),
        ("hand-2.10.0-cpu.xml", (("pass", 3), ("error", 1), ("xfail", 1))),  # + a non-cell
    ],
)
def test_count_outcomes(name: str, counts: tuple[tuple[str, int], ...]) -> None:
    assert count_outcomes(JUNIT / "suite" / name) == counts


def test_count_outcomes_of_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "x.xml"
    broken.write_text("<testsuites", encoding="utf-8")
    assert count_outcomes(broken) == ()
    assert count_outcomes(tmp_path / "missing.xml") == ()
