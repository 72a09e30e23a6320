"""The dynamic mode: export with the leading dimensions dynamic, then run a second size.

Users export once and serve many batch sizes; a program that export quietly
specialised to the sample's batch size breaks at the first other one. So:

1. export (``torch.export.export``, default strictness, like aot) with
   ``dynamic_shapes`` marking dimension 0 of every tensor input that has one
   (``Dim.AUTO``: export decides, and says what it decided; 2.3/2.4 lack it,
   a named ``Dim`` per input asks for dynamism outright), or the case's own
   ``Case.dynamic_shapes(sample)``;
2. read from the program which marked dimensions stayed symbolic and which
   export specialised, and to what (the ``dynamic_dims`` property, e.g.
   ``args[0].0 dynamic, args[1].0 specialised to 4``);
3. when the first marked dimension (the batch) was specialised, the cell
   fails on that alone: the program cannot take another batch size;
4. otherwise run the program on the sample, then on a second sample in which
   every symbolic dimension has another size (one new value per symbol, so
   dimensions export tied together stay equal, within export's range
   constraints), and compare each with eager.

The second sample repeats the first one's values along the resized
dimensions (row ``i`` of the new size is row ``i mod old size``), so values
that carry meaning keep it: indices stay in range, a positive input stays
positive.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.utils._pytree as pytree

from suites.cases import Sample
from suites.exportdb import given_shapes
from suites.modes import Derived, Notes, Rerun, aot_strict
from suites.schema import Prop

Spec = Any  # what torch.export.export takes as dynamic_shapes
# The facts a repro of a dynamic cell needs (suites.schema: how each is written).
FACTS = (Prop.DYNAMIC_SHAPES, Prop.DYNAMIC_BATCH, Prop.SECOND_SIZE)
# An ExportDB case's own spec, as a repro names it: the example's own attribute.
EXAMPLE_SPEC = "example.dynamic_shapes"


@dataclass(frozen=True)
class Fate:
    """What export made of one marked dimension: symbolic, or specialised to ``size``."""

    where: str  # the input and dimension, e.g. "args[0].0" or "kwargs['x'].1"
    size: int | None  # the size export fixed it to; None: it stayed symbolic

    @property
    def dynamic(self) -> bool:
        return self.size is None

    def __str__(self) -> str:
        return (
            f"{self.where} dynamic"
            if self.size is None
            else f"{self.where} specialised to {self.size}"
        )


def derive(
    module: torch.nn.Module,
    sample: Sample,
    notes: Notes,
    shapes: Callable[[Sample], Spec] | None = None,
) -> Derived:
    """The dynamic mode's program for one sample, with its second size (module docstring)."""
    args, kwargs = sample.args, dict(sample.kwargs)
    start = time.perf_counter()
    try:
        spec = shapes(sample) if shapes is not None else default_spec(module, args, kwargs)
        marked = marked_dims(module, args, kwargs, spec)
    except Exception as exc:  # e.g. inputs forward cannot bind, a case's spec that raises
        return Derived(None, "dynamic shapes", exc, time.perf_counter() - start)
    if not marked:
        why = "the case's dynamic_shapes marks" if shapes is not None else "the sample has"
        return Derived(skip=f"nothing to make dynamic: {why} no tensor dimension")
    notes[Prop.DYNAMIC_BATCH] = batch_fact(args, kwargs, marked[0])
    notes[Prop.STRICT] = "true" if aot_strict() else "false"
    noted = functools.partial(_note_spec, notes, own=_from_exportdb(shapes))
    try:
        ep = _export(module, args, kwargs, spec, named=shapes is None and _named(), note=noted)
    except Exception as exc:  # a HOP that fails to export is a result, not an error
        return Derived(None, "export", exc, time.perf_counter() - start)
    try:
        derived = _judge(ep, marked, args, kwargs, notes)
    except Exception as exc:  # the program is not what this mode can read: say where
        derived = Derived(None, "read dynamic dims", exc)
    return replace(derived, seconds=time.perf_counter() - start)


def _judge(
    ep: Any,
    marked: list[tuple[str, int]],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    notes: Notes,
) -> Derived:
    """Note each marked dimension's fate; fail a specialised batch, else add the second size."""
    shapes = input_shapes(ep, args, kwargs)
    fates = [fate(shapes, where, dim) for where, dim in marked]
    notes[Prop.DYNAMIC_DIMS] = ", ".join(str(f) for f in fates)
    batch = fates[0]
    if not batch.dynamic:
        # Its first line is the signature: the same words whatever the input and its size.
        verdict = (
            "export specialised the batch dimension: the program takes no other batch size\n"
            f"{batch.where} specialised to {batch.size}"
        )
        return Derived(ep, verdict=verdict)
    return Derived(ep, more=(second_size(ep, shapes, args, kwargs, notes),))


def _named() -> bool:
    """Whether this torch lacks ``Dim.AUTO`` (before 2.5), so the marks are named Dims."""
    return getattr(torch.export.Dim, "AUTO", None) is None


def _marker(index: int) -> Any:
    """``Dim.AUTO`` (2.5+), else a named ``Dim`` of its own for input ``index``."""
    return torch.export.Dim(f"batch{index}") if _named() else torch.export.Dim.AUTO


# One of export's suggested fixes for a named Dim: "batch2 = 3" or "batch1 = batch0".
_FIX = re.compile(r"^\s*(batch\d+) = (\w+)\s*$", re.MULTILINE)


def _export(
    module: torch.nn.Module,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    spec: Spec,
    named: bool,
    note: Callable[[Spec], None] = lambda spec: None,
) -> Any:
    """``torch.export.export`` with ``spec``; named Dims take export's own suggested fixes.

    A named Dim asks for dynamism outright, and export refuses a program in
    which it cannot hold, listing fixes: a size it inferred (``batch2 = 3``)
    or an equality (``batch1 = batch0``). ``Dim.AUTO`` applies exactly those
    silently; applying them here gives 2.3/2.4 the same program, so the batch
    dimension alone decides the cell there too. ``note`` hears each spec before export.
    """
    while True:  # each round unmarks or merges a Dim, or raises
        note(spec)
        try:
            return torch.export.export(module, args, kwargs, dynamic_shapes=spec)
        except Exception as exc:
            fixes = dict(_FIX.findall(str(exc).partition("Suggested fixes:")[2])) if named else {}
            fixed = _apply_fixes(spec, fixes)
            if fixed == spec:
                raise
            spec = fixed


def _from_exportdb(shapes: Callable[[Sample], Spec] | None) -> bool:
    """Whether ``shapes`` gives an ExportDB example's own spec (suites.exportdb)."""
    return isinstance(shapes, functools.partial) and shapes.func is given_shapes


def _note_spec(notes: Notes, spec: Spec, own: bool) -> None:
    """The spec export gets, as a repro writes it; none where it cannot be written."""
    text = EXAMPLE_SPEC if own else render_spec(spec)
    if text is None:
        notes.pop(Prop.DYNAMIC_SHAPES, None)
    else:
        notes[Prop.DYNAMIC_SHAPES] = text


def render_spec(spec: Spec) -> str | None:
    """``spec`` as Python source (``Dim`` is torch.export.Dim), or None if it has a part that
    source cannot say (a derived Dim, a hint with bounds)."""
    try:
        return _render(spec)
    except ValueError:
        return None


def _render(spec: Spec) -> str:
    if spec is None or type(spec) is int:
        return repr(spec)
    if type(spec) is str:
        return f'"{spec}"' if spec.isidentifier() else repr(spec)
    if isinstance(spec, dict):
        return "{" + ", ".join(f"{_render(k)}: {_render(v)}" for k, v in spec.items()) + "}"
    if isinstance(spec, tuple):
        items = [_render(v) for v in spec]
        return f"({', '.join(items)}{',' if len(items) == 1 else ''})"
    if isinstance(spec, list):
        return f"[{', '.join(_render(v) for v in spec)}]"
    dim = torch.export.Dim
    for hint in ("AUTO", "STATIC", "DYNAMIC"):
        value = getattr(dim, hint, None)
        if value is not None and type(spec) is type(value) and spec == value:
            return f"Dim.{hint}"
    name = getattr(spec, "__name__", None)
    if not isinstance(name, str) or not name.isidentifier() or hasattr(spec, "root"):
        raise ValueError(f"{spec!r} has no source")  # a derived Dim has a root
    default = dim("default")  # the bounds Dim(name) has in this torch
    bounds = [f"{b}={getattr(spec, b)}" for b in ("min", "max") if _differs(spec, default, b)]
    quoted = f'"{name}"'  # an identifier: nothing to escape
    return f"Dim({', '.join([quoted, *bounds])})"


def _differs(dim: Any, default: Any, bound: str) -> bool:
    value = getattr(dim, bound)
    if value == getattr(default, bound):
        return False
    if type(value) is not int:  # e.g. int_oo where this torch's default is another infinity
        raise ValueError(f"{bound}={value} has no source")
    return True


def batch_fact(args: tuple[Any, ...], kwargs: dict[str, Any], batch: tuple[str, int]) -> str:
    """``"L.D"``: the batch is dimension D of the L-th tensor of the flattened inputs."""
    where, dim = batch
    return f"{[w for w, _ in tensor_inputs(args, kwargs)].index(where)}.{dim}"


def _apply_fixes(spec: Spec, fixes: Mapping[str, str]) -> Spec:
    """``spec`` with each fixed Dim unmarked (a size) or replaced by the one it equals."""
    dims = {getattr(d, "__name__", None): d for d in pytree.tree_leaves(spec)}

    def fix(dim: Any) -> Any:
        to = fixes.get(getattr(dim, "__name__", ""))
        if to is None:
            return dim
        return None if to.isdigit() else dims[to]

    return pytree.tree_map(fix, spec)


def default_spec(module: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Spec:
    """Dimension 0 of every tensor input with a dimension, keyed as forward's parameters."""
    count = itertools.count()

    def leaf(value: Any) -> Any:
        if isinstance(value, torch.Tensor) and value.dim() >= 1:
            return {0: _marker(next(count))}
        return None

    return {name: pytree.tree_map(leaf, value) for name, value in _combined(module, args, kwargs)}


def _combined(
    module: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> list[tuple[str, Any]]:
    """forward's parameters and what they are bound to, as export pairs them with a spec."""
    bound = inspect.signature(module.forward).bind(*args, **kwargs)
    return list(bound.arguments.items())


def marked_dims(
    module: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], spec: Spec
) -> list[tuple[str, int]]:
    """``(where, dimension)`` of every dimension ``spec`` marks, in input order."""
    combined = _combined(module, args, kwargs)
    if isinstance(spec, Mapping):
        pairs = [(value, spec.get(name)) for name, value in combined]
    else:
        pairs = list(zip((value for _, value in combined), spec or (), strict=False))
    dims: dict[int, list[int]] = {}
    for value, entry in pairs:
        for tensor, marks in _walk(value, entry):
            dims.setdefault(id(tensor), marks)
    return [
        (where, d)
        for where, tensor in tensor_inputs(args, kwargs)
        for d in dims.get(id(tensor), [])
    ]


def _walk(value: Any, entry: Any) -> Iterator[tuple[torch.Tensor, list[int]]]:
    """The tensors under ``value`` with the dimensions ``entry`` (its part of a spec) marks."""
    if entry is None:
        return
    if isinstance(value, torch.Tensor):
        items = entry.items() if isinstance(entry, Mapping) else enumerate(entry)
        yield value, sorted(int(d) for d, marker in items if _marks(marker))
        return
    for item, sub in _children(value, entry):
        yield from _walk(item, sub)


def _children(value: Any, entry: Any) -> list[tuple[Any, Any]]:
    """The parts of a container input, each with its part of the spec."""
    if isinstance(value, (tuple, list)) and isinstance(entry, (tuple, list)):
        return list(zip(value, entry, strict=False))
    if isinstance(value, Mapping) and isinstance(entry, Mapping):
        return [(item, entry.get(key)) for key, item in value.items()]
    return []


def _marks(marker: Any) -> bool:
    """Whether one entry of a tensor's spec asks for a dynamic dimension."""
    static = getattr(torch.export.Dim, "STATIC", None)
    return marker is not None and not isinstance(marker, int) and marker != static


def tensor_inputs(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[tuple[str, torch.Tensor]]:
    """Every tensor of the inputs with where it sits (``args[0]``, ``kwargs['x'][1]``)."""
    leaves, _ = pytree.tree_flatten_with_path((args, kwargs))
    out = []
    for path, leaf in leaves:
        if isinstance(leaf, torch.Tensor):
            head = "args" if path[0].idx == 0 else "kwargs"
            out.append((head + pytree.keystr(path[1:]), leaf))
    return out


def input_shapes(ep: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Each tensor input's shape in the program (ints and SymInts), by where it sits."""
    user = set(ep.graph_signature.user_inputs)
    fakes = [
        node.meta["val"]
        for node in ep.graph.nodes
        if node.op == "placeholder"
        and node.name in user
        and isinstance(node.meta.get("val"), torch.Tensor)
    ]
    tensors = tensor_inputs(args, kwargs)
    if len(fakes) != len(tensors):
        raise RuntimeError(
            f"the program has {len(fakes)} tensor inputs, the sample {len(tensors)}: "
            "cannot tell which dimensions stayed dynamic"
        )
    return {where: tuple(fake.shape) for (where, _), fake in zip(tensors, fakes, strict=True)}


def _expr(size: Any) -> Any:
    """The sympy expression of a symbolic size, or None for a plain (specialised) int."""
    if isinstance(size, torch.SymInt):
        expr = size.node.expr
        return expr if expr.free_symbols else None
    return None


def fate(shapes: Mapping[str, Any], where: str, dim: int) -> Fate:
    """What export made of dimension ``dim`` of the input at ``where``."""
    size = shapes[where][dim]
    return Fate(f"{where}.{dim}", int(size) if _expr(size) is None else None)


def second_size(
    ep: Any,
    shapes: Mapping[str, Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    notes: Notes | None = None,
) -> Rerun:
    """The sample with every symbolic dimension at another size that export allows; ``notes``
    get the resized dimensions as ``"L.D=N,..."`` (L: the tensor's place among the inputs)."""
    tensors = tensor_inputs(args, kwargs)
    symbolic = {
        (where, d): (expr, int(tensor.shape[d]))
        for where, tensor in tensors
        for d, size in enumerate(shapes[where])
        if (expr := _expr(size)) is not None
    }
    old = _symbol_values(symbolic.values())
    new = {s: _other_value(v, ep.range_constraints.get(s)) for s, v in old.items()}
    target = {key: int(expr.xreplace(new)) for key, (expr, _) in symbolic.items()}
    if notes is not None:
        place = {where: i for i, (where, _) in enumerate(tensors)}
        resized_dims = [(w, d, n) for (w, d), n in target.items() if n != symbolic[w, d][1]]
        notes[Prop.SECOND_SIZE] = ",".join(f"{place[w]}.{d}={n}" for w, d, n in resized_dims)
    resized = iter(
        _resized(tensor, {d: n for (w, d), n in target.items() if w == where})
        for where, tensor in tensors
    )
    args2, kwargs2 = pytree.tree_map_only(torch.Tensor, lambda _: next(resized), (args, kwargs))
    changes = ", ".join(f"{w}.{d}: {symbolic[w, d][1]} -> {n}" for (w, d), n in target.items())
    return Rerun("run second size", f"the second size ({changes})", args2, kwargs2)


def _symbol_values(sized: Iterable[tuple[Any, int]]) -> dict[Any, int]:
    """Each symbol's value in the sample: from the dimensions that are just that symbol, else
    solved from one that is linear in it (``2*s0``)."""
    sized = list(sized)
    values = {expr: size for expr, size in sized if expr.is_Symbol}
    for expr, size in sized:
        unknown = [s for s in expr.free_symbols if s not in values]
        if len(unknown) != 1:
            continue
        known = expr.xreplace(values)
        offset = known.xreplace({unknown[0]: 0})
        slope = known.xreplace({unknown[0]: 1}) - offset
        if slope != 0 and (size - offset) % slope == 0:
            guess = int((size - offset) // slope)
            if known.xreplace({unknown[0]: guess}) == size:
                values[unknown[0]] = guess
    return values


def _other_value(value: int, bounds: Any) -> int:
    """``value + 1``, or ``value - 1`` where that leaves export's range; ``value`` if neither."""
    low, high = (2, float("inf")) if bounds is None else (_num(bounds.lower), _num(bounds.upper))
    for candidate in (value + 1, value - 1):
        if max(low, 2) <= candidate <= high:
            return candidate
    return value


def _num(bound: Any) -> float:
    try:
        return float(bound)
    except (TypeError, ValueError):  # int_oo and friends
        return float("inf") if str(bound).lstrip().startswith(("oo", "int_oo")) else float("-inf")


def _resized(tensor: torch.Tensor, sizes: Mapping[int, int]) -> torch.Tensor:
    """``tensor`` with dimension ``d`` at ``sizes[d]``, its rows repeated (module docstring)."""
    if all(tensor.shape[d] == n for d, n in sizes.items()):
        return tensor
    with torch.no_grad():
        out = tensor.detach()
        for d, n in sizes.items():
            index = torch.arange(n, device=tensor.device) % tensor.shape[d]
            out = out.index_select(d, index)
        out = out.contiguous()
    return out.requires_grad_(tensor.requires_grad)
