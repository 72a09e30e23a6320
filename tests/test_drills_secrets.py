"""Drills for issue #15's secrets: no token reaches a log, a report, an env-error file or nox.

Each drill reproduces one finding on real files: it writes what a run would
write (suite JUnit, env-error files, install logs), builds the report with
``python -m compat report`` into tmp_path, and reads back every file written
and everything printed. One drill runs ``nox -s "matrix(<id>)"`` end to end
against an index served on 127.0.0.1 by the test.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import importlib.util
import io
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest
from packaging.version import Version

from compat.__main__ import main
from compat.config import Build, InstallSource, SourceKind
from compat.progress import State
from compat.run import MatrixRun, RunFailed, run_target
from compat.targets import Target, TargetId
from compat.versions import list_index
from suites.junit_xml import Testsuite, junit_document, write_junit
from suites.results import make_result
from suites.schema import SCHEMA_VERSION, CellId, Device, Mode, Prop, Source, Status, SuiteProp
from suites.signature import MAX_SIGNATURE, signature

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "hunter2QZX"  # each drill's secret; it must appear nowhere a drill reads back


# --- what every drill reads back --------------------------------------------------------------


def written_texts(*roots: Path) -> dict[Path, str]:
    """Every file under ``roots``, as text."""
    files = [p for root in roots for p in sorted(root.rglob("*")) if p.is_file()]
    return {p: p.read_text(encoding="utf-8", errors="replace") for p in files}


def assert_nowhere(secret: str, texts: Mapping[object, str]) -> None:
    """``secret`` in none of ``texts``; the failure names where it leaked."""
    leaked = [str(where) for where, text in texts.items() if secret in text]
    assert not leaked, f"{secret!r} leaked into {leaked}"


def report(tmp_path: Path, *inputs: Path) -> dict[object, str]:
    """``python -m compat report`` over ``inputs``: every file written, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    root = tmp_path / "reports"
    args = ["report", *map(str, inputs), "--out", str(root)]
    assert main(args, stdout=out, stderr=err) == 0, err.getvalue()
    texts: dict[object, str] = dict(written_texts(root))
    assert any(p.name == "report.json" for p in texts if isinstance(p, Path))
    return {**texts, "stdout": out.getvalue(), "stderr": err.getvalue()}


def suite_file(
    path: Path, target: str, cells: Sequence[tuple[Mapping[str, str], str, str]]
) -> Path:
    """A suite-format JUnit file, written by the suite's own writer: error cells."""
    results = []
    for i, (props, message, detail) in enumerate(cells):
        cell = CellId(Source.CATALOG, "cond", f"v{i}", Mode.AOT, Device.CPU)
        results.append(make_result(cell, Status.ERROR, 0.1, props, message, detail))
    properties = ((SuiteProp.SCHEMA.value, SCHEMA_VERSION), (SuiteProp.TARGET.value, target))
    suite = Testsuite(f"hop-suite[{target}]", properties, tuple(r.testcase() for r in results))
    write_junit(path, junit_document([suite], suite.name))
    return path


# --- finding 2: a signature cut between the password and its "@" ------------------------------


def _cut_inside(url: str, offset: int) -> str:
    """A message whose signature is cut ``offset`` characters into ``url``."""
    head = "cannot fetch "
    pad = "x" * (MAX_SIGNATURE - 1 - len(head) - len(" from ") - offset)
    return f"{head}{pad} from {url}/torch/"


def test_a_signature_is_scrubbed_before_it_is_cut_wherever_the_cut_falls() -> None:
    url = f"https://user:{TOKEN}@pypi.example/simple"
    for offset in range(len(url) + 1):
        sig = signature("RuntimeError", _cut_inside(url, offset))
        assert TOKEN not in sig, (offset, sig)
        assert "user:" not in sig, (offset, sig)


def test_a_signature_cut_by_an_older_suite_is_scrubbed_in_every_output(tmp_path: Path) -> None:
    url = f"https://user:{TOKEN}@pypi.example/simple"
    # What a suite without scrub-before-cut wrote: the cut fell just before the "@".
    cut = f"RuntimeError: cannot fetch from {url.partition('@')[0]}…"
    props = {Prop.ERROR_TYPE.value: "RuntimeError", Prop.SIGNATURE.value: cut}
    junit = suite_file(tmp_path / "junit" / "2.6.0-cpu.xml", "2.6.0-cpu", [(props, cut, cut)])
    assert_nowhere(TOKEN, report(tmp_path, junit))


# --- finding 3: the forms the scrubber missed, and env-error --build --------------------------

FORMS = {
    "at": "https://user:p@ss{t}@pypi.example/simple",
    "slash": "https://user:pa/ss{t}@pypi.example/simple",
    "json": r'{{"index": "https:\/\/user:{t}@pypi.example\/simple"}}',
    "percent": "see ?next=https%3A%2F%2Fuser%3A{t}%40pypi.example%2Fsimple&x=1",
}


def _form_token(name: str) -> str:
    return f"{TOKEN}{name}"


def test_every_form_of_a_url_is_scrubbed_in_every_output(tmp_path: Path) -> None:
    cells = []
    for name, form in FORMS.items():
        text = form.format(t=_form_token(name))
        props = {Prop.ERROR_TYPE.value: "RuntimeError", Prop.ERROR_MESSAGE.value: text}
        cells.append(({**props, Prop.SIGNATURE.value: f"RuntimeError: {text}"}, text, text))
    junit = suite_file(tmp_path / "junit" / "2.6.0-cpu.xml", "2.6.0-cpu", cells)
    texts = report(tmp_path, junit)
    for name in FORMS:
        assert_nowhere(_form_token(name), texts)
    assert any("pypi.example" in text for text in texts.values())  # the hosts stay


def test_env_error_build_and_message_are_scrubbed(tmp_path: Path) -> None:
    junit = tmp_path / "junit" / "2.6.0-private.xml"
    build = f"https://user:{_form_token('build')}@pypi.example/simple"
    message = " ".join(form.format(t=_form_token(name)) for name, form in FORMS.items())
    out, err = io.StringIO(), io.StringIO()
    args = ["env-error", "--target", "2.6.0-private", "--junit", str(junit)]
    code = main([*args, "--message", message, "--build", build], stdout=out, stderr=err)
    assert code == 0
    texts = {junit: junit.read_text(encoding="utf-8"), "stdout": out.getvalue()}
    texts.update(report(tmp_path, junit))
    for name in (*FORMS, "build"):
        assert_nowhere(_form_token(name), texts)
    assert "env-error" in texts[junit]


# --- finding 1: the install's command line and logs -------------------------------------------


@dataclass
class FailingInstall:
    """A Runner whose install fails the way uv does, quoting the index URL it was given."""

    calls: list[tuple[Sequence[str], Mapping[str, str]]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def installs(self) -> bool:
        return True

    def install(self, args: Sequence[str], env: Mapping[str, str], log: Path) -> None:
        self.calls.append((args, env))
        url = env.get("UV_INDEX", "")
        log.write_text(f"error: {url}/torch/ has no torch==2.6.0\n", encoding="utf-8")
        raise RunFailed(1)

    def check(self, cmd: Sequence[str], log: Path, *, external: bool) -> None:
        raise AssertionError("no import check after a failed install")

    def run(self, cmd: Sequence[str], *, external: bool) -> None:
        raise AssertionError("no suite after a failed install")

    def log(self, message: str) -> None:
        self.lines.append(message)

    def warn(self, message: str) -> None:
        self.lines.append(message)

    def notify_report(self) -> bool:
        return True


def _private_target(url: str) -> Target:
    build = Build("private", InstallSource(SourceKind.INDEX_URL, url))
    return Target(TargetId(Version("2.6.0"), "private"), build)


def test_an_index_token_reaches_uv_but_no_command_line_log_or_report(tmp_path: Path) -> None:
    runner = FailingInstall()
    reports = tmp_path / "run"
    run = MatrixRun("drill", ("2.6.0-private",), (Device.CPU,), 60.0, tmp_path, tmp_path, reports)
    with _index(answers={"/simple/torch/": _wheel_page()}) as served:
        url = f"http://user:{TOKEN}@127.0.0.1:{served.port}/simple"
        outcome = run_target(runner, _private_target(url), {}, run)
    assert outcome.state is State.ENV_ERROR
    ((args, env),) = runner.calls
    assert TOKEN in env["UV_INDEX"]  # uv is given the token, in its environment
    texts: dict[object, str] = {"argv": " ".join(args), "log": "\n".join(runner.lines)}
    texts.update(written_texts(reports))
    texts.update(report(tmp_path, outcome.junit))
    assert_nowhere(TOKEN, texts)
    assert "installing torch 2.6.0 from the index http://127.0.0.1:" in texts["log"]


# --- finding 4: a version listing asks only the build's index ---------------------------------


@dataclass
class Served:
    """A running drill index: its port, and each request's path and Authorization header."""

    port: int
    seen: list[tuple[str, str]]


class _Index(http.server.BaseHTTPRequestHandler):
    """A simple index on 127.0.0.1: ``answers`` maps a path to its page; the rest are 404."""

    answers: ClassVar[Mapping[str, bytes]] = {}
    seen: ClassVar[list[tuple[str, str]]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("Authorization") or ""))
        body = self.answers.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # the drill reads what it needs from `seen`


@contextlib.contextmanager
def _index(answers: Mapping[str, bytes], *, limit: float = 120.0) -> Iterator[Served]:
    """Serve ``answers`` on 127.0.0.1 only; stopped on exit, or after ``limit`` seconds anyway."""
    handler = type("Index", (_Index,), {"answers": dict(answers), "seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    watchdog = threading.Timer(limit, server.shutdown)
    thread.start()
    watchdog.start()
    try:
        yield Served(server.server_address[1], handler.seen)
    finally:
        watchdog.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _wheel_page(*versions: str) -> bytes:
    links = "".join(f'<a href="torch-{v}-py3-none-any.whl">torch-{v}</a>' for v in versions)
    return f"<!DOCTYPE html><html><body>{links}</body></html>".encode()


def _pip() -> list[str]:
    """A real pip: this interpreter's, else the first on PATH; the drill needs the real one."""
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    found = shutil.which("pip3") or shutil.which("pip")
    if found is None:
        pytest.skip("no pip here to run `pip index versions` with")
    return [found]


def test_a_listing_asks_only_the_configured_index(tmp_path: Path) -> None:
    pip = _pip()
    machine = tmp_path / "machine-wheels"  # what the machine's own pip settings point at
    machine.mkdir()
    (machine / "torch-9.9.9-py3-none-any.whl").write_bytes(b"")
    extra = tmp_path / "extra" / "torch"
    extra.mkdir(parents=True)
    (extra / "index.html").write_bytes(_wheel_page("8.8.8"))
    conf = tmp_path / "pip.conf"
    conf.write_text(f"[global]\nfind-links = {machine}\n", encoding="utf-8")
    polluted = {
        **os.environ,
        "PIP_FIND_LINKS": str(machine),
        "PIP_EXTRA_INDEX_URL": (tmp_path / "extra").as_uri(),
        "PIP_CONFIG_FILE": str(conf),
        "PIP_NO_INDEX": "0",
    }
    with _index(answers={"/simple/torch/": _wheel_page("2.6.0")}) as served:
        url = f"http://user:{TOKEN}@127.0.0.1:{served.port}/simple"
        got = list_index(env=polluted, index_url=url, pip=pip, where="the drill's index")
    assert got == (Version("2.6.0"),)


# --- finding 1, end to end: nox itself ---------------------------------------------------------


def _project_copy(dest: Path) -> Path:
    """What `nox -f noxfile.py` needs, copied: nox runs in the noxfile's folder and writes there."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("compat", "suites"):
        shutil.copytree(ROOT / folder, dest / folder, ignore=ignore)
    for name in ("noxfile.py", "pyproject.toml"):
        shutil.copy2(ROOT / name, dest / name)
    return dest


def _nox_env(config: Path, port: int) -> dict[str, str]:
    """The caller's environment, with nothing that sends uv elsewhere than 127.0.0.1."""
    drop = ("COMPAT_", "UV_INDEX", "UV_EXTRA_INDEX_URL", "UV_FIND_LINKS", "UV_DEFAULT_INDEX")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return {
        **env,
        "COMPAT_CONFIG": str(config),
        "NOX_SCRIPT_MODE": "none",  # this interpreter has what the noxfile imports
        "UV_DEFAULT_INDEX": f"http://127.0.0.1:{port}/simple",  # hop_db's extras: 404, fast
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_HTTP_TIMEOUT": "10",
    }


def test_nox_prints_no_index_token_end_to_end(tmp_path: Path) -> None:
    project = _project_copy(tmp_path / "project")
    with _index(answers={"/simple/torch/": _wheel_page()}, limit=110) as served:
        url = f"http://user:{TOKEN}@127.0.0.1:{served.port}/simple"
        config = tmp_path / "matrix.toml"
        config.write_text(
            "[tool.compat]\n"
            f'versions = ["2.6.0"]\npython = "{sys.version_info.major}.{sys.version_info.minor}"\n'
            f'[tool.compat.builds.private]\nindex-url = "{url}"\n',
            encoding="utf-8",
        )
        nox = [sys.executable, "-m", "nox", "-f", str(project / "noxfile.py")]
        done = subprocess.run(
            [*nox, "-s", "matrix(2.6.0-private)"],
            cwd=project,
            env=_nox_env(config, served.port),
            capture_output=True,
            text=True,
            timeout=100,
            check=False,
        )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output  # the target failed: no torch on that index
    junit = project / "reports" / "junit" / "2.6.0-private.xml"
    assert 'value="env-error"' in junit.read_text(encoding="utf-8"), output
    texts: dict[object, str] = {"nox stdout": done.stdout, "nox stderr": done.stderr}
    texts.update(written_texts(project / "reports"))
    assert_nowhere(TOKEN, texts)
    assert "installing torch 2.6.0 from the index http://127.0.0.1:" in output
    assert any(p.name.endswith(".install.log") for p in texts if isinstance(p, Path))
    assert any(p.name == "report.json" for p in texts if isinstance(p, Path)), output
    # uv was given the token: it asked the index for torch with user and token.
    assert ("/simple/torch/", _basic_auth("user", TOKEN)) in served.seen


def _basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
