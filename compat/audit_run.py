"""``nox -s audit`` from start to end: two targets, their installs, their suites, the report.

``compat.audit_plan`` says what is compared. Each side gets a uv venv under
``.nox/`` (a local candidate none), is imported once, and runs the suite
into a folder of this run alone (``reports/_scratch/audit/<stamp>-<random>/``),
so that the report holds their JUnit and nothing older. The two suites run at
once where there are two CPUs or more, each with its share. Whatever keeps the
audit from comparing the two is ``AuditNotRun``: one sentence that names the
side and why, and exit 2. Commands go through a ``Shell``, so tests need no torch.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import metadata
from pathlib import Path
from typing import Protocol

from packaging.version import InvalidVersion, Version

from compat.artifacts import write_report
from compat.audit import (
    SUMMARY_NAME,
    AuditExit,
    AuditSide,
    audit_folder_name,
    change_count,
    render_audit_files,
    render_not_run,
    resolve_audit,
)
from compat.audit_plan import (
    AuditNotRun,
    Candidate,
    CandidateKind,
    VersionLister,
    candidate_fix,
    candidate_install,
    parse_candidate,
    resolve_baseline,
)
from compat.build import build_report
from compat.config import (
    ENV_BUILDS,
    ENV_TARGETS,
    ENV_VERSIONS,
    AuditConfig,
    MatrixConfig,
    load_config,
)
from compat.errors import CompatError
from compat.load import load_inputs
from compat.model import ChangeKind
from compat.run import PROBE, aoti_args, log_tail, read_probe, scrub_log, selection_args
from compat.sources import (
    ENV_LOCAL_PYTHON,
    check_source,
    describe_source,
    effective_source,
    env_error_message,
    install_args,
    install_env,
    list_build_versions,
    local_python,
)
from compat.targets import LOCAL, Target
from suites.behaviours import BUILTIN
from suites.schema import torch_build_tag
from suites.scrub import scrub_credentials

ENV_AUDIT_SUMMARY = "COMPAT_AUDIT_SUMMARY"  # a file summary.md is appended to (CI's job summary)
JOBS_ENV = "HOP_SUITE_JOBS"  # python -m suites: children at once
NOT_STARTED = 127  # the exit code of a command that could not start, as a shell says it


# --- running ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """One command: its arguments, variables added to the environment, where its output goes."""

    argv: tuple[str, ...]
    log: Path
    env: tuple[tuple[str, str], ...] = ()


class Shell(Protocol):
    """What the audit needs to run commands; ``SubprocessShell`` is the real one."""

    def run(self, commands: Sequence[Command]) -> list[int]:
        """Run ``commands`` at once, each into its log; their exit codes, in order."""

    def say(self, message: str) -> None:
        """Print a line of the audit's progress."""


class SubprocessShell:
    """Runs commands as subprocesses in ``cwd``; prints through ``say``."""

    def __init__(self, cwd: Path, env: Mapping[str, str], say: Callable[[str], None]) -> None:
        self.cwd = cwd
        self.env = dict(env)
        self._say = say

    def say(self, message: str) -> None:
        self._say(scrub_credentials(message))

    def run(self, commands: Sequence[Command]) -> list[int]:
        procs: list[subprocess.Popen[bytes] | None] = []
        try:
            for cmd in commands:
                procs.append(self._start(cmd))
            return [NOT_STARTED if proc is None else proc.wait() for proc in procs]
        finally:
            for proc in procs:  # an interrupt: no suite runs on without its audit
                if proc is not None and proc.poll() is None:
                    proc.terminate()
                    proc.wait()

    def _start(self, cmd: Command) -> subprocess.Popen[bytes] | None:
        """The command's process; None (and why, in its log) when it cannot start."""
        cmd.log.parent.mkdir(parents=True, exist_ok=True)
        with cmd.log.open("wb") as out:
            try:
                return subprocess.Popen(
                    list(cmd.argv),
                    cwd=self.cwd,
                    env={**self.env, **dict(cmd.env)},
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            except OSError as err:  # a COMPAT_LOCAL_PYTHON that is not there: data, not a crash
                out.write(f"{cmd.argv[0]}: {err.strerror}\n".encode())
                return None


@dataclass(frozen=True)
class AuditSettings:
    """Where the audit runs and writes, and what both suites are given."""

    root: Path  # the project: commands run here, so `python -m suites` finds suites/
    reports: Path  # the root of the report folders
    envs: Path  # where the venvs go (.nox)
    uv: str  # the uv executable
    python: str  # the venvs' Python ("3.11")
    platform: str
    cpus: int
    today: date


@dataclass(frozen=True)
class Prepared:
    """One side, ready to run: its target id, interpreter and torch."""

    role: str  # "candidate" or "baseline"
    target: str
    python: str
    torch_version: str
    tag: str  # the build its torch reports (cpu, cu130, ...)
    source: str  # where its torch comes from, in words


@dataclass(frozen=True)
class AuditOutcome:
    """How the audit ended: the gate's code, one line to print, the folder, the summary."""

    code: AuditExit
    line: str
    folder: Path | None
    summary: str


def run_audit(
    shell: Shell,
    config: MatrixConfig,
    env: Mapping[str, str],
    settings: AuditSettings,
    *,
    list_versions: VersionLister | None = None,
) -> AuditOutcome:
    """Install both sides, run both suites into a fresh folder, write the audit's report."""
    lister = list_versions or (lambda build: list_build_versions(build, env))
    try:
        return _audit(shell, config, env, settings, lister)
    except CompatError as err:
        return not_run(err)


def not_run(err: CompatError) -> AuditOutcome:
    """The outcome of an audit that could not run: exit 2, and the sentence that says why."""
    sentence = scrub_credentials(f"The audit could not run: {err}")
    return AuditOutcome(AuditExit.NOT_RUN, sentence, None, render_not_run(sentence))


def _audit(
    shell: Shell,
    config: MatrixConfig,
    env: Mapping[str, str],
    settings: AuditSettings,
    lister: VersionLister,
) -> AuditOutcome:
    audit = config.audit
    candidate = parse_candidate(audit, settings.root)
    scratch = _fresh_scratch(settings)
    shell.say(f"audit: this run's JUnit files and logs go to {scratch}")
    cand = _prepare_candidate(shell, candidate, env, settings, scratch)
    version = Version(cand.torch_version)
    target = resolve_baseline(
        audit, version, cand.tag, config.builds, settings.platform, lister, env
    )
    if target.name == cand.target:
        raise AuditNotRun(
            f"the candidate and the baseline are both {cand.target}: name another baseline "
            f"({audit.named_by('baseline')})"
        )
    shell.say(f"audit: baseline {target.name}, {_how_named(audit)}")
    base = _prepare_baseline(shell, target, env, settings, scratch)
    junit = _run_suites(shell, (cand, base), config, env, settings, scratch)
    return _report((cand, base), junit, config, settings)


def _how_named(audit: AuditConfig) -> str:
    if audit.baseline:
        return f"as {audit.named_by('baseline')} names it"
    return "the newest final release before the candidate's, of its build family"


def _fresh_scratch(settings: AuditSettings) -> Path:
    """A folder no other run wrote into: this run's JUnit files and logs, nothing else."""
    parent = settings.reports / "_scratch" / "audit"
    parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return Path(tempfile.mkdtemp(prefix=f"{stamp}-", dir=parent))


def _prepare_candidate(
    shell: Shell,
    candidate: Candidate,
    env: Mapping[str, str],
    settings: AuditSettings,
    scratch: Path,
) -> Prepared:
    """The candidate's interpreter (a venv with it installed, or the local one), probed."""
    role = "candidate"
    if candidate.kind is CandidateKind.LOCAL:
        python = local_python(env, settings.envs)
        if python is None:
            raise AuditNotRun(
                f"the candidate is local, and there is no python on PATH: set "
                f"{ENV_LOCAL_PYTHON} to an interpreter that has torch"
            )
        candidate = Candidate(CandidateKind.LOCAL, python)
        fix = f"Set {ENV_LOCAL_PYTHON} to an interpreter that has torch."
    else:
        fix = candidate_fix(candidate, settings.python)
        python = _make_venv(shell, role, settings, scratch)
        args, uv_env = candidate_install(candidate)
        log = scratch / f"{role}.install.log"
        if code := _install(shell, python, args, uv_env, log, settings):
            raise AuditNotRun(
                f"the candidate, {candidate.describe(env)}, could not be installed: uv "
                f"exited {code}: {log_tail(log)}. {fix}"
            )
    described = candidate.describe(env)
    version, tag = _probe(shell, role, python, scratch, f"the candidate, {described}", fix)
    target = LOCAL if candidate.kind is CandidateKind.LOCAL else f"{version.public}-{tag}"
    shell.say(f"audit: candidate {target}: torch {version}, a {tag} build, from {described}")
    return Prepared(role, target, python, str(version), tag, described)


def _prepare_baseline(
    shell: Shell, target: Target, env: Mapping[str, str], settings: AuditSettings, scratch: Path
) -> Prepared:
    """A venv with the baseline's torch from its build's source, probed."""
    role = "baseline"
    if problem := check_source(target, env):
        raise AuditNotRun(f"the baseline {env_error_message(target, problem, env)}")
    python = _make_venv(shell, role, settings, scratch)
    log = scratch / f"{role}.install.log"
    where = describe_source(effective_source(target.build, env), env)
    args, uv_env = install_args(target, env), install_env(target, env)
    if code := _install(shell, python, args, uv_env, log, settings):
        problem = f"uv exited {code}: {log_tail(log)}"
        raise AuditNotRun(f"the baseline {env_error_message(target, problem, env)}")
    described = f"torch {target.version} from {where}"
    version, tag = _probe(shell, role, python, scratch, f"the baseline {target.name}", "")
    shell.say(f"audit: baseline {target.name}: torch {version}, a {tag} build, from {where}")
    return Prepared(role, target.name, python, str(version), tag, described)


def _make_venv(shell: Shell, role: str, settings: AuditSettings, scratch: Path) -> str:
    """A fresh venv for one side under ``.nox``; its interpreter."""
    venv = settings.envs / f"audit-{role}"
    log = scratch / f"{role}.venv.log"
    argv = (settings.uv, "venv", "--clear", "--python", settings.python, str(venv))
    (code,) = shell.run([Command(argv, log)])
    if code:
        raise AuditNotRun(
            f"uv could not make the {role}'s venv {venv} with Python {settings.python} (uv "
            f"exited {code}: {log_tail(log)}); set python in [tool.compat] to one uv can find"
        )
    return str(venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python"))


def _install(
    shell: Shell,
    python: str,
    args: Sequence[str],
    uv_env: Mapping[str, str],
    log: Path,
    settings: AuditSettings,
) -> int:
    """``uv pip install`` into ``python``'s venv (uv's cache makes a repeat take seconds)."""
    argv = (settings.uv, "pip", "install", "--python", python, *args)
    started = time.monotonic()
    (code,) = shell.run([Command(argv, log, tuple(uv_env.items()))])
    scrub_log(log)
    if not code:
        shell.say(f"audit: installed in {time.monotonic() - started:.1f} s (uv's output: {log})")
    return code


def _probe(
    shell: Shell, role: str, python: str, scratch: Path, who: str, fix: str
) -> tuple[Version, str]:
    """Import torch once: its version and the build it reports."""
    log = scratch / f"{role}.probe.log"
    (code,) = shell.run([Command((python, "-c", PROBE), log)])
    scrub_log(log)
    reported = read_probe(log) if code == 0 else None
    if reported is None:
        raise AuditNotRun(f"{who}: {python} cannot import torch: {log_tail(log)}. {fix}".strip())
    text, cuda, hip = reported
    try:
        version = Version(text)
    except InvalidVersion as err:
        raise AuditNotRun(f"{who}: torch reports the version {text!r}, which is not one") from err
    return version, torch_build_tag(text, cuda, hip)


def _run_suites(
    shell: Shell,
    sides: tuple[Prepared, Prepared],
    config: MatrixConfig,
    env: Mapping[str, str],
    settings: AuditSettings,
    scratch: Path,
) -> dict[str, Path]:
    """Both suites with the same cases, modes and devices ([tool.compat] selects them, as for
    the matrix); at once where the CPUs allow."""
    together = settings.cpus >= 2
    jobs: tuple[tuple[str, str], ...] = ()
    if together and not env.get(JOBS_ENV, "").strip():
        jobs = ((JOBS_ENV, str(max(1, settings.cpus // 2))),)
    junit = {side.role: scratch / f"{side.role}.xml" for side in sides}
    commands = [
        Command(
            (
                side.python,
                *("-m", "suites", "--junit", str(junit[side.role]), "--target", side.target),
                *(arg for device in config.devices for arg in ("--device", device)),
                *(arg for hop in config.audit.hops for arg in ("--hop", hop)),
                *selection_args(config),  # the matrix's modes, cases and case modules
                *aoti_args(config.modes, config.aoti_timeout, scratch / f"{side.role}.compile"),
                *("--timeout", f"{config.timeout:g}", "--no-recheck"),
            ),
            scratch / f"{side.role}.suite.log",
            jobs,
        )
        for side in sides
    ]
    how = "at once" if together else "one after the other"
    if jobs:
        how += f" ({jobs[0][0]}={jobs[0][1]} each)"
    shell.say(f"audit: running both suites {how} (output: {scratch})")
    started = time.monotonic()
    codes = shell.run(commands) if together else [shell.run([c])[0] for c in commands]
    shell.say(f"audit: both suites ran in {time.monotonic() - started:.0f} s")
    for side, command, code in zip(sides, commands, codes, strict=True):
        scrub_log(command.log)
        if not junit[side.role].is_file():
            raise AuditNotRun(
                f"the {side.role} {side.target}: the suite exited {code} before writing "
                f"results: {log_tail(command.log)}"
            )
        if code:
            shell.say(f"audit: the {side.role}'s suite exited {code} after writing its results")
    return junit


def _report(
    sides: tuple[Prepared, Prepared],
    junit: Mapping[str, Path],
    config: MatrixConfig,
    settings: AuditSettings,
) -> AuditOutcome:
    """The report of exactly this run's two JUnit files, in the audit's folder."""
    cand, base = sides
    inputs = load_inputs([str(junit[cand.role]), str(junit[base.role])])
    report = build_report(inputs, (*BUILTIN, *config.behaviours))
    for skipped in report.skipped_inputs:
        raise AuditNotRun(f"this run's results cannot be read: {skipped.reason}")
    ordered, facts, audit = resolve_audit(
        report,
        AuditSide(cand.role, cand.target, cand.source),
        AuditSide(base.role, base.target, base.source),
    )
    files = render_audit_files(ordered, facts, audit, {"generator": _generator()})
    written = write_report(
        settings.reports, files, settings.today, name=audit_folder_name(cand.target, base.target)
    )
    counts = ", ".join(change_count(audit, kind) for kind in ChangeKind)
    verb = "wrote" if written.created else "unchanged:"
    line = f"{verb} {written.folder}/ ({', '.join(written.files)}): {counts}"
    return AuditOutcome(audit.exit_code, line, written.folder, files[SUMMARY_NAME])


def _generator() -> str:
    try:
        return f"torch-hop-compat {metadata.version('torch-hop-compat')}"
    except metadata.PackageNotFoundError:
        return "torch-hop-compat source"


# --- the nox session's entry ----------------------------------------------------------------

# The matrix's overrides for one run: the audit runs its own two targets, never these.
_MATRIX_ONLY = (ENV_VERSIONS, ENV_BUILDS, ENV_TARGETS)


def find_uv(env: Mapping[str, str]) -> str | None:
    """The uv executable: on PATH, else the one the ``uv`` package ships."""
    found = shutil.which("uv", path=env.get("PATH", os.defpath))
    if found:
        return found
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    try:
        return str(find_uv_bin())
    except FileNotFoundError:
        return None


def audit_session(
    root: Path,
    pyproject: Path,
    env: Mapping[str, str],
    *,
    say: Callable[[str], None],
    python: str,
    platform: str,
) -> AuditOutcome:
    """``nox -s audit``: read the configuration, run the audit, append the job summary."""
    try:
        matrix_free = {k: v for k, v in env.items() if k not in _MATRIX_ONLY}
        config = load_config(pyproject, matrix_free, default_python=python)
        settings = _settings(root, config, env, platform)
    except CompatError as err:
        outcome = not_run(err)
    else:
        outcome = run_audit(SubprocessShell(root, env, say), config, env, settings)
    if summary := env.get(ENV_AUDIT_SUMMARY, "").strip():
        _append(Path(summary), outcome.summary)
    return outcome


def _settings(
    root: Path, config: MatrixConfig, env: Mapping[str, str], platform: str
) -> AuditSettings:
    uv = find_uv(env)
    if uv is None:
        raise AuditNotRun("it installs with uv, which is not on PATH: python -m pip install uv")
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return AuditSettings(
        root=root,
        reports=root / "reports",
        envs=root / ".nox",
        uv=uv,
        python=config.python,
        platform=platform,
        cpus=cpus or 1,
        today=datetime.now(UTC).date(),
    )


def _append(path: Path, text: str) -> None:
    """Add ``text`` to the end of ``path`` (GitHub's job summary is such a file)."""
    with path.open("a", encoding="utf-8") as out:
        out.write(text)
