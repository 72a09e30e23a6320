"""suites/ runs inside every torch env: it may import only the standard library and torch.

Read from the source with ``ast`` (no torch needed), so a stray import fails
here and not in a user's torch env that lacks the package.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SUITES = Path(__file__).resolve().parent.parent / "suites"
ALLOWED = frozenset(sys.stdlib_module_names) | {"torch", "suites"}
_DYNAMIC = {"import_module", "__import__"}  # importlib.import_module("x"), __import__("x")


def imported(source: str) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source``, nested ones too."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module is not None:
                yield node.lineno, node.module
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            literal = getattr(node.args[0], "value", None)
            if name in _DYNAMIC and isinstance(literal, str) and not literal.startswith("."):
                yield node.lineno, literal


def outside(source: str) -> list[tuple[int, str]]:
    """The imports of ``source`` that are neither the standard library, torch nor suites."""
    return [(line, name) for line, name in imported(source) if name.split(".")[0] not in ALLOWED]


def _modules() -> list[Path]:
    return sorted(SUITES.rglob("*.py"))


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("import os, json\nfrom xml.etree import ElementTree", []),
        ("import torch.utils._pytree as pytree\nfrom suites.schema import Status", []),
        ("from . import schema\nfrom .junit_xml import xml_safe", []),
        ("import junitparser", [(1, "junitparser")]),
        ("def f():\n    from compat.junit import read_suites", [(2, "compat.junit")]),
        ("import os\nimport packaging.version", [(2, "packaging.version")]),
        ("try:\n    import numpy\nexcept ImportError:\n    pass", [(2, "numpy")]),
        ("import importlib\nimportlib.import_module('nox')", [(2, "nox")]),
        ("__import__('compat')", [(1, "compat")]),
        ("importlib.import_module(name)", []),  # not a literal: cases' entry points, by design
    ],
)
def test_the_checker_finds_what_it_should(source: str, found: list[tuple[int, str]]) -> None:
    assert outside(source) == found


def test_the_checker_sees_every_module() -> None:
    seen = {name for path in _modules() for _, name in imported(path.read_text("utf-8"))}
    # If the walk stopped finding imports, every other test here would pass for nothing.
    assert {"torch", "xml.sax.saxutils", "suites.schema"} <= seen
    assert len(_modules()) >= 10


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.relative_to(SUITES).as_posix())
def test_suites_imports_only_the_standard_library_and_torch(path: Path) -> None:
    bad = outside(path.read_text("utf-8"))
    assert not bad, f"{path.name} imports {bad}: suites/ may use only the stdlib and torch"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.relative_to(SUITES).as_posix())
def test_suites_never_imports_compat(path: Path) -> None:
    names = [name for _, name in imported(path.read_text("utf-8"))]
    assert not [n for n in names if n.split(".")[0] == "compat"]
