"""run_target with a fake runner: installs, import checks, suites, env-errors, state, report."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

from compat.config import Build, InstallSource, SourceKind, load_config
from compat.junit import parse_junit
from compat.progress import State, TargetState, read_states, write_state
from compat.run import (
    PROBE,
    MatrixRun,
    RunFailed,
    TargetOutcome,
    resolve_test_requirements,
    run_report,
    run_target,
)
from compat.targets import LOCAL, Target, TargetId
from suites.schema import DEFAULT_MODES, Device

SUITE_XML = Path(__file__).parent / "data" / "junit" / "suite" / "suite-2.6.0-cu124.xml"
SUITE_COUNTS = (("pass", 9), ("error", 3), ("xfail", 3))
CPU_PROBE = '["2.13.0+cpu", null, null]'
CREDENTIALS_INDEX = "https://bob:t0ken@mirror.example/simple"


@dataclass
class FakeRunner:
    """A Runner that records what it is asked to do and fails where it is told to."""

    reuse: bool = False  # -R: nox skips every install step
    install_output: str = "Using Python 3.11\nInstalled 5 packages\n"
    install_fails: bool = False
    probe_output: str = CPU_PROBE + "\n"
    probe_fails: bool = False
    suite_exit: int = 0
    suite_writes: bool = True
    sequential: bool = True  # False: -j, where notify is refused
    report_exit: int = 0
    calls: list[tuple[str, ...]] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def installs(self) -> bool:
        return not self.reuse

    def install(self, args: Sequence[str], env: Mapping[str, str], log: Path) -> None:
        self.calls.append(("install", *args, *(f"{k}={v}" for k, v in env.items())))
        log.write_text(self.install_output, encoding="utf-8")
        if self.install_fails:
            raise RunFailed(1)

    def check(self, cmd: Sequence[str], log: Path, *, external: bool) -> None:
        self.calls.append(("check", *cmd, f"external={external}"))
        log.write_text(self.probe_output, encoding="utf-8")
        if self.probe_fails:
            raise RunFailed(1)

    def run(self, cmd: Sequence[str], *, external: bool) -> None:
        self.calls.append(("run", *cmd, f"external={external}"))
        if "suites" in cmd:
            if self.suite_writes:
                shutil.copyfile(SUITE_XML, cmd[cmd.index("--junit") + 1])
            if self.suite_exit:
                raise RunFailed(self.suite_exit)
        elif self.report_exit:
            raise RunFailed(self.report_exit)

    def log(self, message: str) -> None:
        self.logs.append(message)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def notify_report(self) -> bool:
        self.calls.append(("notify",))
        return self.sequential

    def kinds(self) -> list[str]:
        return [call[0] for call in self.calls]


def wheelhouse_target(tmp_path: Path, version: str = "2.13.0") -> Target:
    house = tmp_path / "wheels"
    house.mkdir(exist_ok=True)
    (house / "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"")
    build = Build("cpu", InstallSource(SourceKind.FIND_LINKS, str(house)))
    return Target(TargetId(Version(version), "cpu"), build)


def index_target() -> Target:
    return Target(
        TargetId(Version("2.6.0"), "cu124"), Build("default", InstallSource(SourceKind.INDEX))
    )


def local_target() -> Target:
    return Target(TargetId(None, LOCAL), Build(LOCAL, InstallSource(SourceKind.LOCAL)))


def matrix_run(tmp_path: Path, *targets: str) -> MatrixRun:
    return MatrixRun(
        run_id="run1",
        targets=targets,
        devices=(Device.CPU,),
        timeout=300.0,
        config_file=tmp_path / "pyproject.toml",
        own_envs=tmp_path / ".nox",
        reports=tmp_path / "reports",
    )


def go(tmp_path: Path, runner: FakeRunner, target: Target, env: dict[str, str]) -> TargetOutcome:
    return run_target(runner, target, env, matrix_run(tmp_path, target.name))


@dataclass(frozen=True)
class Case:
    """One way a target's session can go."""

    name: str
    target: str  # "wheelhouse", "missing-wheel", "index" or "local"
    fake: dict[str, Any]  # FakeRunner's settings
    env: dict[str, str]
    state: State
    calls: list[str]  # the kinds of runner calls, in order
    problem: list[str] = field(default_factory=list)  # fragments of the problem sentence


CASES = [
    Case(
        "success",
        "wheelhouse",
        {},
        {},
        State.DONE,
        ["install", "check", "run", "notify"],
    ),
    Case(
        "install fails",
        "index",
        dict(
            install_fails=True,
            install_output=(
                "Using Python 3.11\n"
                f"error: {CREDENTIALS_INDEX} has no torch==2.6.0\n"
                "hint: check the index\n"
            ),
        ),
        {"UV_DEFAULT_INDEX": CREDENTIALS_INDEX},
        State.ENV_ERROR,
        ["install", "notify"],
        [
            "target 2.6.0-cu124: could not install torch 2.6.0 from the default index "
            "(UV_DEFAULT_INDEX=https://mirror.example/simple): uv failed: error: "
            "https://mirror.example/simple has no torch==2.6.0 | hint: check the index.",
            "Point uv at another index with UV_DEFAULT_INDEX, or give "
            "[tool.compat.builds.default] an index-url",
        ],
    ),
    Case(
        "source lacks the wheel",
        "missing-wheel",
        {},
        {},
        State.ENV_ERROR,
        ["notify"],
        [
            "target 2.9.1-cpu: could not install torch 2.9.1 from the wheelhouse",
            "it has no torch 2.9.1+cpu wheel (it has 2.13.0+cpu).",
            "Change find-links in [tool.compat.builds.cpu]",
        ],
    ),
    Case(
        "import fails",
        "wheelhouse",
        dict(probe_fails=True, probe_output="ModuleNotFoundError: No module named 'torch'"),
        {},
        State.ENV_ERROR,
        ["install", "check", "notify"],
        ["python cannot import torch: ModuleNotFoundError: No module named 'torch'."],
    ),
    Case(
        "suite fails after writing",
        "wheelhouse",
        dict(suite_exit=3),
        {},
        State.FAILED,
        ["install", "check", "run", "notify"],
        ["target 2.13.0-cpu: the suite exited 3 after writing "],
    ),
    Case(
        "suite fails before writing",
        "wheelhouse",
        dict(suite_exit=-9, suite_writes=False),
        {},
        State.ENV_ERROR,
        ["install", "check", "run", "notify"],
        ["target 2.13.0-cpu: could not install", "the suite exited -9 before writing results."],
    ),
    Case(
        "-R reuses the env",
        "wheelhouse",
        dict(reuse=True),
        {},
        State.DONE,
        ["run", "notify"],
    ),
    Case(
        "local",
        "local",
        {},
        {"COMPAT_LOCAL_PYTHON": "/opt/torch/bin/python"},
        State.DONE,
        ["check", "run", "notify"],
    ),
    Case(
        "local, -R",
        "local",
        dict(reuse=True),
        {"COMPAT_LOCAL_PYTHON": "/opt/torch/bin/python"},
        State.DONE,
        ["run", "notify"],
    ),
    Case(
        "local without a python",
        "local",
        {},
        {"PATH": "EMPTY"},  # a folder without a python, made in tmp_path
        State.ENV_ERROR,
        ["notify"],
        ["target local: there is no python on PATH. Set COMPAT_LOCAL_PYTHON"],
    ),
]


def make_target(kind: str, tmp_path: Path) -> Target:
    if kind == "index":
        return index_target()
    if kind == "local":
        return local_target()
    return wheelhouse_target(tmp_path, "2.9.1" if kind == "missing-wheel" else "2.13.0")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_run_target(tmp_path: Path, case: Case) -> None:
    runner = FakeRunner(**case.fake)
    target = make_target(case.target, tmp_path)
    env = dict(case.env)
    if env.get("PATH") == "EMPTY":
        (tmp_path / "empty").mkdir()
        env["PATH"] = str(tmp_path / "empty")
    outcome = go(tmp_path, runner, target, env)

    assert outcome.state is case.state
    assert outcome.junit == tmp_path / "reports" / "junit" / f"{target.name}.xml"
    assert runner.kinds() == case.calls
    if case.problem:
        assert outcome.problem is not None
        for fragment in case.problem:
            assert fragment in outcome.problem
        assert "t0ken" not in outcome.problem and "bob" not in outcome.problem
    else:
        assert outcome.problem is None

    docs = parse_junit(outcome.junit.read_bytes(), str(outcome.junit))
    if case.state is State.ENV_ERROR:
        assert [d.env_error for d in docs] == [outcome.problem]
        assert "t0ken" not in outcome.junit.read_text(encoding="utf-8")
    else:
        assert all(d.env_error is None for d in docs)
        assert sum(len(d.cells) for d in docs) == 15


def test_run_target_installs_and_runs_what_the_target_says(tmp_path: Path) -> None:
    runner = FakeRunner()
    target = wheelhouse_target(tmp_path)
    outcome = go(tmp_path, runner, target, {})
    install, check, suite = runner.calls[:3]
    assert install == (
        "install",
        "torch==2.13.0+cpu",
        "numpy",
        "expecttest",
        "setuptools",
        "hypothesis",
        f"UV_FIND_LINKS={tmp_path / 'wheels'}",
    )
    assert check == ("check", "python", "-c", PROBE, "external=False")
    assert suite == (
        "run",
        "python",
        *("-m", "suites", "--junit", str(outcome.junit), "--target", "2.13.0-cpu"),
        *("--device", "cpu"),
        *(a for mode in DEFAULT_MODES for a in ("--mode", mode.value)),
        *("--timeout", "300", "external=False"),
    )
    assert any(line.startswith("installed in ") for line in runner.logs)
    assert "torch 2.13.0+cpu (CUDA None, HIP None) -> build cpu" in runner.logs
    assert runner.warnings == []


SELECTING = """
[tool.compat]
versions = ["2.13.0"]
modes = ["aot", "aoti"]
cases = ["user:*", "catalog:cond.*"]
case-modules = ["mypkg.hop_cases"]
case-path = ["cases"]
aoti-timeout = 1200
"""


def test_the_configured_selection_reaches_the_suite(tmp_path: Path) -> None:
    (tmp_path / "cases").mkdir()
    config_file = tmp_path / "matrix.toml"
    config_file.write_text(SELECTING, encoding="utf-8")
    config = load_config(tmp_path / "pyproject.toml", {"COMPAT_CONFIG": str(config_file)})
    target = wheelhouse_target(tmp_path)
    run = MatrixRun.of(
        config,
        run_id="run1",
        targets=(target.name,),
        config_file=config_file,
        own_envs=tmp_path / ".nox",
        reports=tmp_path / "reports",
    )
    runner = FakeRunner()
    outcome = run_target(runner, target, {}, run)
    suite = next(call for call in runner.calls if call[0] == "run" and "suites" in call)
    assert suite[suite.index("--junit") :] == (
        *("--junit", str(outcome.junit), "--target", "2.13.0-cpu", "--device", "cpu"),
        *("--mode", "aot", "--mode", "aoti", "--case", "user:*", "--case", "catalog:cond.*"),
        *("--case-module", "mypkg.hop_cases", "--case-path", str(tmp_path / "cases")),
        *("--timeout", "300", "--aoti-timeout", "1200"),
        *("--scratch", str(tmp_path / "reports" / "_scratch" / "compile" / "2.13.0-cpu")),
        "external=False",
    )


def test_without_aoti_the_suite_gets_no_compile_settings(tmp_path: Path) -> None:
    run = matrix_run(tmp_path, "local")
    args = run.suite_args(local_target(), tmp_path / "local.xml")
    assert "--aoti-timeout" not in args and "--scratch" not in args


def test_local_target_runs_the_external_python(tmp_path: Path) -> None:
    runner = FakeRunner()
    go(tmp_path, runner, local_target(), {"COMPAT_LOCAL_PYTHON": "/opt/torch/bin/python"})
    check, suite = runner.calls[:2]
    assert check == ("check", "/opt/torch/bin/python", "-c", PROBE, "external=True")
    assert suite[:2] == ("run", "/opt/torch/bin/python") and suite[-1] == "external=True"


@pytest.mark.parametrize(
    ("probe", "warning"),
    [
        (
            '["2.13.0+cu128", "12.8", null]',
            "2.13.0-cpu installed torch 2.13.0+cu128, a cu128 build: the id says cpu",
        ),
        ("torch imported\n", "python imported torch but did not say which build"),
    ],
)
def test_probe_warns_when_the_build_is_not_the_ids(
    tmp_path: Path, probe: str, warning: str
) -> None:
    runner = FakeRunner(probe_output=probe)
    outcome = go(tmp_path, runner, wheelhouse_target(tmp_path), {})
    assert outcome.state is State.DONE
    assert len(runner.warnings) == 1 and warning in runner.warnings[0]


def test_state_and_progress_lines(tmp_path: Path) -> None:
    runner = FakeRunner()
    target = wheelhouse_target(tmp_path)
    run = matrix_run(tmp_path, target.name, "2.6.0-cu124")
    run_target(runner, target, {}, run)
    states = read_states(run.states, "run1")
    assert list(states) == [target.name]
    assert states[target.name].state is State.DONE
    assert states[target.name].counts == SUITE_COUNTS
    assert runner.logs[0] == "matrix: 1 running · 1 waiting (of 2 targets)"
    done = runner.logs.index("matrix: 1 done · 1 waiting (of 2 targets)")
    assert runner.logs[done + 1].split()[:2] == ["done", target.name]
    assert runner.logs[done + 1].endswith("9 pass · 3 error · 3 xfail")


@pytest.mark.parametrize(
    ("other", "reports"),
    [(State.RUNNING, False), (State.DONE, True), (None, True)],
)
def test_under_j_the_last_one_out_builds_the_report(
    tmp_path: Path, other: State | None, reports: bool
) -> None:
    runner = FakeRunner(sequential=False)
    target = wheelhouse_target(tmp_path)
    run = matrix_run(tmp_path, target.name, "2.6.0-cu124")
    if other is not None:
        write_state(run.states, TargetState("2.6.0-cu124", "run1", other))
    outcome = run_target(runner, target, {}, run)
    report_calls = [c for c in runner.calls if c[0] == "run" and "compat" in c]
    assert outcome.problem is None
    assert len(report_calls) == (1 if reports else 0)


def test_a_report_that_fails_fails_the_last_session(tmp_path: Path) -> None:
    runner = FakeRunner(sequential=False, report_exit=2)
    outcome = go(tmp_path, runner, wheelhouse_target(tmp_path), {})
    assert outcome.state is State.DONE
    assert outcome.problem == ("the report exited 2; its error is above (python -m compat report)")


def test_run_report_command(tmp_path: Path) -> None:
    runner = FakeRunner()
    assert run_report(runner, tmp_path / "reports", tmp_path / "m.toml") is None
    assert runner.calls == [
        (
            "run",
            sys.executable,
            *("-m", "compat", "report", str(tmp_path / "reports" / "junit")),
            *("--out", str(tmp_path / "reports"), "--config", str(tmp_path / "m.toml")),
            "external=True",
        )
    ]


def test_test_requirements() -> None:
    extras = ["numpy", "expecttest", "setuptools", "hypothesis"]
    args, warning = resolve_test_requirements({"PIP_FIND_LINKS": "/w1 /w2"})
    assert args == ["torch==2.13.0+cpu", "-f", "/w1", "-f", "/w2", *extras]
    assert warning is None
    args, warning = resolve_test_requirements({})
    assert args == ["torch==2.13.0", *extras]
    assert warning is not None and warning.startswith("PIP_FIND_LINKS is not set")
