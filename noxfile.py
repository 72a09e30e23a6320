# /// script
# requires-python = ">=3.11"
# dependencies = [
#     "nox>=2026.10.20",
#     "junitparser>=5,<6",
#     "packaging>=24",
#     "rich>=13",
#     "jinja2>=3.1",
# ]
# ///
"""torch-hop-compat: matrix (one session per torch target, then the report), report, audit,
tests, lint.

For one run: COMPAT_VERSIONS=">=2.4", COMPAT_BUILDS=default,cpu, COMPAT_TARGETS=2.6.0-cu124 or
COMPAT_CONFIG=file.toml (README.md, "Configuration"); one target: nox -s "matrix(2.6.0-cu124)".
An audit: COMPAT_CANDIDATE=local|WHEEL|VERSION [COMPAT_BASELINE=ID] nox -s audit (README.md).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import sysconfig
import uuid
from collections.abc import Iterator, Mapping, Sequence
from fnmatch import fnmatch
from pathlib import Path

import nox
from nox.command import CommandFailed

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))  # the `nox` entry point does not put this folder on sys.path

from compat.config import ENV_TARGETS, MatrixConfig, config_path, load_config
from compat.errors import CompatError
from compat.repro_check import remember_python
from compat.run import MatrixRun, RunFailed, resolve_test_requirements, run_report, run_target
from compat.sources import local_python
from compat.targets import Target, plan_targets
from suites.schema import Mode
from suites.scrub import scrub_credentials

nox.needs_version = ">=2026.10.20"
nox.options.default_venv_backend = "uv"
nox.options.sessions = ["matrix"]

REPORTS = Path("reports")
# One id per nox invocation: parallel workers (-j) inherit it with the environment.
RUN_ID = os.environ.setdefault("COMPAT_RUN_ID", uuid.uuid4().hex[:12])


def _nox_jobs(argv: Sequence[str]) -> int:
    """The N of nox's ``-j N`` / ``--parallel N`` in this command line; 1 without it."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("-j", "--parallel", default="1")
    value = parser.parse_known_args(list(argv))[0].parallel
    return int(value) if value.isdigit() and int(value) > 0 else 1


# Under -j N the targets share the CPUs: each suite runs CPUs // N children at once
# (HOP_SUITE_JOBS, read by `python -m suites`; one set by hand wins). Set here, in the
# nox process that parsed -j: its workers, which run with -j 1, inherit it.
if (_JOBS := _nox_jobs(sys.argv[1:])) > 1:
    _CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    os.environ.setdefault("HOP_SUITE_JOBS", str(max(1, (_CPUS or 1) // _JOBS)))


def _plan() -> tuple[MatrixConfig | None, tuple[Target, ...], str | None]:
    try:
        config = load_config(
            ROOT / "pyproject.toml",
            os.environ,
            default_python=f"{sys.version_info.major}.{sys.version_info.minor}",
        )
        targets = plan_targets(config, os.environ, platform=sysconfig.get_platform())
    except CompatError as err:
        return None, (), scrub_credentials(str(err))
    if config.needs_index:
        # Resolved once per run: -j workers reload this file and must see the same ids.
        os.environ[ENV_TARGETS] = ",".join(t.name for t in targets)
    return config, targets, None


CONFIG, TARGETS, PROBLEM = _plan()
BY_NAME = {t.name: t for t in TARGETS}
IDS = list(BY_NAME)
CONFIG_FILE = config_path(ROOT / "pyproject.toml", os.environ)


class NoxRunner:
    """compat.run's Runner over a nox session: nox's CommandFailed becomes RunFailed."""

    def __init__(self, session: nox.Session) -> None:
        self.session = session
        self._installs: bool | None = None

    def installs(self) -> bool:
        if self._installs is None:  # nox skips run_install (returns None) under -R
            ran = self.session.run_install("python", "-c", "", silent=True, log=False)
            self._installs = ran is not None
        return self._installs

    def install(self, args: Sequence[str], env: Mapping[str, str], log: Path) -> None:
        with _failed(), log.open("w", encoding="utf-8") as out:
            self.session.install(*args, env=env, stdout=out, silent=False)

    def check(self, cmd: Sequence[str], log: Path, *, external: bool) -> None:
        with _failed(), log.open("w", encoding="utf-8") as out:
            self.session.run_install(*cmd, stdout=out, external=external)

    def run(self, cmd: Sequence[str], *, external: bool) -> None:
        with _failed():
            self.session.run(*cmd, external=external)

    def log(self, message: str) -> None:
        self.session.log(scrub_credentials(message))  # the last gate before nox prints it

    def warn(self, message: str) -> None:
        self.session.warn(scrub_credentials(message))

    def notify_report(self) -> bool:
        try:
            self.session.notify("report")
        except ValueError:  # -j: nox runs each session alone (--no-dependencies)
            return False
        return True


@contextlib.contextmanager
def _failed() -> Iterator[None]:
    try:
        yield
    except CommandFailed as err:
        raise RunFailed(err.return_code) from err


if CONFIG is not None:
    RUN = MatrixRun.of(
        CONFIG,
        run_id=RUN_ID,
        targets=tuple(IDS),
        config_file=CONFIG_FILE,
        own_envs=ROOT / ".nox",
        reports=REPORTS,
    )

    @nox.session(python=CONFIG.python, venv_backend="uv", allow_parallel=True)
    @nox.parametrize("target", IDS, ids=IDS)
    def matrix(session: nox.Session, target: str) -> None:
        """Install one torch target and run the HOP suite in it (reports/junit/<id>.xml)."""
        python = (
            local_python(os.environ, RUN.own_envs)
            if BY_NAME[target].is_local
            else str(Path(session.bin) / "python")
        )
        if python:  # for repro-check, which runs the report's scripts in this interpreter
            remember_python(REPORTS / "_scratch", target, python)
        try:
            outcome = run_target(NoxRunner(session), BY_NAME[target], os.environ, RUN)
        except CompatError as err:
            session.error(scrub_credentials(str(err)))
        if outcome.problem:
            session.error(outcome.problem.rstrip("."))

else:

    @nox.session(name="matrix", venv_backend="none")
    def matrix_unusable(session: nox.Session) -> None:
        session.error(PROBLEM)

    matrix_unusable.__doc__ = f"unusable: {PROBLEM}"


@nox.session(venv_backend="none")
def report(session: nox.Session) -> None:
    """Build the report from reports/junit/*.xml into a versioned folder under reports/."""
    if problem := run_report(NoxRunner(session), REPORTS, CONFIG_FILE):
        session.error(problem)


@nox.session(name="repro-check", venv_backend="none")
def repro_check(session: nox.Session) -> None:
    """Run the newest report's repro scripts (COMPAT_REPORT=DIR) in their targets' pythons.

    Posargs, if any, are fnmatch patterns over cell ids: only their scripts run.
    """
    from compat.artifacts import report_folders
    from compat.repro_check import (
        RESULT_NAME,
        check,
        default_jobs,
        expected_cells,
        remembered_pythons,
        render_check,
        reproduces,
    )

    chosen = os.environ.get("COMPAT_REPORT", "").strip()
    folders = [Path(chosen)] if chosen else report_folders(REPORTS)
    if not folders:
        session.error(f"no report under {REPORTS}/: run `nox -s matrix` first")
    limits = {Mode.AOT: CONFIG.timeout if CONFIG else 300.0}
    limits[Mode.AOTI] = CONFIG.aoti_timeout if CONFIG else 900.0
    try:
        expected = expected_cells(folders[0])
    except CompatError as err:
        session.error(scrub_credentials(str(err)))
    if session.posargs:
        expected = [e for e in expected if any(fnmatch(e.cell, p) for p in session.posargs)]
    session.log(f"{len(expected)} scripts of {folders[0]}")
    jobs = int(os.environ.get("HOP_SUITE_JOBS", "0")) or default_jobs()
    pythons = remembered_pythons(REPORTS / "_scratch")
    done = check(expected, pythons, limits, jobs, session.log)
    text = render_check(done)
    out = REPORTS / "_scratch" / RESULT_NAME
    out.write_text(text, encoding="utf-8")
    misses = sum(not reproduces(e, runs[-1]) for e, runs in done)
    line = text.splitlines()[2]
    if misses:
        session.error(f"{line} The others: {out}")
    session.log(f"{line} ({out})")


@nox.session(venv_backend="none")
def audit(session: nox.Session) -> None:
    """Audit a candidate torch against its baseline: exit 0, 1 (regressed), 2 (could not run)."""
    # Imported here: the report's modules (junitparser, jinja2) stay unloaded for `nox -l`.
    from compat.audit import AuditExit
    from compat.audit_run import audit_session

    outcome = audit_session(
        ROOT,
        ROOT / "pyproject.toml",
        os.environ,
        say=lambda line: session.log(scrub_credentials(line)),
        python=f"{sys.version_info.major}.{sys.version_info.minor}",
        platform=sysconfig.get_platform(),
    )
    if outcome.code is AuditExit.OK:
        session.log(outcome.line)
        return
    if outcome.code is AuditExit.REGRESSED:
        session.error(f"the candidate regressed: {outcome.line}")
    session.warn(outcome.line)
    # nox itself exits 0 or 1; CI must tell "could not run" apart from "regressed".
    raise SystemExit(int(outcome.code))


@nox.session(venv_backend="uv")
def tests(session: nox.Session) -> None:
    """Run the project's tests with torch 2.13.0+cpu (wheelhouse: $PIP_FIND_LINKS)."""
    requirements, warning = resolve_test_requirements(os.environ)
    if warning:
        session.warn(warning)
    session.install("-e", ".[test]", *requirements)
    session.run("pytest", *session.posargs)


@nox.session(venv_backend="uv")
def lint(session: nox.Session) -> None:
    """Ruff (lint and format check) on the tree, mypy --strict on compat/, suites/, noxfile."""
    session.install("-e", ".[lint]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")
