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
"""torch-hop-compat: matrix (one session per torch target, then the report), report, tests, lint.

For one run: COMPAT_VERSIONS=">=2.4", COMPAT_BUILDS=default,cpu, COMPAT_TARGETS=2.6.0-cu124 or
COMPAT_CONFIG=file.toml (README.md, "Configuration"); one target: nox -s "matrix(2.6.0-cu124)".
"""

from __future__ import annotations

import json
import os
import sys
import sysconfig
import time
import uuid
from pathlib import Path

import nox
from nox.command import CommandFailed
from packaging.version import Version

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))  # the `nox` entry point does not put this folder on sys.path

from compat.config import ENV_TARGETS, MatrixConfig, config_path, load_config
from compat.errors import CompatError
from compat.progress import (
    State,
    TargetState,
    count_outcomes,
    read_states,
    render_progress,
    run_lock,
    write_state,
)
from compat.scrub import scrub_credentials
from compat.sources import (
    check_source,
    env_error_message,
    hop_db_requirements,
    install_args,
    local_python,
    probe_tag,
)
from compat.targets import Target, plan_targets

nox.needs_version = ">=2026.10.20"
nox.options.default_venv_backend = "uv"
nox.options.sessions = ["matrix"]

JUNIT = Path("reports/junit")
SCRATCH = Path("reports/_scratch")
STATES = SCRATCH / "progress"
LOGS = SCRATCH / "logs"
TESTS_TORCH = "2.13.0"
# One id per nox invocation: parallel workers (-j) inherit it with the environment.
RUN = os.environ.setdefault("COMPAT_RUN_ID", uuid.uuid4().hex[:12])
PROBE = (
    "import json, torch; print(json.dumps([torch.__version__, torch.version.cuda,"
    " getattr(torch.version, 'hip', None)]))"
)


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


class _EnvError(Exception):
    """The target cannot be installed or imported; the message is the env-error's."""


if CONFIG is not None:

    @nox.session(python=CONFIG.python, venv_backend="uv", allow_parallel=True)
    @nox.parametrize("target", IDS, ids=IDS)
    def matrix(session: nox.Session, target: str) -> None:
        """Install one torch target and run the HOP suite in it (reports/junit/<id>.xml)."""
        _run_target(session, BY_NAME[target])

else:

    @nox.session(name="matrix", venv_backend="none")
    def matrix_unusable(session: nox.Session) -> None:
        session.error(PROBLEM)

    matrix_unusable.__doc__ = f"unusable: {PROBLEM}"


@nox.session(venv_backend="none")
def report(session: nox.Session) -> None:
    """Build the report from reports/junit/*.xml into a versioned folder under reports/."""
    _build_report(session)


@nox.session(venv_backend="uv")
def tests(session: nox.Session) -> None:
    """Run the project's tests with torch 2.13.0+cpu (wheelhouse: $PIP_FIND_LINKS)."""
    links = os.environ.get("PIP_FIND_LINKS", "").split()
    if links:
        torch = [f"torch=={TESTS_TORCH}+cpu", *(a for link in links for a in ("-f", link))]
    else:
        session.warn(
            f"PIP_FIND_LINKS is not set, so there is no wheelhouse with torch {TESTS_TORCH}+cpu;"
            f" installing torch=={TESTS_TORCH} from the index instead (on Linux a CUDA build"
            " of several GB)."
        )
        torch = [f"torch=={TESTS_TORCH}"]
    extras = hop_db_requirements(Version(TESTS_TORCH))
    session.install("-e", ".[test]", *torch, *extras)
    session.run("pytest", *session.posargs)


@nox.session(venv_backend="uv")
def lint(session: nox.Session) -> None:
    """Ruff (lint and format check) on the tree, mypy --strict on compat/."""
    session.install("-e", ".[lint]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


# --- one target -------------------------------------------------------------------------------


def _run_target(session: nox.Session, target: Target) -> None:
    assert CONFIG is not None
    junit = JUNIT / f"{target.name}.xml"
    started = time.monotonic()
    _record(session, target, State.RUNNING, started)
    state, problem = State.FAILED, None  # stays so if nox itself is interrupted
    try:
        python = _prepare(session, target)
        problem = _run_suite(session, target, python, junit, CONFIG)
        state = State.FAILED if problem else State.DONE
    except _EnvError as err:
        state, problem = State.ENV_ERROR, str(err)
        session.run(
            sys.executable,
            *("-m", "compat", "env-error", "--target", target.name),
            *("--message", problem, "--junit", str(junit), "--build", target.id.tag),
            external=True,
            log=False,
        )
    finally:
        _record(session, target, state, started, junit)
    if problem:
        session.error(problem.rstrip("."))


def _prepare(session: nox.Session, target: Target) -> str:
    """Install the target's torch (skipped by -R) and check that it imports; its python."""
    env = os.environ
    if target.is_local:
        python = local_python(env, ROOT / ".nox")
        if python is None:
            raise _EnvError(env_error_message(target, "there is no python on PATH", env))
        _probe(session, target, python, external=True)
        return python
    if not _installing(session):
        return "python"
    if problem := check_source(target, env):
        raise _EnvError(env_error_message(target, problem, env))
    log = LOGS / f"{target.name}.install.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        with log.open("w", encoding="utf-8") as out:
            session.install(*install_args(target, env), stdout=out, silent=False)
    except CommandFailed as err:
        raise _EnvError(env_error_message(target, f"uv failed: {_tail(log)}", env)) from err
    session.log(f"installed in {time.monotonic() - started:.1f} s (uv's output: {log})")
    _probe(session, target, "python", external=False)
    return "python"


def _installing(session: nox.Session) -> bool:
    """False under -R (--no-install with a reused env), where nox skips every install step."""
    return session.run_install("python", "-c", "", silent=True, log=False) is not None


def _probe(session: nox.Session, target: Target, python: str, *, external: bool) -> None:
    """Import torch once after installing; say when its build differs from the id's tag."""
    log = LOGS / f"{target.name}.probe.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    try:
        with log.open("w", encoding="utf-8") as out:
            ran = session.run_install(python, "-c", PROBE, stdout=out, external=external)
    except CommandFailed as err:
        problem = f"{python} cannot import torch: {_tail(log)}"
        raise _EnvError(env_error_message(target, problem, os.environ)) from err
    if ran is None:  # -R / --no-install: nothing was installed, nothing to check
        return
    reported = [ln for ln in log.read_text(encoding="utf-8").splitlines() if ln.startswith("[")]
    if not reported:
        session.warn(f"{python} imported torch but did not say which build (see {log})")
        return
    version, cuda, hip = json.loads(reported[-1])
    actual = probe_tag(version, cuda, hip)
    session.log(f"torch {version} (CUDA {cuda}, HIP {hip}) -> build {actual}")
    if not target.is_local and actual != target.id.tag and target.id.tag != "default":
        session.warn(
            f"{target.name} installed torch {version}, a {actual} build: the id says "
            f"{target.id.tag} (see DEFAULT_CUDA in compat/targets.py)"
        )


def _run_suite(
    session: nox.Session, target: Target, python: str, junit: Path, config: MatrixConfig
) -> str | None:
    """Run the suite; its failed cells are data. A problem only when it could not run."""
    junit.parent.mkdir(parents=True, exist_ok=True)
    before = junit.stat().st_mtime if junit.exists() else None
    try:
        session.run(
            python,
            *("-m", "suites", "--junit", str(junit), "--target", target.name),
            *(arg for device in config.devices for arg in ("--device", device)),
            *("--timeout", f"{config.timeout:g}"),
            external=target.is_local,
        )
    except CommandFailed as err:
        code = err.return_code
        wrote = junit.exists() and junit.stat().st_mtime != before
        if wrote:
            return f"target {target.name}: the suite exited {code} after writing {junit}"
        raise _EnvError(
            env_error_message(target, f"the suite exited {code} before writing results", os.environ)
        ) from err
    return None


def _record(
    session: nox.Session,
    target: Target,
    state: State,
    started: float,
    junit: Path | None = None,
) -> None:
    """Write the target's state, print where the matrix stands, and see to the report."""
    counts = count_outcomes(junit) if junit is not None else ()
    elapsed = time.monotonic() - started
    with run_lock(STATES):
        write_state(STATES, TargetState(target.name, RUN, state, counts, elapsed))
        states = read_states(STATES, RUN)
        for line in render_progress(IDS, states):
            session.log(line)
        if state is State.RUNNING:
            return
        try:
            session.notify("report")  # sequential: the report runs once, after every target
        except ValueError:
            # Under -j each session runs alone (--no-dependencies): the last one out builds it.
            if not any(s.state is State.RUNNING for s in states.values()):
                _build_report(session)


def _build_report(session: nox.Session) -> None:
    session.run(
        sys.executable,
        *("-m", "compat", "report", str(JUNIT), "--out", "reports"),
        *("--config", str(config_path(ROOT / "pyproject.toml", os.environ))),
        external=True,
    )


def _tail(log: Path, lines: int = 6) -> str:
    """The last lines of a log as one line (uv's "Using Python ..." preamble left out)."""
    text = log.read_text(encoding="utf-8", errors="replace").splitlines()
    kept = [ln.strip() for ln in text if ln.strip() and not ln.startswith("Using Python")]
    return scrub_credentials(" | ".join(kept[-lines:]))
