"""Targets: the id round trip, default tags, planning."""

from __future__ import annotations

import tomllib

import pytest
from packaging.version import Version

from compat.config import Build, ConfigValueError, parse_config
from compat.errors import TargetError
from compat.targets import UNKNOWN_BUILD, TargetId, build_tag, default_tag, plan_targets
from compat.versions import NoMatchingVersionError

LINUX = "linux-x86_64"

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
    ("text", "version"), [("2.6.0", "2.6.0"), ("2.16.0rc1", "2.16.0rc1"), (" 2.9.1 ", "2.9.1")]
)
def test_a_version_alone_is_a_target_of_unknown_build_where_allowed(
    text: str, version: str
) -> None:
    tid = TargetId.parse(text, build_optional=True)
    assert tid == TargetId(Version(version), UNKNOWN_BUILD)
    assert str(tid) == version
    assert TargetId.parse(str(tid), build_optional=True) == tid
    with pytest.raises(TargetError, match="is not a target id"):
        TargetId.parse(text)  # the matrix must know where to install from


@pytest.mark.parametrize("text", ["2.6", "2.6.0+cpu", "v2.6.0", "2.6.0-", "2.6.0-CPU", ""])
def test_bad_ids_are_refused_with_the_version_alone_as_a_choice(text: str) -> None:
    with pytest.raises(TargetError) as info:
        TargetId.parse(text, build_optional=True)
    message = str(info.value)
    assert message.startswith(f"{text!r} is not a target id; write <full torch version>-<build>")
    assert "'2.6.0' (build unknown)" in message


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
