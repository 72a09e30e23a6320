"""README's "Bring your own cases", run: a user case module reaches every output.

The case module and the [tool.compat] lines are read from README.md itself, so the
example there is the one that is proven to work. A temporary project holds them;
its config picks the local target (this interpreter's torch) and only user cases.
The target runs as nox's matrix session runs it (compat.run with a runner that runs
real commands), then the report; the user case must be in the suite's JUnit, the
report's junit.xml, report.json, report.md, report.html and summary.md.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

pytestmark = pytest.mark.torch
pytest.importorskip("torch")

from compat.config import load_config  # noqa: E402
from compat.progress import State  # noqa: E402
from compat.run import MatrixRun, RunFailed, run_report, run_target  # noqa: E402
from compat.targets import plan_targets  # noqa: E402
from suites.schema import DEFAULT_MODES, CellId, Prop, Source, Status  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Bring your own cases"
CASE = "user:cond.gate"
# What the test adds to README's table: only user cases, on the local target.
TEST_KEYS = 'cases = ["user:*"]\n\n[tool.compat.builds.local]\n'


def readme_example() -> tuple[str, str]:
    """The case module and the [tool.compat] lines of README's "Bring your own cases"."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    python = re.findall(r"```python\n(.*?)```", section, re.S)
    toml = re.findall(r"```toml\n(.*?)```", section, re.S)
    assert len(python) == 1 and len(toml) == 1, "the section has one module and one table"
    return python[0], toml[0]


class SubprocessRunner:
    """compat.run's Runner as the noxfile's, with plain subprocesses in place of nox."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def installs(self) -> bool:
        return True

    def install(self, args: Sequence[str], env: Mapping[str, str], log: Path) -> None:
        raise AssertionError("the local target installs nothing")

    def check(self, cmd: Sequence[str], log: Path, *, external: bool) -> None:
        with log.open("w", encoding="utf-8") as out:
            done = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, timeout=300)
        if done.returncode:
            raise RunFailed(done.returncode)

    def run(self, cmd: Sequence[str], *, external: bool) -> None:
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
        self.lines += [*done.stdout.splitlines(), *done.stderr.splitlines()]
        if done.returncode:
            raise RunFailed(done.returncode)

    def log(self, message: str) -> None:
        self.lines.append(message)

    def warn(self, message: str) -> None:
        self.lines.append(f"warning: {message}")

    def notify_report(self) -> bool:
        return True  # sequential: the report runs once the target is done, as nox does it


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The local target's JUnit and the report folder, for README's example project."""
    project = tmp_path_factory.mktemp("project")
    module, table = readme_example()
    package = project / "cases" / "mypkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "hop_cases.py").write_text(module, encoding="utf-8")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(table + TEST_KEYS, encoding="utf-8")

    env = {"COMPAT_LOCAL_PYTHON": sys.executable, "COMPAT_TARGETS": "local"}
    config = load_config(pyproject, env)
    assert config.case_path == (project / "cases",)  # relative to the file, made absolute
    (target,) = plan_targets(config, env, platform="linux-x86_64")
    reports = project / "reports"
    run = MatrixRun.of(
        config,
        run_id="e2e",
        targets=(target.name,),
        config_file=pyproject,
        own_envs=project / ".nox",
        reports=reports,
    )
    runner = SubprocessRunner()
    outcome = run_target(runner, target, env, run)
    assert outcome.state is State.DONE, (outcome.problem, runner.lines[-20:])
    assert run_report(runner, reports, pyproject) is None, runner.lines[-20:]
    (folder,) = [p for p in reports.iterdir() if p.is_dir() and p.name[0].isdigit()]
    return outcome.junit, folder


def _cells(junit: Path) -> dict[str, dict[str, str]]:
    """{cell id: properties} of every testcase in a JUnit file."""
    cells = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        cell = CellId.from_junit(case.get("classname", ""), case.get("name", ""))
        cells[str(cell)] = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
    return cells


def test_the_suite_ran_the_user_case_in_every_mode(outputs: tuple[Path, Path]) -> None:
    junit, _ = outputs
    cells = _cells(junit)
    assert sorted(cells) == sorted(f"{CASE}/{mode}[cpu]" for mode in DEFAULT_MODES)
    for props in cells.values():
        assert props[Prop.SOURCE] == Source.USER
        assert props[Prop.STATUS] == Status.PASS, props


def test_the_user_case_is_in_every_output_of_the_report(outputs: tuple[Path, Path]) -> None:
    _, folder = outputs
    assert {c.split("/")[0] for c in _cells(folder / "junit.xml")} == {CASE}
    data = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    rows = {row["id"]: row for row in data["cells"]}
    assert {i.split("/")[0] for i in rows} == {CASE}
    results = [r for row in rows.values() for r in row["results"]]
    assert {(r["target"], r["status"]) for r in results} == {("local", "pass")}
    for name in ("report.md", "report.html"):
        assert CASE in (folder / name).read_text(encoding="utf-8"), name
    # summary.md names HOPs, not cases: the user case is its HOP's one case
    summary = (folder / "summary.md").read_text(encoding="utf-8")
    assert "- `cond` (1 case) · " in summary
