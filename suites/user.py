"""Cases from the user's own modules: ``--case-module NAME``, found on ``--case-path DIR``.

A case module is any importable module with a module-level ``CASES``: a
sequence of ``suites.cases.Case``, written with the same API as the
catalogue. Its cases become ``user:`` rows. Every mistake in one (a module
that cannot be found or imported, no ``CASES``, an entry that is no Case,
a duplicate id) is a ``CaseModuleError`` whose message names the module and
the fix; the worker turns it into a usage error, never a traceback.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from dataclasses import replace
from types import ModuleType

from suites.cases import Case
from suites.schema import CellId, Device, Mode, Source

GUIDE = "README.md, 'Bring your own cases'"


class CaseModuleError(Exception):
    """A case module that cannot give its cases; the message says which and how to fix it."""


def prepend_paths(paths: Sequence[str]) -> None:
    """Put the ``--case-path`` folders first on ``sys.path``, in their order."""
    for path in reversed(paths):
        if path in sys.path:
            sys.path.remove(path)
        sys.path.insert(0, path)


def load_user(modules: Sequence[str], paths: Sequence[str] = ()) -> tuple[Case, ...]:
    """The cases of every case module, as ``user:`` rows, in module and ``CASES`` order."""
    prepend_paths(paths)
    cases: list[Case] = []
    origin: dict[str, str] = {}
    for name in modules:
        for case in module_cases(name, _import(name, paths)):
            if case.id in origin:
                first = origin[case.id]
                again = "twice" if first == name else f"as case module {first} does"
                raise CaseModuleError(
                    f"case module {name} defines {case.id} {again}; give one of them "
                    "another hop or variant."
                )
            origin[case.id] = name
            cases.append(case)
    return tuple(cases)


def module_cases(name: str, module: ModuleType) -> tuple[Case, ...]:
    """A case module's ``CASES`` as ``user:`` rows, each checked."""
    entries = getattr(module, "CASES", None)
    where = getattr(module, "__file__", None) or name
    if entries is None:
        raise CaseModuleError(
            f"case module {name} ({where}) has no module-level CASES; define "
            f"CASES = (Case(hop, variant, build), ...) in it (see {GUIDE})."
        )
    if isinstance(entries, str | bytes) or not isinstance(entries, Sequence):
        raise CaseModuleError(
            f"CASES of case module {name} is of type {type(entries).__name__}; make it a tuple or "
            "list of suites.cases.Case."
        )
    return tuple(_user_case(name, i, entry) for i, entry in enumerate(entries))


def _user_case(name: str, index: int, entry: object) -> Case:
    if not isinstance(entry, Case):
        raise CaseModuleError(
            f"CASES[{index}] of case module {name} is of type {type(entry).__name__}, not a "
            f"suites.cases.Case; write it as Case(hop, variant, build) (see {GUIDE})."
        )
    case = replace(entry, source=Source.USER)
    cell = case.cell(Mode.AOT, Device.CPU)
    try:
        parsed = CellId.parse(str(cell))
    except ValueError:
        parsed = None
    if parsed != cell:
        raise CaseModuleError(
            f"CASES[{index}] of case module {name} has hop {case.hop!r} and variant "
            f"{case.variant!r}, which make no case id; use names without '.', '/', ':' in "
            "the hop and without '/' in the variant, e.g. Case('cond', 'my_model', build)."
        )
    return case


def _import(name: str, paths: Sequence[str]) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            raise CaseModuleError(_not_found(name, paths)) from exc
        raise CaseModuleError(
            f"case module {name} imports {exc.name}, which this environment does not have; "
            "install it into the target's environment."
        ) from exc
    except Exception as exc:  # the user's code, run at import: anything can happen
        first = (str(exc).strip().splitlines() or [""])[0]
        raise CaseModuleError(
            f"case module {name} raised {type(exc).__name__}: {first} while being imported; "
            f"fix the module (python -c 'import {name}' in the target shows the traceback)."
        ) from exc


def _not_found(name: str, paths: Sequence[str]) -> str:
    top = name.split(".")[0]
    rest = [p or "." for p in dict.fromkeys(sys.path) if p not in paths]
    given = f"{', '.join(paths)} from case-path, then " if paths else "no case-path given; "
    return (
        f"case module {name} was not found in any folder of sys.path ({given}"
        f"{', '.join(rest)}); add the folder that holds {top} to case-path in [tool.compat] "
        "(--case-path DIR), or install its package into the target's environment."
    )
