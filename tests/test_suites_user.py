"""suites.user: case modules found on a path, their CASES as user: rows, and every mistake
in one as a one-sentence usage error (in-process, then through ``python -m suites``)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from suites.schema import Source  # noqa: E402
from suites.user import CaseModuleError, load_user  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
HEADER = """
import torch
from suites.cases import Case, Sample, module_of


def build_double(device):
    \"\"\"a model that doubles its input\"\"\"
    return module_of(lambda x: x * 2), (Sample((torch.ones(2, device=device),)),)
"""
GOOD = (
    HEADER + 'CASES = (Case("cond", "double", build_double), Case("map", "double", build_double))'
)


@pytest.fixture(autouse=True)
def _own_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """load_user puts case-path folders on sys.path: each test's changes end with it."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "modules", dict(sys.modules))


def _package(root: Path, name: str, **modules: str) -> Path:
    """A package ``name`` under ``root`` with the given modules; returns ``root``."""
    package = root / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    for module, text in modules.items():
        (package / f"{module}.py").write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def test_cases_become_user_rows_in_order(tmp_path: Path) -> None:
    root = _package(tmp_path, "goodpkg", hop_cases=GOOD)
    cases = load_user(["goodpkg.hop_cases"], [str(root)])
    assert [c.id for c in cases] == ["user:cond.double", "user:map.double"]
    assert {c.source for c in cases} == {Source.USER}
    assert cases[0].pattern == "a model that doubles its input"
    module, (sample,) = cases[0].build("cpu")
    assert torch.equal(module(*sample.args), torch.full((2,), 2.0))
    assert sys.path[0] == str(root)


def _error(tmp_path: Path, modules: list[str], paths: list[str], **files: str) -> str:
    if files:
        _package(tmp_path, "badpkg", **files)
    with pytest.raises(CaseModuleError) as info:
        load_user(modules, paths)
    message = str(info.value)
    assert "\n" not in message and message.endswith(".")  # one sentence
    return message


def test_a_module_not_found_names_the_folders_and_the_fix(tmp_path: Path) -> None:
    message = _error(tmp_path, ["nopkg.hop_cases"], [str(tmp_path)])
    assert message.startswith("case module nopkg.hop_cases was not found in any folder of sys.path")
    assert f"({tmp_path} from case-path, then " in message
    assert "add the folder that holds nopkg to case-path in [tool.compat]" in message
    assert "or install its package into the target's environment." in message


def test_without_a_case_path_the_message_says_so(tmp_path: Path) -> None:
    message = _error(tmp_path, ["nopkg.hop_cases"], [])
    assert "(no case-path given; " in message


@pytest.mark.parametrize(
    ("files", "modules", "fragment"),
    [
        (
            {"hop_cases": "import nosuchdependency\n"},
            ["badpkg.hop_cases"],
            "case module badpkg.hop_cases imports nosuchdependency, which this environment "
            "does not have; install it into the target's environment.",
        ),
        (
            {"hop_cases": "raise ValueError('boom')\n"},
            ["badpkg.hop_cases"],
            "case module badpkg.hop_cases raised ValueError: boom while being imported; fix "
            "the module (python -c 'import badpkg.hop_cases' in the target shows the traceback).",
        ),
        (
            {"hop_cases": "CASE = ()\n"},
            ["badpkg.hop_cases"],
            "hop_cases.py) has no module-level CASES; define CASES = (Case(hop, variant, "
            "build), ...) in it (see README.md, 'Bring your own cases').",
        ),
        (
            {"hop_cases": HEADER + "CASES = 'cond'\n"},
            ["badpkg.hop_cases"],
            "CASES of case module badpkg.hop_cases is of type str; make it a tuple or list",
        ),
        (
            {"hop_cases": HEADER + "CASES = [Case('cond', 'a', build_double), ('cond', 'b')]"},
            ["badpkg.hop_cases"],
            "CASES[1] of case module badpkg.hop_cases is of type tuple, not a suites.cases.Case; "
            "write it as Case(hop, variant, build)",
        ),
        (
            {"hop_cases": HEADER + "CASES = [Case('my.cond', 'a', build_double)]"},
            ["badpkg.hop_cases"],
            "CASES[0] of case module badpkg.hop_cases has hop 'my.cond' and variant 'a', which "
            "make no case id",
        ),
        (
            {"hop_cases": HEADER + "CASES = [Case('cond', 'a', build_double)] * 2"},
            ["badpkg.hop_cases"],
            "case module badpkg.hop_cases defines user:cond.a twice; give one of them another "
            "hop or variant.",
        ),
        (
            {"one": GOOD, "two": GOOD},
            ["badpkg.one", "badpkg.two"],
            "case module badpkg.two defines user:cond.double as case module badpkg.one does",
        ),
    ],
    ids=[
        "dependency",
        "raises",
        "no-cases",
        "not-a-sequence",
        "not-a-case",
        "bad-id",
        "twice",
        "two",
    ],
)
def test_mistakes_name_the_module_and_the_fix(
    tmp_path: Path, files: dict[str, str], modules: list[str], fragment: str
) -> None:
    assert fragment in _error(tmp_path, modules, [str(tmp_path)], **files)


def test_the_suite_reports_a_broken_case_module_as_a_usage_error(tmp_path: Path) -> None:
    _package(tmp_path, "brokenpkg", hop_cases="CASES = [1]\n")
    args = ["--list", "--case-module", "brokenpkg.hop_cases", "--case-path", str(tmp_path)]
    proc = subprocess.run(
        [sys.executable, "-m", "suites", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "python -m suites: CASES[0] of case module brokenpkg.hop_cases is of type int, not a "
        "suites.cases.Case; write it as Case(hop, variant, build) (see README.md, "
        "'Bring your own cases')."
    ]


def test_list_shows_a_user_case_with_its_pattern_and_since(tmp_path: Path) -> None:
    text = HEADER + 'CASES = [Case("cond", "double", build_double, since="2.5")]\n'
    _package(tmp_path, "listpkg", hop_cases=text)
    args = ["--list", "--case-module", "listpkg.hop_cases", "--case-path", str(tmp_path)]
    args += ["--source", "user", "--mode", "aot", "--device", "cpu"]
    proc = subprocess.run(
        [sys.executable, "-m", "suites", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "user:cond.double  since 2.5  a model that doubles its input",
        "  user:cond.double/aot[cpu]",
    ]
