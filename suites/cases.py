"""The project's own HOP cases, as data: one frozen row per (hop, variant).

Each row is written against a HOP's public-ish entry point and gated on
that entry point existing, so one row means the same thing in every torch
2.x version; where it is absent, every cell of the row is ``missing``
(``suites.gaps`` says whether the HOP itself is registered there).

Planted rows exist only for the suite's own tests and appear, before
all others, only when the environment has ``HOP_SUITE_PLANTED=1``:
``_planted_crash.segfault`` kills the interpreter (the runner must record a
crash and go on) and ``_planted_hang.sleep`` never returns (the runner must
time it out). Two more come after them, missing in every torch, one per
gap kind a catalogue row can have: ``_gap_planted.unregistered`` (no such
HOP) and ``_gap_planted.api_absent`` (the cond HOP is registered, its entry
point absent). With ``HOP_SUITE_PLANTED_FIFO=<path of a FIFO>`` the hang
first writes a line to that FIFO, so a test can act once it has begun.
With ``HOP_SUITE_PLANTED_FLAKY=<path of a file>`` one more row,
``_planted_flaky.alternate``, comes first: it counts its builds in that file
and fails every second one (the runner must mark it flaky).
"""

from __future__ import annotations

import faulthandler
import functools
import importlib
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from suites.schema import CellId, Device, Mode, Source

PLANTED_ENV = "HOP_SUITE_PLANTED"
PLANTED_FIFO_ENV = "HOP_SUITE_PLANTED_FIFO"
PLANTED_FLAKY_ENV = "HOP_SUITE_PLANTED_FLAKY"
CUSTOM_OP_NAMESPACE = "hop_compat"


@dataclass(frozen=True)
class Sample:
    """One call's inputs."""

    args: tuple[Any, ...]
    kwargs: Mapping[str, Any] = field(default_factory=dict)


Built = tuple[torch.nn.Module, tuple[Sample, ...]]


def dotted(spec: str) -> str:
    """``module:attr|module:attr`` as ``module.attr or module.attr``."""
    return " or ".join(alternative.replace(":", ".") for alternative in spec.split("|"))


@dataclass(frozen=True)
class Requires:
    """The entry points a case calls, each ``module:attr`` (``|`` between renamed ones)."""

    specs: tuple[str, ...] = ()

    def absent(self) -> tuple[str, ...]:
        """The entry points this torch lacks, dotted (``torch.a.f or torch.b.f`` if renamed)."""
        return tuple(dotted(s) for s in self.specs if _resolve(s) is None)


def _no_expectation(mode: Mode, device: Device) -> str:
    return ""


@dataclass(frozen=True)
class Case:
    """One HOP sample set: a module builder and where its rows come from."""

    hop: str
    variant: str
    build: Callable[[str], Built]  # device -> (module, samples)
    needs: Requires = Requires()  # an entry point absent: every cell is missing
    source: Source = Source.CATALOG
    # Upstream's expectation for a (mode, device), recorded beside the raw outcome.
    expectation: Callable[[Mode, Device], str] = _no_expectation
    # The operators it runs as, in torch._ops._higher_order_ops; () means (hop,).
    ops: tuple[str, ...] = ()
    # The oldest release whose public API the case needs ("2.5"); older ones: missing.
    since: str = ""
    # dynamic mode: export's dynamic_shapes for a sample; None: the leading dimension of
    # every tensor input (suites.dynamic).
    dynamic_shapes: Callable[[Sample], Any] | None = None

    @property
    def id(self) -> str:
        return f"{self.source}:{self.hop}.{self.variant}"

    @property
    def pattern(self) -> str:
        """The pattern users write that this case stands for: its builder's first doc line."""
        build = self.build
        while isinstance(build, functools.partial):
            build = build.func
        doc = (getattr(build, "__doc__", None) or "").strip()
        return doc.splitlines()[0].strip() if doc else ""

    def too_old(self, version: str) -> bool:
        """Whether torch ``version`` is older than ``since`` (major.minor; local labels ignored)."""
        return bool(self.since) and release(version) < release(self.since)

    @property
    def hop_ops(self) -> tuple[str, ...]:
        """The HOP operator names this case runs as (``map`` runs as ``map_impl``)."""
        return self.ops or (self.hop,)

    def cell(self, mode: Mode, device: Device) -> CellId:
        """The cell of this case in one mode on one device."""
        return CellId(self.source, self.hop, self.variant, mode, device)


def release(version: str) -> tuple[int, int]:
    """``(major, minor)`` of ``2.6.0+cu124`` or ``2.6``; a pre-release counts as its release."""
    parts = re.findall(r"\d+", version.split("+")[0])[:2]
    return (int(parts[0]), int(parts[1]) if len(parts) > 1 else 0)


def module_of(fn: Callable[..., Any]) -> torch.nn.Module:
    """A module whose forward calls ``fn``, closed over like the seed's ``Foo``."""

    # Without torch installed (the lint env) torch.nn.Module is Any to mypy.
    class HopModule(torch.nn.Module):  # type: ignore[misc, unused-ignore]
        def forward(self, *args: Any, **kwargs: Any) -> Any:
            return fn(*args, **kwargs)

    return HopModule()


def resolve_entry(module: str, attr: str) -> Any:
    """``module.attr`` or None; import_module because HOP objects shadow submodules."""
    try:
        return getattr(importlib.import_module(module), attr, None)
    except Exception:  # absent, or present but broken in this torch: either way unusable
        return None


def _resolve(spec: str) -> Any:
    """``module:attr``, or the first of ``module:attr|module:attr`` (renamed entry points)."""
    for alternative in spec.split("|"):
        found = resolve_entry(*alternative.split(":"))
        if found is not None:
            return found
    return None


def requires(*specs: str) -> Requires:
    """The availability of a case: every entry point spec must resolve."""
    return Requires(specs)


def _entry(spec: str) -> Any:
    found = _resolve(spec)
    if found is None:
        raise LookupError(f"torch {torch.__version__} has no {dotted(spec)}")
    return found


def _randn(device: str, *shape: int, requires_grad: bool = False) -> torch.Tensor:
    return torch.randn(*shape, device=device).requires_grad_(requires_grad)


# --- control flow ------------------------------------------------------------

COND = "torch:cond"
WHILE_LOOP = "torch._higher_order_ops.while_loop:while_loop"
MAP = "torch._higher_order_ops.map:map"
SCAN = "torch._higher_order_ops.scan:scan"
ASSOCIATIVE_SCAN = "torch._higher_order_ops.associative_scan:associative_scan"


def build_cond_simple(device: str) -> Built:
    cond = _entry(COND)

    def forward(x: torch.Tensor) -> torch.Tensor:
        return cond(x.sum() > 0, lambda t: t.cos(), lambda t: t.sin(), (x,))

    # One sample per branch.
    x = _randn(device, 2, 3).abs() + 0.1
    return module_of(forward), (Sample((x,)), Sample((-x,)))


def build_cond_parameter(device: str) -> Built:
    cond = _entry(COND)

    class CondWithParameter(torch.nn.Module):  # type: ignore[misc, unused-ignore]  # see HopModule
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            # A branch that reads a parameter: export must lift it into the subgraph.
            return cond(x.sum() > 0, lambda t: self.linear(t), lambda t: t - 1.0, (x,))

    x = _randn(device, 3, 4).abs() + 0.1
    return CondWithParameter().to(device), (Sample((x,)), Sample((-x,)))


def build_while_loop_simple(device: str) -> Built:
    while_loop = _entry(WHILE_LOOP)

    def forward(it: torch.Tensor, x: torch.Tensor) -> Any:
        # Carried inputs as a tuple, like upstream's while_loop.simple.
        return while_loop(lambda i, t: i > 0, lambda i, t: (i - 1, t.cos()), (it, x))

    return module_of(forward), (Sample((torch.tensor(3, device=device), _randn(device, 2, 3, 4))),)


def build_while_loop_closure(device: str) -> Built:
    while_loop = _entry(WHILE_LOOP)

    def forward(it: torch.Tensor, x: torch.Tensor, w: torch.Tensor) -> Any:
        # `w` is closed over, so it reaches the loop as an additional input.
        return while_loop(lambda i, t: i > 0, lambda i, t: (i - 1, (t @ w).tanh()), (it, x))

    sample = Sample((torch.tensor(4, device=device), _randn(device, 3, 3), _randn(device, 3, 3)))
    return module_of(forward), (sample,)


def build_map_simple(device: str) -> Built:
    hop_map = _entry(MAP)

    def forward(xs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return hop_map(lambda x, y: x.sin() + y, xs, y)

    return module_of(forward), (Sample((_randn(device, 3, 2, 2), _randn(device, 2, 2))),)


def build_scan_simple(device: str) -> Built:
    scan = _entry(SCAN)

    def combine(carry: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        nxt = carry * 0.5 + x
        return nxt, nxt.clone()

    def forward(init: torch.Tensor, xs: torch.Tensor) -> Any:
        return scan(combine, init, xs)

    return module_of(forward), (Sample((_randn(device, 2), _randn(device, 4, 2))),)


def build_associative_scan_cumsum(device: str) -> Built:
    associative_scan = _entry(ASSOCIATIVE_SCAN)

    def forward(xs: torch.Tensor) -> torch.Tensor:
        # "generic" works on every device; "pointwise" needs a GPU compiler.
        return associative_scan(lambda a, b: a + b, xs, 0, combine_mode="generic")

    return module_of(forward), (Sample((_randn(device, 5, 3),)),)


# --- subgraphs and attention -------------------------------------------------

# The decorator was renamed: mark_compile_region became nested_compile_region.
COMPILE_REGION = (
    "torch.compiler:nested_compile_region"
    "|torch._higher_order_ops.invoke_subgraph:mark_compile_region"
)


def build_invoke_subgraph_reused(device: str) -> Built:
    region: Callable[[Callable[..., torch.Tensor]], Callable[..., torch.Tensor]]
    region = _entry(COMPILE_REGION)

    @region
    def block(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.sin(x) * y

    def forward(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # Called twice, so both calls share one subgraph.
        return block(x, y) + block(y, x)

    return module_of(forward), (Sample((_randn(device, 2, 3), _randn(device, 2, 3))),)


FLEX_ATTENTION = "torch.nn.attention.flex_attention:flex_attention"
CREATE_BLOCK_MASK = "torch.nn.attention.flex_attention:create_block_mask"


def build_flex_attention_causal(device: str) -> Built:
    flex_attention = _entry(FLEX_ATTENTION)
    create_block_mask = _entry(CREATE_BLOCK_MASK)
    # Built once outside forward, as users do; a mask built inside forward makes
    # torch 2.6 trace vmap and fail differently from run to run.
    mask = create_block_mask(lambda b, h, q, kv: q >= kv, None, None, 128, 128, device=device)

    def score_mod(score: Any, b: Any, h: Any, q_idx: Any, kv_idx: Any) -> Any:
        return score + (q_idx - kv_idx)

    def forward(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return flex_attention(q, k, v, score_mod=score_mod, block_mask=mask)

    q, k, v = (_randn(device, 1, 2, 128, 8) for _ in range(3))
    return module_of(forward), (Sample((q, k, v)),)


# --- functionalization, grad mode, autocast, hints ---------------------------

_LIBRARIES: list[Any] = []  # a Library deregisters its ops when collected: keep them


@functools.cache
def _accumulate_op() -> Any:
    """``hop_compat::accumulate(Tensor(a!) acc, Tensor x) -> Tensor``: mutates ``acc``."""
    lib = torch.library.Library(CUSTOM_OP_NAMESPACE, "FRAGMENT")
    tags = (torch.Tag.pt2_compliant_tag,) if hasattr(torch.Tag, "pt2_compliant_tag") else ()
    lib.define("accumulate(Tensor(a!) acc, Tensor x) -> Tensor", tags=tags)

    def impl(acc: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        acc.add_(x)
        return acc * 2

    def fake(acc: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return torch.empty_like(acc)

    lib.impl("accumulate", impl, "CompositeExplicitAutograd")
    register_fake = getattr(torch.library, "register_fake", None) or torch.library.impl_abstract
    register_fake(f"{CUSTOM_OP_NAMESPACE}::accumulate", fake, lib=lib)
    _LIBRARIES.append(lib)
    return getattr(torch.ops, CUSTOM_OP_NAMESPACE).accumulate


def build_auto_functionalize_custom_op(device: str) -> Built:
    accumulate = _accumulate_op()

    def forward(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        acc = x.clone()
        out = accumulate(acc, y)
        return out, acc

    return module_of(forward), (Sample((_randn(device, 2, 3), _randn(device, 2, 3))),)


def build_set_grad_enabled_no_grad(device: str) -> Built:
    def forward(x: torch.Tensor) -> torch.Tensor:
        y = x * 2
        with torch.no_grad():
            z = y.sin()
        return z + y

    return module_of(forward), (Sample((_randn(device, 2, 3, requires_grad=True),)),)


def build_autocast_bfloat16(device: str) -> Built:
    def forward(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16):
            y = x @ w
        return y.float() + 1.0

    return module_of(forward), (Sample((_randn(device, 4, 4), _randn(device, 4, 4))),)


HINTS_WRAPPER = "torch._higher_order_ops.hints_wrap:hints_wrapper"


def build_hints_wrapper_simple(device: str) -> Built:
    hints_wrapper = _entry(HINTS_WRAPPER)

    def body(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x.relu() + y

    def forward(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return hints_wrapper(body, (x, y), {}, hints={"outer_body": True})

    return module_of(forward), (Sample((_randn(device, 2, 3), _randn(device, 2, 3))),)


OUT_DTYPE = "torch._higher_order_ops.out_dtype:out_dtype"


def build_out_dtype_int8_mm(device: str) -> Built:
    out_dtype = _entry(OUT_DTYPE)

    def forward(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return out_dtype(torch.ops.aten.mm.default, torch.int32, a, b)

    a = torch.randint(-8, 8, (4, 8), dtype=torch.int8, device=device)
    b = torch.randint(-8, 8, (8, 4), dtype=torch.int8, device=device)
    return module_of(forward), (Sample((a, b)),)


# --- planted (tests only) ----------------------------------------------------


def build_planted_hang(device: str, fifo: str | None = None) -> Built:
    if fifo:
        _announce(fifo)
    while True:
        time.sleep(60)


def _announce(fifo: str) -> None:
    """Write one line to a FIFO if someone reads it; never block on it."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:  # no reader (ENXIO), or no such file: nobody to tell
        return
    try:
        os.write(fd, b"hanging\n")
    finally:
        os.close(fd)


def build_planted_crash(device: str) -> Built:
    # Private and untyped, but a real invalid access, not a signal sent to itself.
    faulthandler._sigsegv()  # type: ignore[attr-defined]
    raise AssertionError("still alive after a segfault")


PLANTED_ABSENT_ENTRY = "torch:_hop_compat_no_such_entry"


def build_planted_missing(device: str) -> Built:
    raise AssertionError("a missing case is never built")


CATALOG: tuple[Case, ...] = (
    Case("cond", "simple", build_cond_simple, requires(COND)),
    Case("cond", "parameter", build_cond_parameter, requires(COND)),
    Case("while_loop", "simple", build_while_loop_simple, requires(WHILE_LOOP)),
    Case("while_loop", "closure", build_while_loop_closure, requires(WHILE_LOOP)),
    Case("map", "simple", build_map_simple, requires(MAP), ops=("map_impl",)),
    Case("scan", "simple", build_scan_simple, requires(SCAN)),
    Case("associative_scan", "cumsum", build_associative_scan_cumsum, requires(ASSOCIATIVE_SCAN)),
    Case("invoke_subgraph", "reused", build_invoke_subgraph_reused, requires(COMPILE_REGION)),
    Case(
        "flex_attention",
        "causal",
        build_flex_attention_causal,
        requires(FLEX_ATTENTION, CREATE_BLOCK_MASK),
    ),
    Case(
        "auto_functionalize",
        "custom_op",
        build_auto_functionalize_custom_op,
        requires(
            "torch._higher_order_ops.auto_functionalize:auto_functionalized",
            "torch.library:Library",
        ),
        ops=("auto_functionalized", "auto_functionalized_v2"),
    ),
    Case(
        "wrap_with_set_grad_enabled",
        "no_grad",
        build_set_grad_enabled_no_grad,
        requires("torch._higher_order_ops.wrap:wrap_with_set_grad_enabled"),
    ),
    Case(
        "wrap_with_autocast",
        "bfloat16",
        build_autocast_bfloat16,
        requires("torch._higher_order_ops.wrap:wrap_with_autocast"),
    ),
    Case("hints_wrapper", "simple", build_hints_wrapper_simple, requires(HINTS_WRAPPER)),
    Case("out_dtype", "int8_mm", build_out_dtype_int8_mm, requires(OUT_DTYPE)),
)


def build_planted_flaky(device: str, counter: str) -> Built:
    path = Path(counter)
    builds = int(path.read_text() or "0") if path.exists() else 0
    path.write_text(str(builds + 1))
    if builds % 2:
        raise RuntimeError("this build fails every second time")
    return module_of(lambda x: x + 1), (Sample((torch.ones(2, device=device),)),)


def planted(env: Mapping[str, str]) -> tuple[Case, ...]:
    """The planted rows; the hang announces itself on ``HOP_SUITE_PLANTED_FIFO`` when set."""
    hang = functools.partial(build_planted_hang, fifo=env.get(PLANTED_FIFO_ENV))
    return (
        Case("_planted_crash", "segfault", build_planted_crash),
        Case("_planted_hang", "sleep", hang),
        Case("_gap_planted", "unregistered", build_planted_missing, requires(PLANTED_ABSENT_ENTRY)),
        Case(
            "_gap_planted",
            "api_absent",
            build_planted_missing,
            requires(PLANTED_ABSENT_ENTRY),
            ops=("cond",),
        ),
    )


PLANTED = planted({})


def load_catalog(env: Mapping[str, str]) -> tuple[Case, ...]:
    """The catalogue rows, after the planted ones when ``HOP_SUITE_PLANTED=1``."""
    # Planted rows go first, so a test sees real cases run after the hang and the crash.
    counter = env.get(PLANTED_FLAKY_ENV)
    flaky = functools.partial(build_planted_flaky, counter=counter) if counter else None
    first = (Case("_planted_flaky", "alternate", flaky),) if flaky else ()
    return first + (planted(env) if env.get(PLANTED_ENV) == "1" else ()) + CATALOG
