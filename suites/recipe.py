"""The case facts of a cell that did not pass: what a standalone repro needs to rebuild its case.

``case_facts(case)`` gives them as properties (``suites.schema.Prop``): for a
hop_db case the op info's name, variant and index; for an ExportDB case the
example's name; for any other case whose builder is a plain function (or a
``functools.partial`` of one with literal arguments) Python source that
defines the builder with nothing but torch installed, and the expression that
is the builder.

That source is the builder's *source closure*: the builder's own source, then
for every global name it loads (annotations aside: the script postpones them)
what that name is bound to in its module. A module is an import; a function or
class of this project, of the case's own module, or of any module that is no
stdlib module and no installed distribution is inlined, recursively (its
dependencies first); one from elsewhere is imported by name; a literal is a
constant; a container that a module whose code is inlined binds once, to a
literal display (``_LIBRARIES = []``), is that assignment: a fresh process's
value, whatever the container holds by now. Anything else makes the case unrenderable: no
source, never an exception. ``suites.catalog.entries.entry`` is rendered as a
short standalone equivalent (``ENTRY_SHIM``) instead of its chain of helpers.

Name binding is read per definition, not per scope: a name bound anywhere in a
definition counts as local throughout it. Cases that shadow a global in one
inner scope only and read it in another are not rendered faithfully (their
standalone run fails with a NameError; tests run every catalogue case's).

Only the standard library at the top: torch is imported where a shim needs it.
"""

from __future__ import annotations

import ast
import builtins
import functools
import importlib
import importlib.metadata
import inspect
import io
import math
import re
import sys
import textwrap
import tokenize
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from suites.schema import Prop

if TYPE_CHECKING:
    from suites.cases import Case

# Installed editable where the tests run, yet never importable from a standalone script.
PROJECT = frozenset({"suites", "compat"})
HEADER = "from __future__ import annotations"

# suites.catalog.entries.entry, standalone: resolve_spec and dotted folded into one function.
ENTRY_SHIM = """\
def entry(spec):  # the first "module:attr" of spec that this torch has
    for module, _, attr in (alternative.partition(":") for alternative in spec.split("|")):
        with contextlib.suppress(Exception):  # absent, or broken in this torch
            return getattr(importlib.import_module(module), attr)
    raise LookupError(f"torch {torch.__version__} has no {spec.replace(':', '.')}")
"""

_ABSENT = object()
_TYPE_IGNORE = re.compile(r"#\s*type:\s*ignore")
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class _Unrenderable(Exception):
    """A name of the closure has a value a standalone script cannot recreate."""


def case_facts(case: Case) -> dict[str, str]:
    """The facts of ``case`` by property name; ``{}`` where there are none to give."""
    from suites.exportdb import ExampleBuild
    from suites.upstream import OpInfoBuild

    build = case.build
    if isinstance(build, OpInfoBuild):
        return {
            Prop.OP_NAME.value: str(build.op.name),
            Prop.OP_VARIANT.value: str(build.op.variant_test_name or ""),
            Prop.OP_INDEX.value: str(build.index),
        }
    if isinstance(build, ExampleBuild):
        return {Prop.EXAMPLE.value: build.name} if build.name else {}
    rendered = render_builder(build)
    if rendered is None:
        return {}
    source, expression = rendered
    return {Prop.CASE_SOURCE.value: source, Prop.CASE_BUILD.value: expression}


def render_builder(build: Callable[..., Any]) -> tuple[str, str] | None:
    """``(source, expression)`` of a builder (module docstring), or None if it has none."""
    func: Any = build
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = {}
    if isinstance(build, functools.partial):
        func, args, kwargs = build.func, build.args, build.keywords
    try:
        closure = _closure_of(func)
        arguments = [_literal(a) for a in args] + [f"{k}={_literal(v)}" for k, v in kwargs.items()]
    except Exception:  # _Unrenderable, or source that inspect/ast/tokenize cannot read: no facts
        return None
    if not isinstance(build, functools.partial):
        return closure.render(), closure.name
    expression = f"functools.partial({', '.join([closure.name, *arguments])})"
    try:
        source = closure.with_module("functools", functools).render()
    except _Unrenderable:  # the closure binds "functools" to something else
        return None
    return source, expression


@functools.cache
def _closure_of(func: Any) -> _Closure:
    """The source closure of one builder function (cached: builders are module-level)."""
    if not inspect.isfunction(func) or func.__qualname__ != func.__name__:
        raise _Unrenderable("not a module-level function")  # a lambda, a method, a closure
    closure = _Closure(own=func.__module__, name=func.__name__)
    closure.require(func.__name__, func, _module(func.__module__), builder=True)
    return closure


@dataclass
class _Closure:
    """A standalone script's parts while its closure is read (private and mutable)."""

    own: str  # the case's own module: its code is always inlined
    name: str  # the builder's name in the script
    bound: dict[str, Any] = field(default_factory=dict)  # script name -> what it is
    imports: dict[str, str] = field(default_factory=dict)  # line -> module, for sorting
    froms: dict[str, dict[str, str]] = field(default_factory=dict)  # module -> {alias: attr}
    constants: list[str] = field(default_factory=list)
    definitions: list[str] = field(default_factory=list)

    def render(self) -> str:
        """The script: the header, imports (stdlib first), constants, definitions."""
        imports = dict(self.imports)
        for module, names in self.froms.items():
            pairs = sorted(a if a == n else f"{n} as {a}" for a, n in names.items())
            imports[f"from {module} import {', '.join(pairs)}"] = module
        lines = sorted(imports, key=lambda line: (not _stdlib(imports[line]), imports[line], line))
        blocks = [HEADER, "\n".join(lines)]
        if self.constants:
            blocks.append("\n".join(self.constants))
        # Compact, as a repro should be: the helpers together, the builder (the last) apart.
        *helpers, builder = self.definitions
        return "\n\n".join([*blocks, *(["\n".join(helpers)] if helpers else []), builder]) + "\n"

    def with_module(self, name: str, module: ModuleType) -> _Closure:
        """A copy that also imports ``module`` as ``name``."""
        copy = _Closure(
            self.own,
            self.name,
            dict(self.bound),
            dict(self.imports),
            {m: dict(n) for m, n in self.froms.items()},
            list(self.constants),
            list(self.definitions),
        )
        copy.require(name, module, module)
        return copy

    def _bind(self, name: str, value: Any) -> bool:
        """Bind ``name`` to ``value``; True if it already was; a clash is unrenderable."""
        if name not in self.bound:
            self.bound[name] = value
            return False
        old = self.bound[name]
        if old is value:
            return True
        if type(old) is type(value) and _literal_or_none(old) is not None and old == value:
            return True
        raise _Unrenderable(f"{name} names two things in one script")

    def require(self, name: str, value: Any, module: ModuleType, builder: bool = False) -> None:
        """Give the script ``name`` bound as ``module`` binds it to ``value``."""
        if self._bind(name, value):
            return
        literal = _literal_or_none(value)
        if inspect.ismodule(value):
            self._import(name, value)
        elif literal is not None:
            self.constants.append(f"{name} = {literal}")
        elif _is_entry(value):
            self._define(name, ENTRY_SHIM, _module(__name__), helper=True, shim=True)
        elif (target := _definition(value)) is not None:
            if not self._inlines(target.__module__):
                self._import_from(name, value)
                return
            try:
                source = inspect.getsource(target)
            except (OSError, TypeError) as err:
                raise _Unrenderable(f"no source for {name}") from err
            defined = self._define(name, source, _module(target.__module__), helper=not builder)
            if defined != name:  # imported under another name: the script binds both
                self._bind(defined, value)
                self.definitions.append(f"{name} = {defined}")
        elif self._inlines(module.__name__) and (display := _display(module, name)):
            self.constants.append(f"{name} = {display}")
        else:
            self._import_from(name, value)

    def _inlines(self, module: str) -> bool:
        """Whether a definition of ``module`` is inlined (else imported)."""
        top = module.split(".")[0]
        if top in PROJECT or module == self.own:
            return True
        return top not in sys.stdlib_module_names and top not in _distributions()

    def _import(self, name: str, module: ModuleType) -> None:
        if self._inlines(module.__name__):
            raise _Unrenderable(f"{name} is the module {module.__name__}, not importable alone")
        line = f"import {module.__name__}"
        self.imports[line if name == module.__name__ else f"{line} as {name}"] = module.__name__

    def _import_from(self, name: str, value: Any) -> None:
        """``from module import attr as name``, where the module gives ``value`` back."""
        home = getattr(value, "__module__", None)
        if not isinstance(home, str) or self._inlines(home):
            raise _Unrenderable(f"{name} is neither importable nor source")
        try:
            module = importlib.import_module(home)
        except Exception as err:  # a module that does not import alone
            raise _Unrenderable(f"{name}: {home} does not import") from err
        names = (getattr(value, "__qualname__", None), name, getattr(value, "__name__", None))
        for attr in names:
            if not isinstance(attr, str) or not attr.isidentifier():
                continue
            if getattr(module, attr, _ABSENT) is value:
                self.froms.setdefault(home, {})[name] = attr
                return
        raise _Unrenderable(f"{name} cannot be imported from {home}")

    def _define(
        self, name: str, source: str, module: ModuleType, helper: bool, shim: bool = False
    ) -> str:
        """Inline one definition after its dependencies; the name it defines."""
        text = textwrap.dedent(source)
        node = ast.parse(text).body[0]
        if not isinstance(node, _DEFINITIONS):
            raise _Unrenderable(f"the source of {name} is no definition")
        scope = _shim_globals() if shim else vars(module)
        for free in _free_names(node):
            if free in scope:
                self.require(free, scope[free], module)
            elif not hasattr(builtins, free):
                raise _Unrenderable(f"{name} reads {free}, which its module does not define")
        self.definitions.append(_cleaned(text, node, helper))
        return node.name


def _shim_globals() -> dict[str, Any]:
    """What ``ENTRY_SHIM`` reads (torch imported late: this module's top has no torch)."""
    import contextlib

    import torch

    return {"contextlib": contextlib, "importlib": importlib, "torch": torch}


def _is_entry(value: Any) -> bool:
    if not callable(value) or getattr(value, "__name__", None) != "entry":
        return False
    from suites.catalog import entries

    return value is entries.entry


def _definition(value: Any) -> Any:
    """The function or class whose source defines ``value`` (through decorators), or None."""
    if inspect.isclass(value):
        return value if value.__qualname__ == value.__name__ else None
    if not callable(value):
        return None
    target = inspect.unwrap(value)
    if inspect.isfunction(target) and target.__qualname__ == target.__name__:
        return target
    return None


def _module(name: str) -> ModuleType:
    try:
        return sys.modules[name]
    except KeyError as err:
        raise _Unrenderable(f"module {name} is not loaded") from err


@functools.cache
def _distributions() -> frozenset[str]:
    """Top-level names of every installed distribution."""
    return frozenset(importlib.metadata.packages_distributions())


def _stdlib(module: str) -> bool:
    return module.split(".")[0] in sys.stdlib_module_names


def _free_names(node: ast.AST) -> Iterator[str]:
    """The names ``node`` loads and binds nowhere, in reading order; annotations skipped."""
    loaded: dict[str, None] = {}
    bound: set[str] = set()

    def visit(n: ast.AST) -> None:
        if isinstance(n, ast.Name):
            if isinstance(n.ctx, ast.Load):
                loaded.setdefault(n.id)
            else:
                bound.add(n.id)
        elif isinstance(n, ast.arg):
            bound.add(n.arg)
        elif isinstance(n, _DEFINITIONS):
            bound.add(n.name)
        elif isinstance(n, ast.alias):
            bound.add((n.asname or n.name).split(".")[0])
        elif isinstance(n, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and n.name:
            bound.add(n.name)
        for key, value in ast.iter_fields(n):
            if key in ("annotation", "returns"):
                continue
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.AST):
                    visit(child)

    visit(node)
    return (name for name in loaded if name not in bound)


def _cleaned(text: str, node: ast.AST, helper: bool) -> str:
    """``text`` without ``# type: ignore`` comments; a helper's also without its docstrings,
    comment lines and blank lines."""
    lines = text.splitlines()
    drop: set[int] = set()  # 0-based line numbers
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        row, col = token.start[0] - 1, token.start[1]
        own_line = not lines[row][:col].strip() if row < len(lines) else False
        if token.type == tokenize.COMMENT:
            if helper and own_line:
                drop.add(row)
            elif _TYPE_IGNORE.match(token.string):
                lines[row] = lines[row][:col].rstrip()
        elif token.type == tokenize.NL and helper and own_line:
            drop.add(row)
    if helper:
        drop.update(_docstring_lines(node, lines))
    return "\n".join(line for i, line in enumerate(lines) if i not in drop).rstrip()


def _docstring_lines(node: ast.AST, lines: list[str]) -> Iterator[int]:
    """The lines of every docstring in ``node`` that stands on lines of its own."""
    for n in ast.walk(node):
        if not isinstance(n, _DEFINITIONS) or len(n.body) < 2:
            continue  # a docstring alone is the body: it stays
        first = n.body[0]
        if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)):
            continue
        if not isinstance(first.value.value, str) or first.end_lineno is None:
            continue
        start, end = first.lineno - 1, first.end_lineno - 1
        if not lines[start][: first.col_offset].strip():
            yield from range(start, end + 1)


def _literal_or_none(value: Any) -> str | None:
    try:
        return _literal(value)
    except _Unrenderable:
        return None


def _literal(value: Any) -> str:
    """Source that evaluates to ``value``: str, int, float, bool, None, tuples and frozensets."""
    kind = type(value)
    if kind is str and "'" not in value and '"' not in value:
        return f'"{repr(value)[1:-1]}"'  # the quotes ruff format would choose
    if value is None or kind in (bool, int, str):
        return repr(value)
    if kind is float and math.isfinite(value):
        return repr(value)
    if kind is tuple:
        items = [_literal(v) for v in value]
        return f"({', '.join(items)}{',' if len(items) == 1 else ''})"
    if kind is frozenset:  # sorted: a set's repr follows the hash seed
        items = sorted(_literal(v) for v in value)
        return f"frozenset({{{', '.join(items)}}})" if items else "frozenset()"
    raise _Unrenderable(f"{kind.__name__} is no literal")


@functools.cache
def _bindings(module: str) -> Mapping[str, list[ast.stmt]]:
    """Every top-level statement of ``module``'s source that binds a name, by name."""
    try:
        text = inspect.getsource(_module(module))
    except (OSError, TypeError):
        return {}
    found: dict[str, list[ast.stmt]] = {}
    for stmt in ast.parse(text).body:
        for target in _bound_by(stmt):
            found.setdefault(target, []).append(stmt)
    return found


def _bound_by(stmt: ast.stmt) -> Iterator[str]:
    if isinstance(stmt, ast.Assign):
        for target in stmt.targets:
            yield from (n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    elif isinstance(stmt, ast.AnnAssign | ast.AugAssign) and isinstance(stmt.target, ast.Name):
        yield stmt.target.id
    elif isinstance(stmt, (*_DEFINITIONS, ast.Import, ast.ImportFrom)):
        names = [stmt.name] if isinstance(stmt, _DEFINITIONS) else []
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            names = [(a.asname or a.name).split(".")[0] for a in stmt.names]
        yield from names


def _display(module: ModuleType, name: str) -> str | None:
    """The literal display ``module`` binds ``name`` to in its one top-level statement that
    binds it (``_LIBRARIES: list[Any] = []``), or None."""
    statements = _bindings(module.__name__).get(name, [])
    if len(statements) != 1:
        return None
    (stmt,) = statements
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        target, value = stmt.targets[0], stmt.value
    elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        target, value = stmt.target, stmt.value
    else:
        return None
    if not isinstance(target, ast.Name) or not isinstance(value, ast.List | ast.Dict | ast.Set):
        return None
    try:
        ast.literal_eval(value)
    except ValueError:  # a display of something else than literals
        return None
    return ast.unparse(value)
