"""Version requests: parsing, newest patch per minor, the pre-release policy, listing."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

from compat.versions import (
    IndexUnavailableError,
    NoMatchingVersionError,
    Runner,
    VersionRequestError,
    list_index,
    list_wheelhouse,
    parse_pip_index_output,
    parse_request,
    pip_env,
    resolve_versions,
)

# What the default index offered when this was written, plus two made-up pre-releases.
_OFFERED = """
2.2.0 2.2.1 2.2.2 2.3.0 2.3.1 2.4.0 2.4.1 2.5.0 2.5.1 2.6.0 2.7.0 2.7.1 2.8.0
2.9.0 2.9.1 2.10.0 2.11.0 2.12.0 2.12.1 2.13.0 2.13.0+cpu 2.14.0 2.14.1 2.15.0
2.15.1rc1 2.16.0rc1 2.16.0rc2
"""
AVAILABLE = [Version(v) for v in _OFFERED.split()]


def vs(text: str) -> tuple[Version, ...]:
    return tuple(Version(v) for v in text.split())


@pytest.mark.parametrize(
    ("request_", "prereleases", "expected"),
    [
        # a minor is its newest patch; an exact pin is taken as written
        (["2.6", "2.9.1", "2.13"], False, "2.6.0 2.9.1 2.13.0"),
        (["2.9"], False, "2.9.1"),
        (["2.9.0"], False, "2.9.0"),
        (["2.4.7"], False, "2.4.7"),  # exact pins are not checked here: the install says so
        ("2.12,2.5", False, "2.5.1 2.12.1"),  # the env-var form, sorted
        (["2.6", "2.6"], False, "2.6.0"),
        # a specifier: the newest matching patch of each minor
        (">=2.11", False, "2.11.0 2.12.1 2.13.0 2.14.1 2.15.0"),
        (">=2.4,<2.6", False, "2.4.1 2.5.1"),
        (">=2.9,<2.9.1", False, "2.9.0"),
        ("==2.13.*", False, "2.13.0"),  # the +cpu local label folds into 2.13.0
        # pre-releases only when asked: by the policy ...
        (">=2.15", False, "2.15.0"),
        (">=2.15", True, "2.15.1rc1 2.16.0rc2"),
        (["2.16"], True, "2.16.0rc2"),
        (["2.15"], True, "2.15.1rc1"),
        # ... or by naming one
        (["2.16.0rc1"], False, "2.16.0rc1"),
        (">=2.16.0rc1", False, "2.16.0rc2"),
    ],
)
def test_resolve(request_: str | list[str], prereleases: bool, expected: str) -> None:
    request = parse_request(request_)
    assert resolve_versions(request, AVAILABLE, prereleases=prereleases) == vs(expected)


@pytest.mark.parametrize(
    ("request_", "prereleases", "message"),
    [
        (
            ["2.16"],
            False,
            "no torch 2.16.x on the index; pre-releases exist (2.16.0rc1, 2.16.0rc2)",
        ),
        (["2.17"], True, "no torch 2.17.x on the index (newest there: 2.15.0)"),
        (">=3", False, "no torch version on the index matches '>=3'"),
        (">2.15.0", False, "pre-releases exist (2.15.1rc1, 2.16.0rc1, 2.16.0rc2): set prereleases"),
    ],
)
def test_resolve_finds_nothing(request_: str | list[str], prereleases: bool, message: str) -> None:
    with pytest.raises(NoMatchingVersionError) as info:
        resolve_versions(
            parse_request(request_), AVAILABLE, prereleases=prereleases, source="the index"
        )
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("value", "needs_index", "text"),
    [
        (["2.6.0", "2.9.1"], False, "2.6.0, 2.9.1"),
        (["2.6", "2.9.1"], True, "2.6, 2.9.1"),
        ("2.6.0", False, "2.6.0"),
        (">=2.4", True, ">=2.4"),
        (" >=2.4, <2.8", True, "<2.8,>=2.4"),
    ],
)
def test_parse_request(value: str | list[str], needs_index: bool, text: str) -> None:
    request = parse_request(value)
    assert request.needs_index is needs_index
    assert str(request) == text


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (["2.6.x"], "'2.6.x' is not a version; write a minor such as '2.6'"),
        (["2"], "names a major version only; write a minor such as '2.6'"),
        (["2.13.0+cpu"], "drop '+cpu' and choose the build under [tool.compat.builds]"),
        (["2.16rc1"], "a pre- or post-release needs the full version, e.g. '2.10.0rc1'"),
        ([">=2.4"], "is a specifier inside a list; give it as the whole value"),
        (">=two", "is not a version specifier; write e.g. '>=2.4'"),
        ([], "no versions given"),
        ("", "no versions given"),
    ],
)
def test_parse_request_rejects(value: str | list[str], fragment: str) -> None:
    with pytest.raises(VersionRequestError) as info:
        parse_request(value)
    assert fragment in str(info.value)


def test_parse_pip_index_output() -> None:
    out = "torch (2.15.0)\nAvailable versions: 2.15.0, 2.13.0+cpu, 2.9.1, junk, 2.2.0\n"
    assert parse_pip_index_output(out) == vs("2.2.0 2.9.1 2.13.0+cpu 2.15.0")
    assert parse_pip_index_output("WARNING: nothing\n") == ()


def test_list_wheelhouse(tmp_path: Path) -> None:
    for name in (
        "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl",
        "torch-2.9.1-cp311-cp311-manylinux_2_28_x86_64.whl",
        "numpy-2.1.0-cp311-cp311-manylinux_2_28_x86_64.whl",
        "torch-broken.whl",
        "README.txt",
    ):
        (tmp_path / name).write_bytes(b"")
    assert list_wheelhouse(tmp_path) == vs("2.9.1 2.13.0+cpu")


Call = tuple[Sequence[str], Mapping[str, str]]


def _fake_pip(rc: int, stdout: str, stderr: str = "") -> tuple[list[Call], Runner]:
    calls: list[Call] = []

    def run(cmd: Sequence[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
        calls.append((cmd, env))
        return subprocess.CompletedProcess(list(cmd), rc, stdout, stderr)

    return calls, run


def test_list_index_passes_the_source_to_pip_in_its_environment() -> None:
    calls, run = _fake_pip(0, "torch (2.9.1)\nAvailable versions: 2.9.1, 2.9.0\n")
    url = "https://bob:t0k@mirror.example/simple"
    got = list_index(env={}, index_url=url, pip=["pip"], run=run)
    assert got == vs("2.9.0 2.9.1")
    cmd, env = calls[0]
    assert list(cmd[:4]) == ["pip", "index", "versions", "torch"]
    assert "--pre" in cmd
    assert env["PIP_INDEX_URL"] == url
    assert not any("mirror.example" in arg for arg in cmd)


@pytest.mark.parametrize(
    ("env", "kwargs", "expected"),
    [
        (
            {"PATH": "/bin", "PIP_FIND_LINKS": "/w", "PIP_INDEX_URL": "https://other.example"},
            {"index_url": "https://mirror.example/simple"},
            {"PATH": "/bin", "PIP_INDEX_URL": "https://mirror.example/simple"},
        ),
        (
            {"PIP_EXTRA_INDEX_URL": "https://x.example", "PIP_CONFIG_FILE": "/etc/pip.conf"},
            {"find_links": ["/w1", "https://w.example/t"]},
            {"PIP_FIND_LINKS": "/w1 https://w.example/t"},
        ),
        ({"PIP_CERT": "/ca.pem", "PIP_PROXY": "http://proxy.example:3128"}, {}, {}),
    ],
)
def test_a_listing_asks_only_its_source(
    env: dict[str, str], kwargs: dict[str, Any], expected: dict[str, str]
) -> None:
    got = pip_env(env, **kwargs)
    transport = {k: v for k, v in env.items() if k in ("PIP_CERT", "PIP_PROXY")}
    fixed = {"PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    assert got == {**expected, **transport, **fixed}


def test_a_pip_error_is_scrubbed() -> None:
    _, run = _fake_pip(1, "", "ERROR: 401 for https://bob:t0k@mirror.example/simple/torch/\n")
    with pytest.raises(IndexUnavailableError) as info:
        list_index(env={}, pip=["pip"], run=run)
    assert "t0k" not in str(info.value)
    assert "https://mirror.example/simple/torch/" in str(info.value)


def test_list_index_unreachable_says_where() -> None:
    _, run = _fake_pip(1, "", "ERROR: Could not find a version that satisfies torch\n")
    with pytest.raises(IndexUnavailableError) as info:
        list_index(env={}, pip=["pip"], run=run, where="the index at the office")
    assert "could not list torch versions on the index at the office" in str(info.value)
    assert "satisfies torch" in str(info.value)
