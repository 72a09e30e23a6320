"""compat.audit_plan: what an audit compares, read from [tool.compat.audit], table-driven."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from packaging.version import Version

from compat.audit_plan import (
    AuditNotRun,
    Candidate,
    CandidateKind,
    candidate_install,
    family_build,
    parse_candidate,
    resolve_baseline,
)
from compat.config import AuditConfig, Build, InstallSource, SourceKind
from compat.errors import ExitCode

LINUX, MAC = "linux-x86_64", "macosx-14.0-arm64"
WHEEL = "torch-2.16.0a0+git123-cp311-cp311-linux_x86_64.whl"
EXTRAS = ["numpy", "expecttest", "setuptools", "hypothesis"]
CPU_WHEELHOUSE = Build("cpu", InstallSource(SourceKind.FIND_LINKS, "/w", "PIP_FIND_LINKS"))
DEFAULT = Build("default", InstallSource(SourceKind.INDEX))


def _config(candidate: str | None = None, **kw: object) -> AuditConfig:
    return AuditConfig(candidate=candidate, **kw)  # type: ignore[arg-type]


def _dist(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / WHEEL).write_bytes(b"")
    (dist / "torch-2.15.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"")
    (dist / "numpy-2.0.0-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"")
    return dist


@pytest.mark.parametrize(
    ("text", "index", "expected"),
    [
        ("local", None, Candidate(CandidateKind.LOCAL)),
        ("2.16.0rc1", None, Candidate(CandidateKind.INDEX, "", Version("2.16.0rc1"))),
        (
            "2.16.0rc1",
            "https://mirror.example/whl/test",
            Candidate(CandidateKind.INDEX, "https://mirror.example/whl/test", Version("2.16.0rc1")),
        ),
        (
            f"dist/{WHEEL}",
            None,
            Candidate(CandidateKind.WHEEL, f"dist/{WHEEL}", Version("2.16.0a0+git123")),
        ),
        ("dist", None, Candidate(CandidateKind.WHEEL, "dist", Version("2.16.0a0+git123"))),
    ],
)
def test_candidate_kinds(tmp_path: Path, text: str, index: str | None, expected: Candidate) -> None:
    _dist(tmp_path)
    got = parse_candidate(_config(text, index_url=index), tmp_path)
    if expected.kind is CandidateKind.WHEEL:  # relative paths are the project's
        expected = Candidate(expected.kind, str(tmp_path / expected.location), expected.version)
    assert got == expected


@pytest.mark.parametrize(
    ("text", "index", "message"),
    [
        (
            None,
            None,
            "no candidate is named: set COMPAT_CANDIDATE (local, a wheel file or folder, or a "
            "version such as 2.16.0rc1) or candidate in [tool.compat.audit]",
        ),
        (
            "lcoal",
            None,
            "pyproject.toml [tool.compat.audit] candidate 'lcoal' is neither 'local', a torch "
            "version such as 2.16.0rc1, nor an existing wheel file or folder; did you mean "
            "'local'?",
        ),
        ("dist/torch-2.16.0-cp311.whl", None, "is neither 'local'"),  # no such file
        ("2.16", None, "'2.16' is not a full version: name the release to install"),
        ("local", "https://mirror.example/simple", "applies to a version candidate only"),
        ("empty", None, "the folder empty holds no torch wheel"),
        ("dist/numpy-2.0.0-cp311-cp311-manylinux_2_28_x86_64.whl", None, "a wheel of numpy"),
        ("dist/README.md", None, "README.md is not named like a wheel"),
    ],
)
def test_candidate_mistakes_name_the_key_and_the_fix(
    tmp_path: Path, text: str | None, index: str | None, message: str
) -> None:
    _dist(tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "dist" / "README.md").write_text("")
    with pytest.raises(AuditNotRun) as err:
        parse_candidate(_config(text, index_url=index), tmp_path)
    assert message in str(err.value)
    assert err.value.exit_code is ExitCode.INPUT  # 2: the audit could not run


def test_what_a_candidate_installs(tmp_path: Path) -> None:
    dist = _dist(tmp_path)
    wheel = Candidate(CandidateKind.WHEEL, str(dist / WHEEL), Version("2.16.0a0+git123"))
    assert candidate_install(wheel) == ([str(dist / WHEEL), *EXTRAS], {})
    folder = Candidate(CandidateKind.WHEEL, str(dist), Version("2.16.0a0+git123"))
    assert candidate_install(folder) == (
        ["torch==2.16.0a0+git123", *EXTRAS],
        {"UV_FIND_LINKS": str(dist)},
    )
    index = Candidate(CandidateKind.INDEX, "https://mirror.example/t", Version("2.16.0rc1"))
    assert candidate_install(index) == (
        ["torch==2.16.0rc1", *EXTRAS],
        {"UV_INDEX": "https://mirror.example/t"},
    )
    default = Candidate(CandidateKind.INDEX, "", Version("2.3.1"))
    assert candidate_install(default) == (["torch==2.3.1", "numpy<2", *EXTRAS[1:]], {})


@pytest.mark.parametrize(
    ("tag", "builds", "platform", "expected"),
    [
        ("cu128", (), LINUX, DEFAULT),  # what users have today: the default index's CUDA
        ("cu130", (CPU_WHEELHOUSE,), LINUX, DEFAULT),
        ("cpu", (DEFAULT, CPU_WHEELHOUSE), LINUX, CPU_WHEELHOUSE),
        ("cpu", (DEFAULT,), LINUX, Build("cpu", InstallSource(SourceKind.TORCH_BACKEND, "cpu"))),
        ("cu128", (), MAC, Build("cu128", InstallSource(SourceKind.TORCH_BACKEND, "cu128"))),
        (
            "rocm6.3",
            (),
            LINUX,
            Build("rocm6.3", InstallSource(SourceKind.TORCH_BACKEND, "rocm6.3")),
        ),
        ("git123", (), LINUX, None),
    ],
)
def test_the_build_a_candidate_is_compared_with(
    tag: str, builds: tuple[Build, ...], platform: str, expected: Build | None
) -> None:
    assert family_build(tag, builds, platform) == expected


OFFERED = [Version(v) for v in ("2.11.0", "2.12.0", "2.12.1", "2.13.0", "2.14.0rc1")]


def _baseline(
    baseline: str | None,
    candidate: str,
    tag: str,
    builds: Sequence[Build] = (DEFAULT, CPU_WHEELHOUSE),
    offered: Sequence[Version] = OFFERED,
) -> str:
    asked: list[str] = []

    def lister(build: Build) -> Sequence[Version]:
        asked.append(build.name)
        return offered

    target = resolve_baseline(
        _config("local", baseline=baseline),
        Version(candidate),
        tag,
        builds,
        LINUX,
        lister,
        {"PIP_FIND_LINKS": "/w"},
    )
    return f"{target.name} ({target.build.name}; asked: {','.join(asked) or '-'})"


@pytest.mark.parametrize(
    ("baseline", "candidate", "tag", "expected"),
    [
        (None, "2.13.0+cpu", "cpu", "2.12.1-cpu (cpu; asked: cpu)"),  # older than 2.13.0
        (None, "2.14.0rc1", "cu130", "2.13.0-cu130 (default; asked: default)"),  # final only
        (None, "2.16.0a0+git123", "cu128", "2.13.0-cu130 (default; asked: default)"),
        ("2.12.1-cu130", "2.13.0+cpu", "cpu", "2.12.1-cu130 (default; asked: -)"),
        ("2.12.1-cpu", "2.13.0+cpu", "cpu", "2.12.1-cpu (cpu; asked: -)"),
        ("2.9.1", "2.13.0+cu130", "cu130", "2.9.1-cu128 (default; asked: -)"),
        ("2.12.1-cu126", "2.13.0+cpu", "cpu", "2.12.1-cu126 (cu126; asked: -)"),
    ],
)
def test_baseline(baseline: str | None, candidate: str, tag: str, expected: str) -> None:
    assert _baseline(baseline, candidate, tag) == expected


@pytest.mark.parametrize(
    ("baseline", "candidate", "tag", "message"),
    [
        (
            None,
            "2.11.0+cpu",
            "cpu",
            "[tool.compat.builds.cpu]'s source, the wheelhouse /w ($PIP_FIND_LINKS), has no final "
            "torch release older than the candidate's 2.11.0+cpu; name a baseline, e.g. "
            "COMPAT_BASELINE=2.12.1-cpu, or baseline in [tool.compat.audit]",
        ),
        (None, "2.16.0a0", "git123", "no build serves the candidate's build family (git123)"),
        ("local", "2.13.0", "cpu", "the baseline is a release; only the candidate can be local"),
        ("2.12", "2.13.0", "cpu", "'2.12' is not a baseline: write a target id such as"),
        ("2.12.1-nightly", "2.13.0", "cpu", "no build makes '2.12.1-nightly'"),
    ],
)
def test_baseline_mistakes(baseline: str | None, candidate: str, tag: str, message: str) -> None:
    with pytest.raises(Exception) as err:
        _baseline(baseline, candidate, tag)
    assert message in str(err.value)
    assert getattr(err.value, "exit_code", None) is not None  # a CompatError: the audit says it
