"""Every test module that imports or runs torch says so with the ``torch`` marker.

So ``-m "not torch"`` is quick and passes where torch is not installed. Read
from the source with ``ast``; what a module imports from suites/ counts when
that suites module imports torch at its top level, directly or through others.
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
SUITES = TESTS.parent / "suites"


def _top_level_imports(tree: ast.Module) -> list[tuple[ast.stmt, str]]:
    found: list[tuple[ast.stmt, str]] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            found.extend((node, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node, node.module))
            found.extend((node, f"{node.module}.{alias.name}") for alias in node.names)
    return found


def _module_name(path: Path) -> str:
    """``suites.cases`` for suites/cases.py, ``suites.catalog`` for suites/catalog/__init__.py."""
    parts = path.relative_to(SUITES.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _torch_modules() -> frozenset[str]:
    """The suites modules that import torch when imported, directly or through others."""
    imports = {
        _module_name(path): {name for _, name in _top_level_imports(ast.parse(path.read_text()))}
        for path in SUITES.rglob("*.py")
    }
    needs = {m for m, names in imports.items() if any(_is_torch(n) for n in names)}
    while True:
        more = {m for m, names in imports.items() if names & needs} - needs
        if not more:
            return frozenset(needs)
        needs |= more


def _is_torch(name: str) -> bool:
    return name == "torch" or name.startswith("torch.")


def _importorskips_torch(node: ast.AST) -> bool:
    return any(
        isinstance(n, ast.Call)
        and getattr(n.func, "attr", None) == "importorskip"
        and [getattr(a, "value", None) for a in n.args[:1]] == ["torch"]
        for n in ast.walk(node)
    )


def _runs_the_suite(tree: ast.Module) -> bool:
    """Whether a list in the module says ``-m suites...`` (a subprocess that imports torch)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.List):
            values = [getattr(e, "value", None) for e in node.elts]
            for flag, module in itertools.pairwise(values):
                if flag == "-m" and isinstance(module, str) and module.split(".")[0] == "suites":
                    return True
    return False


def _marked_torch(tree: ast.Module) -> bool:
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if any(getattr(t, "id", None) == "pytestmark" for t in targets):
            return any(
                isinstance(n, ast.Attribute)
                and n.attr == "torch"
                and getattr(n.value, "attr", None) == "mark"
                for n in ast.walk(node.value)
            )
    return False


TORCH_MODULES = _torch_modules()


def _problems(source: str) -> list[str]:
    """Why a test module's source breaks the rule; empty when it keeps it."""
    tree = ast.parse(source)
    every = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    names = {alias.name for n in every if isinstance(n, ast.Import) for alias in n.names}
    names |= {n.module for n in every if isinstance(n, ast.ImportFrom) and n.module}
    uses_torch = (
        any(_is_torch(n) or n in TORCH_MODULES for n in names)
        or _importorskips_torch(tree)
        or _runs_the_suite(tree)
    )
    problems = []
    if uses_torch and not _marked_torch(tree):
        problems.append("uses torch but has no `pytestmark = pytest.mark.torch`")
    skipped = False
    for node in tree.body:
        skipped = skipped or _importorskips_torch(node)
        for stmt, name in _top_level_imports(ast.Module([node], [])):
            if (_is_torch(name) or name in TORCH_MODULES) and not skipped:
                problems.append(
                    f"line {stmt.lineno} imports {name} before pytest.importorskip('torch')"
                )
    return sorted(set(problems))


@pytest.mark.parametrize(
    ("source", "problems"),
    [
        ("import json\nfrom suites.schema import Status", []),
        (
            "import pytest\ntorch = pytest.importorskip('torch')\n"
            "pytestmark = pytest.mark.torch\nfrom suites.body import run_cell",
            [],
        ),
        (
            "import pytest\nimport torch\npytestmark = pytest.mark.torch",
            ["line 2 imports torch before pytest.importorskip('torch')"],
        ),
        (
            "import pytest\npytest.importorskip('torch')\nfrom suites.catalog import CATALOG",
            ["uses torch but has no `pytestmark = pytest.mark.torch`"],
        ),
        # A module of a suites subpackage imports torch through suites.cases.
        (
            "from suites.catalog.wrappers import CASES",
            [
                "line 1 imports suites.catalog.wrappers before pytest.importorskip('torch')",
                "uses torch but has no `pytestmark = pytest.mark.torch`",
            ],
        ),
        (
            "import subprocess, sys\n"
            "def test_x():\n    subprocess.run([sys.executable, '-m', 'suites', '--list'])",
            ["uses torch but has no `pytestmark = pytest.mark.torch`"],
        ),
        (
            "import pytest\npytestmark = [pytest.mark.torch, pytest.mark.slow]\n"
            "def test_x():\n    import torch",
            [],
        ),
    ],
)
def test_the_checker_finds_what_it_should(source: str, problems: list[str]) -> None:
    assert _problems(source) == problems


def test_the_suites_modules_that_need_torch_are_found() -> None:
    assert {"suites.body", "suites.cases", "suites.modes"} <= TORCH_MODULES
    assert not {"suites.schema", "suites.junit_xml", "suites.runner"} & TORCH_MODULES


@pytest.mark.parametrize("path", sorted(TESTS.glob("test_*.py")), ids=lambda p: p.name)
def test_torch_tests_are_marked_and_skip_without_torch(path: Path) -> None:
    assert _problems(path.read_text("utf-8")) == []
