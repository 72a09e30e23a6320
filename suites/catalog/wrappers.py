"""HOPs that wrap ordinary code: a mutating custom op, grad mode, autocast, hints, checkpoint."""

from __future__ import annotations

import functools
from typing import Any

import torch

from suites.cases import Built, Case, Sample, module_of, requires
from suites.catalog.entries import (
    CHECKPOINT,
    COND,
    HINTS_WRAPPER,
    OLDEST_CHECKED,
    OUT_DTYPE,
    entry,
    leading_of,
    randn,
)

CUSTOM_OP_NAMESPACE = "hop_compat"
HINTS_SINCE = "2.5"  # torch._higher_order_ops.hints_wrap

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


AUTO_FUNCTIONALIZE = requires(
    "torch._higher_order_ops.auto_functionalize:auto_functionalized", "torch.library:Library"
)


def build_auto_functionalize_custom_op(device: str) -> Built:
    """A custom op that mutates one of its arguments, called on a fresh buffer."""
    accumulate = _accumulate_op()

    def forward(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        acc = x.clone()
        out = accumulate(acc, y)
        return out, acc

    return module_of(forward), (Sample((randn(device, 2, 3), randn(device, 2, 3))),)


def build_auto_functionalize_in_cond(device: str) -> Built:
    """A mutating custom op called inside a torch.cond branch, on a tensor the branch made."""
    accumulate, cond = _accumulate_op(), entry(COND)

    def hit(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        acc = a.clone()
        return accumulate(acc, b) + acc

    def forward(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return cond(x.sum() > 0, hit, lambda a, b: a - b, (x, y))

    x, y = randn(device, 3, 4).abs() + 0.1, randn(device, 3, 4)
    return module_of(forward), (Sample((x, y)), Sample((-x, y)))


def build_set_grad_enabled_no_grad(device: str) -> Built:
    """with torch.no_grad(): part of a forward whose input requires grad."""

    def forward(x: torch.Tensor) -> torch.Tensor:
        y = x * 2
        with torch.no_grad():
            z = y.sin()
        return z + y

    return module_of(forward), (Sample((randn(device, 2, 3, requires_grad=True),)),)


def build_autocast_bfloat16(device: str) -> Built:
    """with torch.autocast(device_type, dtype=torch.bfloat16): a matmul in lower precision."""

    def forward(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16):
            y = x @ w
        return y.float() + 1.0

    return module_of(forward), (Sample((randn(device, 4, 4), randn(device, 4, 4))),)


def build_hints_wrapper_simple(device: str) -> Built:
    """hints_wrapper(body, args, {}, hints={...}): a region annotated for the compiler."""
    hints_wrapper = entry(HINTS_WRAPPER)

    def body(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x.relu() + y

    def forward(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return hints_wrapper(body, (x, y), {}, hints={"outer_body": True})

    return module_of(forward), (Sample((randn(device, 2, 3), randn(device, 2, 3))),)


def build_out_dtype_int8_mm(device: str) -> Built:
    """out_dtype(aten.mm, torch.int32, a, b): an int8 matmul accumulated in int32."""
    out_dtype = entry(OUT_DTYPE)

    def forward(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return out_dtype(torch.ops.aten.mm.default, torch.int32, a, b)

    a = torch.randint(-8, 8, (4, 8), dtype=torch.int8, device=device)
    b = torch.randint(-8, 8, (8, 4), dtype=torch.int8, device=device)
    return module_of(forward), (Sample((a, b)),)


def build_tag_activation_checkpoint_checkpoint(device: str) -> Built:
    """checkpoint(self.block, x, use_reentrant=False): activation checkpointing in a model."""
    checkpoint = entry(CHECKPOINT)

    # Without torch installed (the lint env) torch.nn.Module is Any to mypy.
    class Checkpointed(torch.nn.Module):  # type: ignore[misc, unused-ignore]
        def __init__(self) -> None:
            super().__init__()
            self.block = torch.nn.Sequential(
                torch.nn.Linear(4, 8), torch.nn.GELU(), torch.nn.Linear(8, 4)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return checkpoint(self.block, x, use_reentrant=False) + x

    return Checkpointed().to(device), (Sample((randn(device, 3, 4, requires_grad=True),)),)


CASES: tuple[Case, ...] = (
    Case(
        "auto_functionalize",
        "custom_op",
        build_auto_functionalize_custom_op,
        AUTO_FUNCTIONALIZE,
        ops=("auto_functionalized", "auto_functionalized_v2"),
        since=OLDEST_CHECKED,
    ),
    Case(
        "wrap_with_set_grad_enabled",
        "no_grad",
        build_set_grad_enabled_no_grad,
        requires("torch._higher_order_ops.wrap:wrap_with_set_grad_enabled"),
        since=OLDEST_CHECKED,
    ),
    Case(
        "wrap_with_autocast",
        "bfloat16",
        build_autocast_bfloat16,
        requires("torch._higher_order_ops.wrap:wrap_with_autocast"),
        since=OLDEST_CHECKED,
        # w's leading dimension is x's feature dimension, not a batch.
        dynamic_shapes=leading_of(0),
    ),
    Case(
        "hints_wrapper",
        "simple",
        build_hints_wrapper_simple,
        requires(HINTS_WRAPPER),
        since=HINTS_SINCE,
    ),
    Case(
        "out_dtype",
        "int8_mm",
        build_out_dtype_int8_mm,
        requires(OUT_DTYPE),
        since=OLDEST_CHECKED,
        # b's leading dimension is a's inner dimension, not a batch.
        dynamic_shapes=leading_of(0),
    ),
    Case(
        "auto_functionalize",
        "in_cond",
        build_auto_functionalize_in_cond,
        requires(COND, *AUTO_FUNCTIONALIZE.specs),
        ops=("auto_functionalized", "auto_functionalized_v2"),
        since=OLDEST_CHECKED,
    ),
    Case(
        "tag_activation_checkpoint",
        "checkpoint",
        build_tag_activation_checkpoint_checkpoint,
        requires(CHECKPOINT, "torch._higher_order_ops.wrap:tag_activation_checkpoint"),
        since=OLDEST_CHECKED,
    ),
)
