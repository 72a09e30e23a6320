"""One exporter per mode, and the one comparison of eager and exported outputs.

The modes, each a way users turn a module into something they deploy:

    aot           torch.export.export with its default strictness (the seed's mode)
    strict        torch.export.export(strict=True)
    non_strict    torch.export.export(strict=False)
    pre_dispatch  torch.export._trace._export(pre_dispatch=True)
    retrace       pre_dispatch, then run_decompositions()
    serialize     retrace, then torch.export.save and load
    dynamic       aot's export with the leading dimensions marked dynamic, then run on a
                  second size (suites.dynamic)
    aoti          aot's export, compiled by AOTInductor into a package, loaded back and run
                  (suites.aoti; opt-in: it compiles C++ per case)

An exporter takes ``(module, args, kwargs, notes)`` and returns an
ExportedProgram; what it learns on the way (the strictness it used, the
while_loop carried-input container) goes into ``notes`` as cell properties,
before anything can raise.

No export is done twice. Three modes are one chain of steps, so a case
exports once for all three (``derive_shared``):

    pre_dispatch = export(pre_dispatch=True)                 step "pre_dispatch export"
    retrace      = pre_dispatch.run_decompositions()          step "run_decompositions"
    serialize    = torch.export.load(torch.export.save(retrace))   step "save/load"

And aot, strict and non_strict call ``torch.export.export``: aot with its
default strictness, the other two with ``strict=`` given. Two of them always
make the same call (aot and strict through 2.7, aot and non_strict from
2.8), and those two share one export (``derive_public``); step "export".
dynamic and aoti make calls of their own (other arguments, other steps) and
run in a child of their own (``suites.groups``).

Each mode still gets its own outcome: its program is run and compared on its
own (step "run"), so a mismatch or an error there is that mode's alone. An
error in a shared step is the outcome of every mode that needed the step,
with the step named in the ``step`` property. Sharing measures the same as
exporting again because no step changes what it starts from:
``run_decompositions`` returns a new ExportedProgram (it retraces
``ep.module()``; the input's graph is left as it was, which a test checks),
``save`` only reads its program, and ``ep.module()`` makes a new module at
every call. All steps of one sample run before any program is run, so each
program is derived exactly as a fresh export would derive it.
"""

from __future__ import annotations

import copy
import inspect
import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.utils._pytree as pytree

from suites.cases import Requires, requires, resolve_entry
from suites.groups import SHARED_EXPORT
from suites.schema import Mode, Prop

Notes = dict[str, str]
Exporter = Callable[[torch.nn.Module, tuple[Any, ...], dict[str, Any], Notes], Any]


def _private_export() -> Any:
    """``torch.export._trace._export``, or None (the submodule is not imported eagerly)."""
    return resolve_entry("torch.export._trace", "_export")


def _strict_default(fn: Any) -> bool | None:
    """The default of ``fn``'s ``strict`` parameter, or None when it has none."""
    try:
        param = inspect.signature(fn).parameters.get("strict")
    except (TypeError, ValueError):
        return None
    if param is None or param.default is inspect.Parameter.empty:
        return None
    return bool(param.default)


def aot_strict() -> bool:
    """Whether ``torch.export.export`` is strict by default (strict-only before ``strict=``)."""
    default = _strict_default(torch.export.export)
    return True if default is None else default


def _flag(value: bool) -> str:
    return "true" if value else "false"


def export_aot(
    module: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], notes: Notes
) -> Any:
    notes[Prop.STRICT] = _flag(aot_strict())
    return torch.export.export(module, args, kwargs)


def export_pre_dispatch(
    module: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], notes: Notes
) -> Any:
    export = _private_export()
    default = _strict_default(export)
    notes[Prop.STRICT] = _flag(True if default is None else default)
    return export(module, args, kwargs, pre_dispatch=True)


def export_retrace(
    module: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], notes: Notes
) -> Any:
    return export_pre_dispatch(module, args, kwargs, notes).run_decompositions()


def export_serialize(
    module: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], notes: Notes
) -> Any:
    return round_trip(export_retrace(module, args, kwargs, notes), notes)


def round_trip(ep: Any, notes: Notes) -> Any:
    """``ep`` through ``torch.export.save`` and ``load``, noting while_loop's carried inputs."""
    _note_carried(ep, Prop.CARRIED_BEFORE, notes)
    buffer = io.BytesIO()
    torch.export.save(ep, buffer)
    buffer.seek(0)
    loaded = torch.export.load(buffer)
    _note_carried(loaded, Prop.CARRIED_AFTER, notes)
    return loaded


def export_strict(
    module: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], notes: Notes
) -> Any:
    notes[Prop.STRICT] = _flag(True)
    return torch.export.export(module, args, kwargs, strict=True)


def export_non_strict(
    module: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], notes: Notes
) -> Any:
    notes[Prop.STRICT] = _flag(False)
    return torch.export.export(module, args, kwargs, strict=False)


EXPORTERS: dict[Mode, Exporter] = {
    Mode.AOT: export_aot,
    Mode.STRICT: export_strict,
    Mode.PRE_DISPATCH: export_pre_dispatch,
    Mode.RETRACE: export_retrace,
    Mode.SERIALIZE: export_serialize,
    Mode.NON_STRICT: export_non_strict,
}


@dataclass(frozen=True)
class Rerun:
    """Inputs to run a derived program on besides its own sample, and what they are."""

    step: str  # the step named when the run raises, e.g. "run second size"
    label: str  # what the inputs are, e.g. "the second size (args[0].0: 3 -> 4)"
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


@dataclass(frozen=True)
class Derived:
    """One mode's program for one sample, or the step that failed; ``seconds`` its steps took."""

    program: Any = None
    step: str = ""  # the step that raised, when ``error`` is set
    error: Exception | None = None
    seconds: float = 0.0
    loaded: Any = None  # what runs in place of ``program.module()`` (aoti: the loaded package)
    more: tuple[Rerun, ...] = ()  # further inputs to run and compare (dynamic: a second size)
    verdict: str | None = None  # a failure known before running (dynamic: batch specialised)
    skip: str | None = None  # why the cell is not measured at all (dynamic: nothing to mark)

    def runnable(self) -> Any:
        """What to call on the inputs: the loaded package, or a fresh ``program.module()``."""
        return self.loaded if self.loaded is not None else self.program.module()


# (step, the shared modes that need it), in the order they run.
SHARED_STEPS: tuple[tuple[str, tuple[Mode, ...]], ...] = (
    ("pre_dispatch export", SHARED_EXPORT),
    ("run_decompositions", (Mode.RETRACE, Mode.SERIALIZE)),
    ("save/load", (Mode.SERIALIZE,)),
)


def derive_shared(
    wanted: Sequence[Mode],
    module: torch.nn.Module,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    notes: dict[Mode, Notes],
) -> dict[Mode, Derived]:
    """The shared modes in ``wanted`` from one pre-dispatch export (see the module docstring)."""
    out: dict[Mode, Derived] = {}
    program: Any = None
    spent = 0.0
    for step, needed_by in SHARED_STEPS:
        needing = [m for m in needed_by if m in wanted]
        if not needing:
            break
        shared: Notes = {}
        start = time.perf_counter()
        try:
            program = _step(step, program, module, args, kwargs, shared)
        except Exception as exc:  # the outcome of every mode that needed this step
            failed = Derived(None, step, exc, spent + time.perf_counter() - start)
            out.update((m, failed) for m in needing)
            break
        finally:
            for mode in needing:
                notes[mode].update(shared)
        spent += time.perf_counter() - start
        if needed_by[0] in wanted:  # the mode this step completes
            out[needed_by[0]] = Derived(program, seconds=spent)
    return out


def _step(
    step: str,
    program: Any,
    module: torch.nn.Module,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    notes: Notes,
) -> Any:
    if step == "pre_dispatch export":
        return export_pre_dispatch(module, args, kwargs, notes)
    if step == "run_decompositions":
        return program.run_decompositions()
    return round_trip(program, notes)


def call_strictness(mode: Mode) -> bool:
    """The strictness ``torch.export.export`` runs with in one of PUBLIC_EXPORT's modes."""
    return aot_strict() if mode is Mode.AOT else mode is Mode.STRICT


def derive_public(
    wanted: Sequence[Mode],
    module: torch.nn.Module,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    notes: dict[Mode, Notes],
) -> dict[Mode, Derived]:
    """The ``torch.export.export`` modes in ``wanted``, one export per distinct call."""
    calls: dict[bool, list[Mode]] = {}
    for mode in wanted:
        calls.setdefault(call_strictness(mode), []).append(mode)
    out: dict[Mode, Derived] = {}
    for same in calls.values():
        lead = Mode.AOT if Mode.AOT in same else same[0]  # aot's call is the seed's, as written
        shared: Notes = {}
        start = time.perf_counter()
        try:
            # Each call on its own copy: an export may leave things on its inputs.
            derived = Derived(EXPORTERS[lead](module, *copy.deepcopy((args, kwargs)), shared))
        except Exception as exc:  # a HOP that fails to export is a result, not an error
            derived = Derived(None, "export", exc)
        finally:
            for mode in same:
                notes[mode].update(shared)
        derived = replace(derived, seconds=time.perf_counter() - start)
        out.update((mode, derived) for mode in same)
    return out


# The entry points a mode calls beyond torch.export.export; one absent: the mode is missing.
MODE_NEEDS: dict[Mode, Requires] = {
    Mode.DYNAMIC: requires("torch.export:Dim"),
    Mode.AOTI: requires(
        "torch._inductor:aoti_compile_and_package", "torch._inductor:aoti_load_package"
    ),
}


def absent_entries(needs: Requires) -> str | None:
    """Why a mode that calls ``needs`` cannot run in this torch, or None."""
    absent = needs.absent()
    if not absent:
        return None
    return f"torch {torch.__version__} has no {' and no '.join(absent)}"


def missing_reason(mode: Mode) -> str | None:
    """Why this torch cannot run ``mode`` at all, or None."""
    version = torch.__version__
    export = getattr(torch, "export", None)
    if export is None or not hasattr(export, "export"):
        return f"torch {version} has no torch.export.export"
    absent = absent_entries(MODE_NEEDS.get(mode, Requires()))
    if absent is not None:
        return absent
    if mode is Mode.AOTI:
        return no_compiler()
    if mode in (Mode.PRE_DISPATCH, Mode.RETRACE, Mode.SERIALIZE):
        fn = _private_export()
        if fn is None or "pre_dispatch" not in inspect.signature(fn).parameters:
            return f"torch {version} has no torch.export._trace._export(pre_dispatch=...)"
    if mode is Mode.SERIALIZE and not (hasattr(export, "save") and hasattr(export, "load")):
        return f"torch {version} has no torch.export.save/load"
    if mode in (Mode.STRICT, Mode.NON_STRICT) and _strict_default(export.export) is None:
        only = "aot measures it" if mode is Mode.STRICT else "non-strict export does not exist"
        return (
            f"torch {version}: torch.export.export has no strict= parameter; export is "
            f"strict-only there, and {only}"
        )
    return None


def no_compiler() -> str | None:
    """Why AOTInductor finds no C++ compiler here (its own search), or None."""
    find = resolve_entry("torch._inductor.cpp_builder", "get_cpp_compiler")
    if find is None:
        return f"torch {torch.__version__} has no torch._inductor.cpp_builder.get_cpp_compiler"
    try:
        find()
    except Exception as exc:  # inductor's own "no compiler" error, whatever its class
        return f"AOTInductor finds no C++ compiler here: {first_line(str(exc))}"
    return None


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _note_carried(ep: Any, key: str, notes: Notes) -> None:
    """Record the container type of the first while_loop node's carried inputs (args[2])."""
    for gm in ep.graph_module.modules():
        graph = getattr(gm, "graph", None)
        for node in graph.nodes if graph is not None else ():
            name = getattr(node.target, "__name__", "")
            if node.op == "call_function" and name.startswith("while_loop") and len(node.args) > 2:
                notes[key] = container_name(node.args[2])
                return


def container_name(value: Any) -> str:
    """``tuple``/``list``/``dict`` for those and their subclasses (fx's immutable_list)."""
    for base in (tuple, list, dict):
        if isinstance(value, base):
            return base.__name__
    return type(value).__name__


def compare_outputs(expected: Any, actual: Any) -> str | None:
    """None when the flattened outputs agree leaf by leaf, else what differs."""
    want, got = pytree.tree_leaves(expected), pytree.tree_leaves(actual)
    if len(want) != len(got):
        return f"eager gave {len(want)} output leaves, exported gave {len(got)}"
    for i, (w, g) in enumerate(zip(want, got, strict=True)):
        if type(w) is not type(g):
            return f"leaf {i}: eager gave {type(w).__name__}, exported gave {type(g).__name__}"
        if isinstance(w, torch.Tensor):
            try:
                torch.testing.assert_close(g, w)
            except AssertionError as err:
                return f"leaf {i}: {err}"
        elif w != g:
            return f"leaf {i}: eager gave {w!r}, exported gave {g!r}"
    return None


def run_and_compare(
    module: torch.nn.Module, program: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> str | None:
    """Run eager and ``program`` (e.g. ``ep.module()``) on deep copies of one input; compare."""
    eager = module(*copy.deepcopy(args), **copy.deepcopy(kwargs))
    exported = program(*copy.deepcopy(args), **copy.deepcopy(kwargs))
    return compare_outputs(eager, exported)
