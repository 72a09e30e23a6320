"""Sources: install arguments, the quick look, env-error messages, the local python."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from packaging.version import Version

from compat.config import Build, InstallSource, SourceKind
from compat.sources import (
    check_source,
    env_error_message,
    install_args,
    install_env,
    local_python,
)
from compat.targets import Target, TargetId, build_tag

LINUX = "linux-x86_64"


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
            ["torch==2.13.0+cpu", *EXTRAS],
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
            ["torch==2.7.1", *EXTRAS],
        ),
    ],
)
def test_install_args(
    build: str, version: str, source: InstallSource, env: dict[str, str], args: list[str]
) -> None:
    assert install_args(target(build, version, source), env) == args


@pytest.mark.parametrize(
    ("source", "env", "expected"),
    [
        (InstallSource(SourceKind.INDEX), {}, {}),
        (WHEELHOUSE_ENV, {}, {}),  # uv's backend: a name, no location
        (WHEELHOUSE_ENV, {"PIP_FIND_LINKS": "/w1 /w2"}, {"UV_FIND_LINKS": "/w1,/w2"}),
        (
            InstallSource(SourceKind.INDEX_URL, "https://bob:t0k@mirror.example/cu126"),
            {},
            {"UV_INDEX": "https://bob:t0k@mirror.example/cu126"},
        ),
    ],
)
def test_the_source_reaches_uv_through_its_variables(
    source: InstallSource, env: dict[str, str], expected: dict[str, str]
) -> None:
    tgt = target("cpu", "2.13.0", source)
    assert install_env(tgt, env) == expected
    assert not any("mirror.example" in a or "/w1" in a for a in install_args(tgt, env))


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
