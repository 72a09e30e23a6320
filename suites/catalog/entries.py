"""The entry points catalogue cases call, and the small helpers every theme shares.

An entry point is written ``module:attr`` (``|`` between renamed ones) and
resolved only when a case is built, so a torch without it loses that case,
never the catalogue. The release in each ``since`` is the first whose public
API has what the case calls, read in the wheels of 2.3.1 to 2.15.0 (2.3 is
the oldest checked: a case whose API 2.3.1 already has says 2.3, unless the
documentation shows it earlier, as torch.cond's does for 2.2).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from suites.cases import Sample, dotted, resolve_spec

COND = "torch:cond"
WHILE_LOOP = "torch._higher_order_ops.while_loop:while_loop"
MAP = "torch._higher_order_ops.map:map"
SCAN = "torch._higher_order_ops.scan:scan"
ASSOCIATIVE_SCAN = "torch._higher_order_ops.associative_scan:associative_scan"
# The decorator was renamed: mark_compile_region became nested_compile_region.
COMPILE_REGION = (
    "torch.compiler:nested_compile_region"
    "|torch._higher_order_ops.invoke_subgraph:mark_compile_region"
)
FLEX_ATTENTION = "torch.nn.attention.flex_attention:flex_attention"
CREATE_BLOCK_MASK = "torch.nn.attention.flex_attention:create_block_mask"
HINTS_WRAPPER = "torch._higher_order_ops.hints_wrap:hints_wrapper"
OUT_DTYPE = "torch._higher_order_ops.out_dtype:out_dtype"
CHECKPOINT = "torch.utils.checkpoint:checkpoint"

# Releases, named once: the first whose public API has ...
OLDEST_CHECKED = "2.3"  # ... what 2.3.1 already has: while_loop, map, out_dtype, Library
COND_SINCE = "2.2"  # torch.cond (exposed by pytorch#110293, documented from 2.2)
NESTED_CARRY_SINCE = "2.4"  # while_loop's carried inputs as nested dicts/lists/tuples
FLEX_SINCE = "2.5"  # torch.nn.attention.flex_attention
ASSOCIATIVE_SINCE = "2.5"  # associative_scan's reverse= and combine_mode= (2.4 has neither)
SCAN_SINCE = "2.6"  # torch._higher_order_ops.scan
REGION_SINCE = "2.6"  # mark_compile_region (nested_compile_region from 2.8)
OPERANDS_DEFAULT_SINCE = "2.6"  # torch.cond's operands=() default: branches may take nothing
INT_CARRY_SINCE = "2.7"  # while_loop's carried inputs may be Python ints


def entry(spec: str) -> Any:
    """The entry point ``spec`` in this torch; LookupError naming it when absent."""
    found = resolve_spec(spec)
    if found is None:
        raise LookupError(f"torch {torch.__version__} has no {dotted(spec)}")
    return found


def randn(device: str, *shape: int, requires_grad: bool = False) -> torch.Tensor:
    return torch.randn(*shape, device=device).requires_grad_(requires_grad)


def batch_dim() -> Any:
    """A dimension export may keep dynamic: ``Dim.AUTO`` from 2.5, a named ``Dim`` before."""
    dim = torch.export.Dim
    return dim.AUTO if hasattr(dim, "AUTO") else dim("batch")


def leading_of(*positions: int) -> Callable[[Sample], Any]:
    """dynamic_shapes for a ``module_of`` case: dim 0 of the args at ``positions`` only.

    For cases whose other tensor inputs have no batch dimension (a weight, an
    initial carry sized by a feature dimension): marking theirs would only
    show export specialising them.
    """

    def shapes(sample: Sample) -> Any:
        specs = tuple({0: batch_dim()} if i in positions else None for i in range(len(sample.args)))
        return (specs,)  # one entry: module_of's forward takes *args

    return shapes
