"""compat.audit_run: the audit from start to end with a fake shell, and once for real.

The fake shell plays uv, the probe and the suite: it writes suite-format JUnit
for the ``--target`` it is given, so the report, the gate and the files are
the real ones. The last test installs the 2.13.0+cpu wheel from
``$PIP_FIND_LINKS`` into a venv (uv's cache only) and runs both suites.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import sys
import sysconfig
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

from compat.audit import AuditExit
from compat.audit_run import (
    ENV_AUDIT_SUMMARY,
    AuditOutcome,
    AuditSettings,
    Command,
    audit_session,
    find_uv,
    run_audit,
)
from compat.config import MatrixConfig, parse_config
from compat.versions import list_wheelhouse
from suites.junit_xml import Testcase, Testsuite, junit_document
from suites.schema import SCHEMA_VERSION, CellId, Prop, Status, SuiteProp

ROOT = Path(__file__).resolve().parents[1]
WL = "catalog:while_loop.simple/serialize[cpu]"
COND = "catalog:cond.simple/aot[cpu]"
SIG = "RuntimeError: carried inputs lost (<n> of <n>)"
P, E = Status.PASS, Status.ERROR
LOCAL_PYTHON = "/opt/torch/bin/python"
CONFIG = """
[tool.compat]
versions = ["2.6.0"]
[tool.compat.builds.default]
[tool.compat.builds.cpu]
versions = ["2.13.0"]
find-links-env = "PIP_FIND_LINKS"
"""


def suite_xml(target: str, torch: str, cells: Mapping[str, Status]) -> bytes:
    """A suite-format JUnit file of ``cells`` as ``python -m suites`` writes one."""
    build = torch.partition("+")[2] or "cpu"
    props = (
        (SuiteProp.SCHEMA.value, SCHEMA_VERSION),
        (SuiteProp.TARGET.value, target),
        (SuiteProp.TORCH_VERSION.value, torch),
        (SuiteProp.BUILD.value, build),
        (SuiteProp.HOP_DB.value, "importable"),
    )
    cases = []
    for text, status in cells.items():
        cid = CellId.parse(text)
        cprops = [
            (Prop.HOP.value, cid.hop),
            (Prop.VARIANT.value, cid.variant),
            (Prop.SOURCE.value, cid.source.value),
            (Prop.MODE.value, cid.mode.value),
            (Prop.DEVICE.value, cid.device.value),
            (Prop.STATUS.value, status.value),
        ]
        if status is E:
            cprops += [(Prop.ERROR_TYPE.value, "RuntimeError"), (Prop.SIGNATURE.value, SIG)]
        cases.append(
            Testcase(
                f"{cid.source}.{cid.hop}.{cid.variant}",
                f"{cid.mode}[{cid.device}]",
                status,
                properties=tuple(cprops),
                message=SIG if status is E else "",
            )
        )
    suite = Testsuite(f"hop-suite[{target}]", props, tuple(cases))
    return junit_document([suite], suite.name)


BASELINE_CELLS = {WL: P, COND: E}


@dataclass
class FakeShell:
    """Plays uv, the import probe and the suite; fails where it is told to."""

    candidate_cells: Mapping[str, Status]
    baseline_cells: Mapping[str, Status] = field(default_factory=lambda: dict(BASELINE_CELLS))
    candidate_torch: str = "2.13.0+cpu"
    fail: str = ""  # "baseline install", "candidate install", "candidate probe", "suite"
    calls: list[list[tuple[str, ...]]] = field(default_factory=list)
    said: list[str] = field(default_factory=list)

    def say(self, message: str) -> None:
        self.said.append(message)

    def run(self, commands: Sequence[Command]) -> list[int]:
        self.calls.append([c.argv for c in commands])
        return [self._one(c) for c in commands]

    def _one(self, cmd: Command) -> int:
        argv = cmd.argv
        cmd.log.write_text("")  # as the real shell: every command has its log
        role = "baseline" if any("audit-baseline" in a for a in argv) else "candidate"
        if argv[1:3] == ("pip", "install"):
            if self.fail == f"{role} install":
                cmd.log.write_text("error: no wheel for cp311 here\n")
                return 1
            cmd.log.write_text("Installed 5 packages\n")
            return 0
        if argv[1] == "venv":
            Path(argv[-1], "bin").mkdir(parents=True, exist_ok=True)
            return 0
        if argv[1] == "-c":
            if self.fail == f"{role} probe":
                cmd.log.write_text("ModuleNotFoundError: No module named 'torch'\n")
                return 1
            torch = self.candidate_torch if role == "candidate" else "2.12.1+cu130"
            cuda = "13.0" if "cu130" in torch else None
            cmd.log.write_text(json.dumps([torch, cuda, None]) + "\n")
            return 0
        assert argv[1:3] == ("-m", "suites"), argv
        if self.fail == "suite" and role == "baseline":
            cmd.log.write_text("Killed\n")
            return -9
        junit = Path(argv[argv.index("--junit") + 1])
        target = argv[argv.index("--target") + 1]
        cells = self.candidate_cells if role == "candidate" else self.baseline_cells
        torch = self.candidate_torch if role == "candidate" else "2.12.1+cu130"
        junit.write_bytes(suite_xml(target, torch, cells))
        return 0


def settings(tmp_path: Path, cpus: int = 2) -> AuditSettings:
    return AuditSettings(
        root=tmp_path,
        reports=tmp_path / "reports",
        envs=tmp_path / ".nox",
        uv="uv",
        python="3.11",
        platform="linux-x86_64",
        cpus=cpus,
        today=date(2026, 11, 30),
    )


def config(env: Mapping[str, str]) -> MatrixConfig:
    return parse_config(tomllib.loads(CONFIG)["tool"]["compat"], env)


LOCAL_ENV = {
    "COMPAT_CANDIDATE": "local",
    "COMPAT_LOCAL_PYTHON": LOCAL_PYTHON,
    "COMPAT_BASELINE": "2.12.1-cu130",
}


def audit(
    tmp_path: Path, shell: FakeShell, env: Mapping[str, str] = LOCAL_ENV, cpus: int = 2
) -> AuditOutcome:
    return run_audit(shell, config(env), env, settings(tmp_path, cpus))


def report_json(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "report.json").read_text())
    return data


def test_a_regression_exits_1_and_leads_the_summary(tmp_path: Path) -> None:
    shell = FakeShell({WL: E, COND: P})
    outcome = audit(tmp_path, shell)
    assert outcome.code is AuditExit.REGRESSED
    assert outcome.folder == tmp_path / "reports" / "2026-11-30-audit-local-vs-2.12.1-cu130"
    assert sorted(p.name for p in outcome.folder.iterdir()) == [
        "junit.xml",
        "report.html",
        "report.json",
        "report.md",
        "summary.md",
    ]
    summary = (outcome.folder / "summary.md").read_text()
    assert outcome.summary == summary
    assert f"| `{WL}` | ✅ pass | 💥 error | `{SIG}` |" in summary
    assert summary.index("Regressions (1)") < summary.index("Fixes (1)")
    assert outcome.line.endswith("1 regression, 1 fix, 0 new, 0 gone, 0 default changed")
    data = report_json(outcome.folder)
    assert [t["id"] for t in data["targets"]] == ["2.12.1-cu130", "local"]
    assert [(c["kind"], c["cell"]) for c in data["facts"]["changes"]] == [
        ("regression", WL),
        ("fix", COND),
    ]


def test_nothing_regressed_exits_0(tmp_path: Path) -> None:
    outcome = audit(tmp_path, FakeShell({WL: P, COND: P}))
    assert outcome.code is AuditExit.OK, outcome.line
    assert "**No regressions**" in outcome.summary


def test_stale_junit_files_are_never_read(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    # What earlier runs left: the matrix's files, one of them for the baseline's very id
    # with other results, and an earlier audit's scratch folder with the same file names.
    (reports / "junit").mkdir(parents=True)
    stale = {WL: E, COND: P, "catalog:scan.simple/aot[cpu]": P}
    for target in ("2.12.1-cu130", "2.9.1-cu128", "local"):
        (reports / "junit" / f"{target}.xml").write_bytes(suite_xml(target, "2.9.1+cu128", stale))
    old = reports / "_scratch" / "audit" / "20200101T000000-old"
    old.mkdir(parents=True)
    for role, target in (("candidate", "local"), ("baseline", "2.12.1-cu130")):
        (old / f"{role}.xml").write_bytes(suite_xml(target, "2.9.1+cu128", stale))

    outcome = audit(tmp_path, FakeShell({WL: P, COND: P}))

    assert outcome.code is AuditExit.OK, outcome.line
    assert outcome.folder is not None
    data = report_json(outcome.folder)
    targets = data["targets"]
    assert [t["id"] for t in targets] == ["2.12.1-cu130", "local"]
    # Read from this run's own folder: a new one, beside the old.
    (scratch,) = {Path(t["source_file"]).parent for t in targets}
    assert scratch.parent == old.parent and scratch != old
    assert sorted(p.name for p in scratch.glob("*.xml")) == ["baseline.xml", "candidate.xml"]
    assert {c["id"] for c in data["cells"]} == {WL, COND}  # not the stale scan cell
    # The stale regression (while_loop) is not here; only this run's fix.
    assert [c["kind"] for c in data["facts"]["changes"]] == ["fix"]


@pytest.mark.parametrize(
    ("fail", "env", "fragments"),
    [
        (
            "baseline install",
            LOCAL_ENV,
            [
                "The audit could not run: the baseline target 2.12.1-cu130: could not install "
                "torch 2.12.1 from the default index (uv's default): uv exited 1: error: no "
                "wheel for cp311 here.",
                "Point uv at another index with UV_DEFAULT_INDEX",
            ],
        ),
        (
            "candidate install",
            {
                **LOCAL_ENV,
                "COMPAT_CANDIDATE": "dist/torch-2.16.0a0+git1-cp311-cp311-linux_x86_64.whl",
            },
            [
                "The audit could not run: the candidate, the wheel ",
                "could not be installed: uv exited 1: error: no wheel for cp311 here. Check that "
                "the wheel is for Python 3.11",
            ],
        ),
        (
            "candidate probe",
            LOCAL_ENV,
            [
                f"the candidate, the interpreter {LOCAL_PYTHON}: {LOCAL_PYTHON} cannot import "
                "torch: ModuleNotFoundError: No module named 'torch'. Set COMPAT_LOCAL_PYTHON",
            ],
        ),
        (
            "suite",
            LOCAL_ENV,
            ["the baseline 2.12.1-cu130: the suite exited -9 before writing results: Killed"],
        ),
        (
            "",
            {**LOCAL_ENV, "COMPAT_BASELINE": "2.12.1-cu12x"},
            ["$COMPAT_BASELINE: no build makes '2.12.1-cu12x'"],
        ),
        (
            "",
            {**LOCAL_ENV, "COMPAT_BASELINE": "local"},
            ["$COMPAT_BASELINE: the baseline is a release; only the candidate can be local"],
        ),
    ],
)
def test_an_audit_that_cannot_run_exits_2_with_the_sentence(
    tmp_path: Path, fail: str, env: Mapping[str, str], fragments: list[str]
) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "torch-2.16.0a0+git1-cp311-cp311-linux_x86_64.whl").write_bytes(b"")
    outcome = audit(tmp_path, FakeShell({WL: P}, fail=fail), env)
    assert outcome.code is AuditExit.NOT_RUN
    assert outcome.folder is None
    for fragment in fragments:
        assert fragment in outcome.line
    assert outcome.summary.startswith("# Audit could not run")
    assert not [p for p in (tmp_path / "reports").glob("2026-*")]


def test_the_same_id_on_both_sides_is_refused(tmp_path: Path) -> None:
    env = {"COMPAT_CANDIDATE": "2.13.0+cpu", "COMPAT_BASELINE": "2.13.0-cpu"}
    outcome = audit(tmp_path, FakeShell({WL: P}), env)
    assert outcome.code is AuditExit.NOT_RUN
    assert "the candidate and the baseline are both 2.13.0-cpu" in outcome.line


@pytest.mark.parametrize(("cpus", "together"), [(2, True), (8, True), (1, False)])
def test_both_suites_run_at_once_where_the_cpus_allow(
    tmp_path: Path, cpus: int, together: bool
) -> None:
    shell = FakeShell({WL: P, COND: P})
    audit(tmp_path, shell, cpus=cpus)
    suites = [batch for batch in shell.calls if any("suites" in argv for argv in batch)]
    assert [len(batch) for batch in suites] == ([2] if together else [1, 1])
    first, second = (argv for batch in suites for argv in batch)
    # The same cases, modes and devices on both sides: only the interpreter and files differ.
    assert first[0] == LOCAL_PYTHON and second[0].endswith("audit-baseline/bin/python")
    strip = {"--junit", "--target"}
    assert [a for i, a in enumerate(first[1:]) if first[i] not in strip] == [
        a for i, a in enumerate(second[1:]) if second[i] not in strip
    ]


def test_both_suites_run_what_the_matrix_selects(tmp_path: Path) -> None:
    """[tool.compat]'s modes and cases reach both suites; aoti gets its own compile folders."""
    table = tomllib.loads(CONFIG)["tool"]["compat"]
    table |= {"modes": ["aot", "aoti"], "cases": ["catalog:cond.*"], "aoti-timeout": 600}
    shell = FakeShell({WL: P, COND: P})
    run_audit(shell, parse_config(table, LOCAL_ENV), LOCAL_ENV, settings(tmp_path))
    suites = [argv for batch in shell.calls for argv in batch if "suites" in argv]
    assert len(suites) == 2
    for argv in suites:
        pairs = list(itertools.pairwise(argv))
        assert ("--mode", "aot") in pairs and ("--mode", "aoti") in pairs
        assert ("--case", "catalog:cond.*") in pairs and ("--aoti-timeout", "600") in pairs
    scratch = {argv[argv.index("--scratch") + 1] for argv in suites}
    assert len(scratch) == 2  # one compile folder per side, in the audit's own scratch


def test_the_default_baseline_is_the_newest_older_release_of_the_family(tmp_path: Path) -> None:
    env = {"COMPAT_CANDIDATE": "local", "COMPAT_LOCAL_PYTHON": LOCAL_PYTHON}
    shell = FakeShell({WL: P, COND: P}, candidate_torch="2.13.0+cu130")
    asked: list[str] = []

    def lister(build: object) -> list[Version]:
        asked.append(getattr(build, "name", ""))
        return [Version(v) for v in ("2.9.1", "2.12.1", "2.13.0", "2.14.0")]

    outcome = run_audit(shell, config(env), env, settings(tmp_path), list_versions=lister)
    assert asked == ["default"]
    assert outcome.folder is not None
    assert outcome.folder.name == "2026-11-30-audit-local-vs-2.12.1-cu130"


def test_the_session_writes_the_job_summary_also_when_the_audit_cannot_run(
    tmp_path: Path,
) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(CONFIG, encoding="utf-8")
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step\n")
    env = {**os.environ, "COMPAT_CANDIDATE": "lcoal", ENV_AUDIT_SUMMARY: str(summary)}
    outcome = audit_session(
        tmp_path, pyproject, env, say=print, python="3.11", platform="linux-x86_64"
    )
    assert outcome.code is AuditExit.NOT_RUN
    text = summary.read_text()
    assert text.startswith("earlier step\n# Audit could not run\n")
    assert "did you mean 'local'?" in text


def test_a_local_python_that_is_not_there_is_a_sentence_not_a_crash(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(CONFIG, encoding="utf-8")
    missing = str(tmp_path / "no-venv" / "bin" / "python")
    env = {**os.environ, "COMPAT_CANDIDATE": "local", "COMPAT_LOCAL_PYTHON": missing}
    outcome = audit_session(
        tmp_path, pyproject, env, say=print, python="3.11", platform="linux-x86_64"
    )
    assert outcome.code is AuditExit.NOT_RUN
    assert outcome.line == (
        f"The audit could not run: the candidate, the interpreter {missing}: {missing} cannot "
        f"import torch: {missing}: No such file or directory. Set COMPAT_LOCAL_PYTHON to an "
        "interpreter that has torch."
    )


# --- for real: uv, the wheelhouse, two suites ---------------------------------------------

WHEELS = os.environ.get("PIP_FIND_LINKS", "").split()


def _has_cpu_wheel() -> bool:
    return any(
        Path(w).is_dir() and Version("2.13.0+cpu") in list_wheelhouse(Path(w)) for w in WHEELS
    )


@pytest.mark.torch
@pytest.mark.skipif(not _has_cpu_wheel(), reason="needs torch 2.13.0+cpu in $PIP_FIND_LINKS")
@pytest.mark.skipif(find_uv(os.environ) is None, reason="needs uv")
def test_a_real_audit_of_this_torch_against_the_wheelhouse(tmp_path: Path) -> None:
    # This interpreter's torch (the tests session's 2.13.0+cpu) against the same release
    # installed from the wheelhouse: the suites must agree, so nothing regressed.
    root = tmp_path / "project"
    shutil.copytree(ROOT / "suites", root / "suites")
    env = {
        **os.environ,
        "COMPAT_CANDIDATE": "local",
        "COMPAT_LOCAL_PYTHON": sys.executable,
        "COMPAT_BASELINE": "2.13.0-cpu",
        "UV_OFFLINE": "1",  # uv's cache only: the tests session installed the same
    }
    pyproject = root / "pyproject.toml"
    pyproject.write_text(CONFIG + '[tool.compat.audit]\nhops = ["while_loop"]\n', "utf-8")
    said: list[str] = []
    outcome = audit_session(
        root,
        pyproject,
        env,
        say=said.append,
        python=f"{sys.version_info.major}.{sys.version_info.minor}",
        platform=sysconfig.get_platform(),
    )
    assert outcome.code is AuditExit.OK, (outcome.line, said)
    assert outcome.folder is not None
    assert outcome.folder.name.endswith("-audit-local-vs-2.13.0-cpu")
    data = report_json(outcome.folder)
    assert [t["id"] for t in data["targets"]] == ["2.13.0-cpu", "local"]
    assert [t["torch_version"] for t in data["targets"]] == ["2.13.0+cpu", "2.13.0+cpu"]
    cells = data["cells"]
    assert cells and {c["hop"] for c in cells} == {"while_loop"}
    assert data["facts"]["changes"] == []
    assert (root / ".nox" / "audit-baseline").is_dir()
