"""Cases from torch's own ExportDB examples (``torch._export.db.examples.all_examples()``).

ExportDB is torch's catalogue of what export does with a Python feature,
each example with its inputs, its ``dynamic_shapes`` and a declared
``support_level``. Its rows are ``exportdb:<hop>.<name>``: the hop is the
HOP its tags name (``torch.cond`` -> ``cond``, ``torch.map`` -> ``map``),
and ``no_hop`` for the rest. Most examples document export features that
involve no HOP at all (closures, asserts, dynamic shapes, mutation); they
are still measured in every mode, since a release that breaks them breaks
export around the HOPs too. The HOPs a cell's exported program really holds
are ``graph_hops`` of it.

The declared support level is the expectation, beside the raw outcome:
``exportdb-supported: SUPPORTED`` or ``exportdb-unsupported:
NOT_SUPPORTED_YET`` (suites.schema). Fields an older release lacks (2.3's
``extra_args``) are not used; ``extra_args`` is not used anywhere, since it
only exercises graph generalisation under ExportDB's own dynamic_shapes,
which the dynamic mode covers with its own second sample.
"""

from __future__ import annotations

import copy
import functools
import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from suites.cases import Built, Case, Sample, module_of
from suites.schema import (
    EXPECT_EXPORTDB_SUPPORTED,
    EXPECT_EXPORTDB_UNSUPPORTED,
    Device,
    Mode,
    Source,
)

EXPORTDB_MODULE = "torch._export.db.examples"
IMPORTABLE = "importable"
NO_HOP = "no_hop"
SUPPORTED = "SUPPORTED"
# The tags ExportDB gives its HOP examples (2.3-2.15), and the HOP each one names.
HOP_TAGS: Mapping[str, str] = {"torch.cond": "cond", "torch.map": "map"}
# The operator a HOP runs as, where it differs from its name (see Case.ops).
HOP_OPS: Mapping[str, tuple[str, ...]] = {"map": ("map_impl",)}


@dataclass(frozen=True)
class ExportDb:
    """ExportDB's cases, and whether it could be loaded (the EXPORTDB suite property)."""

    cases: tuple[Case, ...]
    status: str


def load_exportdb(module: str = EXPORTDB_MODULE) -> ExportDb:
    """Every ExportDB example of ``module`` as a case, or none with the reason."""
    try:
        examples = importlib.import_module(module).all_examples()
        cases = tuple(to_case(name, examples[name]) for name in sorted(examples))
    except Exception as exc:  # a private API: any failure is a fact about this torch
        first = (str(exc).strip().splitlines() or [""])[0]
        return ExportDb((), f"unavailable: {type(exc).__name__}: {first}".rstrip(": "))
    return ExportDb(cases, IMPORTABLE)


def hop_of(tags: Any) -> str:
    """The HOP an example's tags name, or ``no_hop`` (the first by name if several)."""
    named = sorted({HOP_TAGS[t] for t in tags or () if t in HOP_TAGS})
    return named[0] if named else NO_HOP


def support_level(example: Any) -> str:
    """The declared level's name, e.g. ``SUPPORTED`` or ``NOT_SUPPORTED_YET``."""
    level = getattr(example, "support_level", None)
    return SUPPORTED if level is None else str(getattr(level, "name", level))


# The modes that export as ExportDB's claim means it: torch.export.export and what derives
# from the exported program, without a compiler (aoti measures more than export).
STATIC_CLAIM_MODES = frozenset(
    {Mode.AOT, Mode.STRICT, Mode.PRE_DISPATCH, Mode.RETRACE, Mode.SERIALIZE, Mode.NON_STRICT}
)


def declared(level: str, own_shapes: bool, mode: Mode, device: Device) -> str:
    """The expectation token of a declared level, in the modes the claim is about, else "".

    ExportDB claims what export does with the example's inputs and, where it has
    them, its own ``dynamic_shapes``: an example with its own is claimed in the
    ``dynamic`` mode (which passes them) only, one without in the static modes only
    (the dynamic mode's marks on every leading dimension are this project's, not
    ExportDB's). The same on every device.
    """
    claimed = mode is Mode.DYNAMIC if own_shapes else mode in STATIC_CLAIM_MODES
    if not claimed:
        return ""
    token = EXPECT_EXPORTDB_SUPPORTED if level == SUPPORTED else EXPECT_EXPORTDB_UNSUPPORTED
    return f"{token}: {level}"


def given_shapes(shapes: Any, sample: Sample) -> Any:
    """The example's own ``dynamic_shapes``, whatever the sample."""
    return shapes


def to_case(name: str, example: Any) -> Case:
    """One ExportDB example as an ``exportdb:`` case."""
    hop = hop_of(getattr(example, "tags", None))
    shapes = getattr(example, "dynamic_shapes", None)
    build = ExampleBuild(
        model=example.model,
        args=tuple(getattr(example, "example_args", None) or ()),
        kwargs=dict(getattr(example, "example_kwargs", None) or {}),
        description=str(getattr(example, "description", "") or ""),
        name=name,
    )
    return Case(
        hop,
        _safe(name),
        build,
        source=Source.EXPORTDB,
        expectation=functools.partial(declared, support_level(example), shapes is not None),
        ops=HOP_OPS.get(hop, ()),
        dynamic_shapes=None if shapes is None else functools.partial(given_shapes, shapes),
    )


def _safe(name: str) -> str:
    # Cell ids use '.', '/' and ':' as separators.
    return re.sub(r"[./:\s]+", "_", name)


@dataclass(frozen=True, eq=False)
class ExampleBuild:
    """Builds one example: a copy of its model and inputs, on the device.

    Copied, because one example object serves every build in a process and
    some examples mutate their module or their inputs. ``Case.pattern`` reads
    a builder's ``__doc__``: each instance's is the example's description.
    """

    model: Any  # an nn.Module in every release seen; a callable is wrapped
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    name: str = ""  # its key in all_examples(): a repro finds the example by it

    def __post_init__(self) -> None:
        object.__setattr__(self, "__doc__", self.description.strip())

    def __call__(self, device: str) -> Built:
        model = self.model if isinstance(self.model, torch.nn.Module) else module_of(self.model)
        model, args, kwargs = copy.deepcopy((model, self.args, self.kwargs))
        if device != Device.CPU.value:
            model = model.to(device)
            args, kwargs = _to(device, (args, kwargs))
        return model, (Sample(args, kwargs),)


def _to(device: str, tree: Any) -> Any:
    """Every tensor of a pytree moved to ``device``."""
    from torch.utils import _pytree

    return _pytree.tree_map_only(torch.Tensor, lambda t: t.to(device), tree)


def graph_hops(program: Any) -> tuple[str, ...]:
    """The HOP operators an exported program calls, in its graph and every subgraph, sorted.

    ``program`` is an ExportedProgram or a GraphModule. For exportdb cells: what the
    program holds, beside the HOP its tags name (``no_hop`` rows may hold one too).
    """
    root = getattr(program, "graph_module", program)
    found: set[str] = set()
    for module in root.modules():
        graph = getattr(module, "graph", None)
        if not isinstance(graph, torch.fx.Graph):
            continue
        for node in graph.nodes:
            if node.op == "call_function" and isinstance(
                node.target, torch._ops.HigherOrderOperator
            ):
                found.add(node.target.name())
    return tuple(sorted(found))
