"""One target of the matrix from start to end: install, import check, suite, state, report.

The noxfile's sessions call this through a ``Runner``, the few things it
needs from nox, so that it runs (and is tested) without nox. Failed cells
are results; a target that cannot be installed or imported gets an
env-error JUnit file instead of results, and never stops the others.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from packaging.version import Version

from compat.config import DEFAULT_AOTI_TIMEOUT, MatrixConfig
from compat.progress import (
    State,
    TargetState,
    count_outcomes,
    read_states,
    render_progress,
    run_lock,
    write_state,
)
from compat.sources import (
    check_source,
    describe_source,
    effective_source,
    env_error_message,
    hop_db_requirements,
    install_args,
    install_env,
    local_python,
)
from compat.targets import Target
from suites.schema import DEFAULT_MODES, Device, Mode, torch_build_tag
from suites.scrub import scrub_credentials

TESTS_TORCH = "2.13.0"  # the torch of `nox -s tests`
PROBE = (
    "import json, torch; print(json.dumps([torch.__version__, torch.version.cuda,"
    " getattr(torch.version, 'hip', None)]))"
)


class RunFailed(Exception):
    """A command the runner ran exited non-zero."""

    def __init__(self, code: int | None) -> None:
        super().__init__(f"exited {code}")
        self.code = code


class Runner(Protocol):
    """What running a target needs from nox; the noxfile's adapter wraps ``nox.Session``."""

    def installs(self) -> bool:
        """False under -R (--no-install with a reused env), where every install step is skipped."""

    def install(self, args: Sequence[str], env: Mapping[str, str], log: Path) -> None:
        """``uv pip install`` ``args`` with ``env`` added, output to ``log``; or RunFailed."""

    def check(self, cmd: Sequence[str], log: Path, *, external: bool) -> None:
        """Run a command of the install step (the import check), output to ``log``; or RunFailed."""

    def run(self, cmd: Sequence[str], *, external: bool) -> None:
        """Run a command with its output shown; or RunFailed."""

    def log(self, message: str) -> None:
        """Print a line of the session's log."""

    def warn(self, message: str) -> None:
        """Print a warning in the session's log."""

    def notify_report(self) -> bool:
        """Queue the report session after this one; False where nox runs sessions alone (-j)."""


@dataclass(frozen=True)
class MatrixRun:
    """What every target session of one nox invocation shares."""

    run_id: str  # COMPAT_RUN_ID: -j workers inherit it, so their state files agree
    targets: tuple[str, ...]  # every target id of the matrix, for the progress lines
    devices: tuple[Device, ...]
    timeout: float
    config_file: Path  # where [tool.compat] was read: the report takes its behaviours
    own_envs: Path  # nox's envs, which are never "the local python"
    reports: Path = Path("reports")
    modes: tuple[Mode, ...] = DEFAULT_MODES
    cases: tuple[str, ...] = ()  # fnmatch patterns over case ids (the suite's --case)
    case_modules: tuple[str, ...] = ()  # modules whose CASES are user rows
    case_path: tuple[Path, ...] = ()  # absolute folders where case modules are found
    aoti_timeout: float = DEFAULT_AOTI_TIMEOUT

    @classmethod
    def of(
        cls,
        config: MatrixConfig,
        *,
        run_id: str,
        targets: tuple[str, ...],
        config_file: Path,
        own_envs: Path,
        reports: Path = Path("reports"),
    ) -> MatrixRun:
        """What [tool.compat] says about every target of one run."""
        return cls(
            run_id=run_id,
            targets=targets,
            devices=config.devices,
            timeout=config.timeout,
            config_file=config_file,
            own_envs=own_envs,
            reports=reports,
            modes=config.modes,
            cases=config.cases,
            case_modules=config.case_modules,
            case_path=config.case_path,
            aoti_timeout=config.aoti_timeout,
        )

    @property
    def junit(self) -> Path:
        return self.reports / "junit"

    @property
    def states(self) -> Path:
        return self.reports / "_scratch" / "progress"

    @property
    def logs(self) -> Path:
        return self.reports / "_scratch" / "logs"

    def scratch(self, target: Target) -> Path:
        """Where a target's aoti packages and compile cache go (the suite's --scratch)."""
        return self.reports / "_scratch" / "compile" / target.name

    def suite_args(self, target: Target, junit: Path) -> list[str]:
        """The suite's arguments for one target: what [tool.compat] selects, and where to write."""
        args = ["--junit", str(junit), "--target", target.name]
        args += _each("--device", self.devices) + _each("--mode", self.modes)
        args += _each("--case", self.cases) + _each("--case-module", self.case_modules)
        args += [*_each("--case-path", self.case_path), "--timeout", f"{self.timeout:g}"]
        return args + aoti_args(self.modes, self.aoti_timeout, self.scratch(target))


def selection_args(config: MatrixConfig) -> list[str]:
    """The suite's arguments for what [tool.compat] selects: modes, cases, case modules."""
    args = _each("--mode", config.modes) + _each("--case", config.cases)
    return (
        args + _each("--case-module", config.case_modules) + _each("--case-path", config.case_path)
    )


def aoti_args(modes: Iterable[Mode], limit: float, scratch: Path) -> list[str]:
    """aoti's own time limit and compile folder, when it runs (only aoti compiles)."""
    if Mode.AOTI not in modes:
        return []
    return ["--aoti-timeout", f"{limit:g}", "--scratch", str(scratch)]


def _each(flag: str, values: Iterable[object]) -> list[str]:
    """``flag`` before each value: ``--mode aot --mode serialize``."""
    return [arg for value in values for arg in (flag, str(value))]


@dataclass(frozen=True)
class TargetOutcome:
    """How one target's session ended: its state, and why the session fails (None: it did not)."""

    state: State
    problem: str | None
    junit: Path


class _EnvError(Exception):
    """The target cannot be installed or imported; the message is the env-error's."""


def run_target(
    runner: Runner, target: Target, env: Mapping[str, str], run: MatrixRun
) -> TargetOutcome:
    """Install the target's torch, check that it imports, and run the suite into its JUnit file."""
    junit = run.junit / f"{target.name}.xml"
    started = time.monotonic()
    _record(runner, run, target, State.RUNNING, started)
    state, problem = State.FAILED, None  # stays so if nox itself is interrupted
    try:
        python = _prepare(runner, target, env, run)
        problem = _run_suite(runner, target, python, junit, env, run)
        state = State.FAILED if problem else State.DONE
    except _EnvError as err:
        state, problem = State.ENV_ERROR, str(err)
        # Imported here: junitparser stays unloaded for `nox -l` and for targets that run.
        from compat.artifacts import write_env_error

        write_env_error(junit, target.name, problem, target.id.tag)
    finally:
        report_problem = _record(runner, run, target, state, started, junit)
    return TargetOutcome(state, problem or report_problem, junit)


def run_report(runner: Runner, reports: Path, config_file: Path) -> str | None:
    """Run ``python -m compat report`` over ``<reports>/junit``; a sentence when it failed."""
    try:
        runner.run(
            [
                sys.executable,
                *("-m", "compat", "report", str(reports / "junit"), "--out", str(reports)),
                *("--config", str(config_file)),
            ],
            external=True,
        )
    except RunFailed as err:
        return f"the report exited {err.code}; its error is above (python -m compat report)"
    return None


def resolve_test_requirements(env: Mapping[str, str]) -> tuple[list[str], str | None]:
    """What the tests session installs next to the project, and a warning without a wheelhouse."""
    links = env.get("PIP_FIND_LINKS", "").split()
    extras = list(hop_db_requirements(Version(TESTS_TORCH)))
    if links:
        wheelhouse = [a for link in links for a in ("-f", link)]
        return [f"torch=={TESTS_TORCH}+cpu", *wheelhouse, *extras], None
    warning = (
        f"PIP_FIND_LINKS is not set, so there is no wheelhouse with torch {TESTS_TORCH}+cpu;"
        f" installing torch=={TESTS_TORCH} from the index instead (on Linux a CUDA build"
        " of several GB)."
    )
    return [f"torch=={TESTS_TORCH}", *extras], warning


def _prepare(runner: Runner, target: Target, env: Mapping[str, str], run: MatrixRun) -> str:
    """Install the target's torch (skipped by -R) and check that it imports; its python."""
    if target.is_local:
        python = local_python(env, run.own_envs)
        if python is None:
            raise _EnvError(env_error_message(target, "there is no python on PATH", env))
        if runner.installs():
            _probe(runner, target, python, env, run, external=True)
        return python
    if not runner.installs():
        return "python"
    if problem := check_source(target, env):
        raise _EnvError(env_error_message(target, problem, env))
    log = _fresh_log(run.logs / f"{target.name}.install.log")
    # nox's echo of the command omits the source (it travels in uv's variables): say it here.
    where = describe_source(effective_source(target.build, env), env)
    runner.log(f"installing torch {target.version} from {where}")
    started = time.monotonic()
    try:
        runner.install(install_args(target, env), install_env(target, env), log)
    except RunFailed as err:
        raise _EnvError(env_error_message(target, f"uv failed: {log_tail(log)}", env)) from err
    finally:
        scrub_log(log)
    runner.log(f"installed in {time.monotonic() - started:.1f} s (uv's output: {log})")
    _probe(runner, target, "python", env, run, external=False)
    return "python"


def _probe(
    runner: Runner,
    target: Target,
    python: str,
    env: Mapping[str, str],
    run: MatrixRun,
    *,
    external: bool,
) -> None:
    """Import torch once after installing; say when its build differs from the id's tag."""
    log = _fresh_log(run.logs / f"{target.name}.probe.log")
    try:
        runner.check([python, "-c", PROBE], log, external=external)
    except RunFailed as err:
        problem = f"{python} cannot import torch: {log_tail(log)}"
        raise _EnvError(env_error_message(target, problem, env)) from err
    finally:
        scrub_log(log)
    reported = read_probe(log)
    if reported is None:
        runner.warn(f"{python} imported torch but did not say which build (see {log})")
        return
    version, cuda, hip = reported
    actual = torch_build_tag(version, cuda, hip)
    runner.log(f"torch {version} (CUDA {cuda}, HIP {hip}) -> build {actual}")
    if not target.is_local and actual != target.id.tag and target.id.tag != "default":
        runner.warn(
            f"{target.name} installed torch {version}, a {actual} build: the id says "
            f"{target.id.tag} (see DEFAULT_CUDA in compat/targets.py)"
        )


def _run_suite(
    runner: Runner,
    target: Target,
    python: str,
    junit: Path,
    env: Mapping[str, str],
    run: MatrixRun,
) -> str | None:
    """Run the suite; its failed cells are data. A problem only when it could not run."""
    junit.parent.mkdir(parents=True, exist_ok=True)
    before = junit.stat().st_mtime if junit.exists() else None
    try:
        runner.run(
            [python, "-m", "suites", *run.suite_args(target, junit)], external=target.is_local
        )
    except RunFailed as err:
        wrote = junit.exists() and junit.stat().st_mtime != before
        if wrote:
            return f"target {target.name}: the suite exited {err.code} after writing {junit}"
        problem = f"the suite exited {err.code} before writing results"
        raise _EnvError(env_error_message(target, problem, env)) from err
    return None


def _record(
    runner: Runner,
    run: MatrixRun,
    target: Target,
    state: State,
    started: float,
    junit: Path | None = None,
) -> str | None:
    """Write the target's state, print where the matrix stands, and see to the report."""
    counts = count_outcomes(junit) if junit is not None else ()
    elapsed = time.monotonic() - started
    with run_lock(run.states):
        write_state(run.states, TargetState(target.name, run.run_id, state, counts, elapsed))
        states = read_states(run.states, run.run_id)
        for line in render_progress(run.targets, states):
            runner.log(line)
        if state is State.RUNNING or runner.notify_report():
            return None  # sequential: nox runs the report once, after every target
        # Under -j each session runs alone (--no-dependencies): the last one out builds it.
        if any(s.state is State.RUNNING for s in states.values()):
            return None
        return run_report(runner, run.reports, run.config_file)


def read_probe(log: Path) -> tuple[str, str | None, str | None] | None:
    """What ``PROBE`` printed into ``log``: torch's version, CUDA and HIP; None if nothing."""
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    for line in reversed(lines):
        if line.startswith("["):
            try:
                version, cuda, hip = json.loads(line)
            except ValueError:
                return None
            return str(version), cuda, hip
    return None


def _fresh_log(log: Path) -> Path:
    """An empty log file: what is read back is this attempt's, even if the command never ran."""
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("", encoding="utf-8")
    return log


def scrub_log(log: Path) -> None:
    """Rewrite a command's log without credentials: uv and torch may quote an index URL."""
    text = log.read_text(encoding="utf-8", errors="replace")
    if (scrubbed := scrub_credentials(text)) != text:
        log.write_text(scrubbed, encoding="utf-8")


def log_tail(log: Path, lines: int = 6) -> str:
    """The last lines of a log as one line (uv's "Using Python ..." preamble left out)."""
    text = log.read_text(encoding="utf-8", errors="replace").splitlines()
    kept = [ln.strip() for ln in text if ln.strip() and not ln.startswith("Using Python")]
    return scrub_credentials(" | ".join(kept[-lines:]))
