"""One control-flow HOP at a time: cond, while_loop, map, scan, associative_scan."""

from __future__ import annotations

from typing import Any

import torch

from suites.cases import Built, Case, Sample, module_of, requires
from suites.catalog.entries import (
    ASSOCIATIVE_SCAN,
    ASSOCIATIVE_SINCE,
    COND,
    COND_SINCE,
    MAP,
    OLDEST_CHECKED,
    OPERANDS_DEFAULT_SINCE,
    SCAN,
    SCAN_SINCE,
    WHILE_LOOP,
    entry,
    leading_of,
    randn,
)


def _both_signs(device: str, *shape: int) -> tuple[Sample, Sample]:
    """One sample per branch of a ``x.sum() > 0`` predicate."""
    x = randn(device, *shape).abs() + 0.1
    return Sample((x,)), Sample((-x,))


def build_cond_simple(device: str) -> Built:
    """torch.cond(x.sum() > 0, f, g, (x,)): branch on a tensor predicate."""
    cond = entry(COND)

    def forward(x: torch.Tensor) -> torch.Tensor:
        return cond(x.sum() > 0, lambda t: t.cos(), lambda t: t.sin(), (x,))

    return module_of(forward), _both_signs(device, 2, 3)


def build_cond_parameter(device: str) -> Built:
    """A cond branch that calls a layer of the module: its parameters enter the branch."""
    cond = entry(COND)

    class CondWithParameter(torch.nn.Module):  # type: ignore[misc, unused-ignore]  # see HopModule
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            # A branch that reads a parameter: export must lift it into the subgraph.
            return cond(x.sum() > 0, lambda t: self.linear(t), lambda t: t - 1.0, (x,))

    samples = _both_signs(device, 3, 4)  # before the layer's weights: the samples stay as they were
    return CondWithParameter().to(device), samples


def build_cond_kwargs(device: str) -> Built:
    """torch.cond(pred=..., true_fn=..., false_fn=..., operands=...): every argument by name."""
    cond = entry(COND)

    def forward(x: torch.Tensor) -> torch.Tensor:
        return cond(
            pred=x.sum() > 0,
            true_fn=lambda t: t.cos(),
            false_fn=lambda t: t.sin(),
            operands=(x,),
        )

    return module_of(forward), _both_signs(device, 3, 4)


def build_cond_no_operands(device: str) -> Built:
    """torch.cond(pred, lambda: x.cos(), lambda: x.sin()): branches close over x, no operands."""
    cond = entry(COND)

    def forward(x: torch.Tensor) -> torch.Tensor:
        return cond(x.sum() > 0, lambda: x.cos(), lambda: x.sin())

    return module_of(forward), _both_signs(device, 3, 4)


def build_cond_shape_predicate(device: str) -> Built:
    """torch.cond(x.shape[0] > 4, f, g, (x,)): branch on the batch size, as torch.cond's docs do."""
    cond = entry(COND)

    def forward(x: torch.Tensor) -> torch.Tensor:
        return cond(x.shape[0] > 4, lambda t: t.cos(), lambda t: t.sin(), (x,))

    # One batch size per branch; exported with a dynamic batch, both stay in the graph.
    return module_of(forward), (Sample((randn(device, 3, 4),)), Sample((randn(device, 6, 4),)))


def build_cond_item_predicate(device: str) -> Built:
    """torch.cond(x.max().item() > 0.5, ...): a predicate read out of the data as a Python bool."""
    cond = entry(COND)

    def forward(x: torch.Tensor) -> torch.Tensor:
        return cond(x.max().item() > 0.5, lambda t: t.cos(), lambda t: t.sin(), (x,))

    x = randn(device, 3, 4).abs()
    return module_of(forward), (Sample((x + 1.0,)), Sample((x.clamp(max=0.4),)))


def build_cond_different_shapes(device: str) -> Built:
    """A cond whose branches return the whole sequence or only its second half."""
    cond = entry(COND)

    def forward(x: torch.Tensor) -> torch.Tensor:
        # (batch, 6) or (batch, 3): same rank and dtype, another size along dim 1.
        return cond(x.sum() > 0, lambda t: t.cos(), lambda t: t[:, 3:].sin(), (x,))

    return module_of(forward), _both_signs(device, 3, 6)


def build_while_loop_simple(device: str) -> Built:
    """while_loop(lambda i, x: i > 0, body, (i, x)): a counted loop, carries in a tuple."""
    while_loop = entry(WHILE_LOOP)

    def forward(it: torch.Tensor, x: torch.Tensor) -> Any:
        # Carried inputs as a tuple, like upstream's while_loop.simple.
        return while_loop(lambda i, t: i > 0, lambda i, t: (i - 1, t.cos()), (it, x))

    return module_of(forward), (Sample((torch.tensor(3, device=device), randn(device, 2, 3, 4))),)


def build_while_loop_closure(device: str) -> Built:
    """A while_loop body that reads a tensor it closes over (not a carried input)."""
    while_loop = entry(WHILE_LOOP)

    def forward(it: torch.Tensor, x: torch.Tensor, w: torch.Tensor) -> Any:
        # `w` is closed over, so it reaches the loop as an additional input.
        return while_loop(lambda i, t: i > 0, lambda i, t: (i - 1, (t @ w).tanh()), (it, x))

    sample = Sample((torch.tensor(4, device=device), randn(device, 3, 3), randn(device, 3, 3)))
    return module_of(forward), (sample,)


def build_while_loop_data_dependent_stop(device: str) -> Built:
    """while_loop(lambda x: x.abs().max() > tol, ...): iterate until converged, count unknown."""
    while_loop = entry(WHILE_LOOP)

    def forward(x: torch.Tensor) -> Any:
        return while_loop(lambda t: t.abs().max() > 0.1, lambda t: (t * 0.5,), (x,))

    return module_of(forward), (Sample((randn(device, 3, 4),)), Sample((randn(device, 3, 4) * 8,)))


def build_map_simple(device: str) -> Built:
    """map(f, xs, y): apply f to each slice of xs, with a shared extra argument."""
    hop_map = entry(MAP)

    def forward(xs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return hop_map(lambda x, y: x.sin() + y, xs, y)

    return module_of(forward), (Sample((randn(device, 3, 2, 2), randn(device, 2, 2))),)


def _decay(carry: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    nxt = carry * 0.5 + x
    return nxt, nxt.clone()


def build_scan_simple(device: str) -> Built:
    """scan(combine, init, xs): a running state over the leading dimension of xs."""
    scan = entry(SCAN)

    def forward(init: torch.Tensor, xs: torch.Tensor) -> Any:
        return scan(_decay, init, xs)

    return module_of(forward), (Sample((randn(device, 2), randn(device, 4, 2))),)


def build_scan_reverse(device: str) -> Built:
    """scan(combine, init, xs, reverse=True): a running state from the end of the sequence."""
    scan = entry(SCAN)

    def forward(xs: torch.Tensor) -> Any:
        return scan(_decay, torch.zeros_like(xs[0]), xs, reverse=True)

    return module_of(forward), (Sample((randn(device, 4, 3, 2),)),)


def build_scan_several_xs(device: str) -> Built:
    """scan(combine, init, (xs, gates)): several sequences scanned in step."""
    scan = entry(SCAN)

    def combine(h: torch.Tensor, step: tuple[torch.Tensor, torch.Tensor]) -> Any:
        x, gate = step
        nxt = h * gate.sigmoid() + x
        return nxt, nxt.clone()

    def forward(xs: torch.Tensor, gates: torch.Tensor) -> Any:
        return scan(combine, torch.zeros_like(xs[0]), (xs, gates))

    return module_of(forward), (Sample((randn(device, 4, 3, 2), randn(device, 4, 3, 2))),)


def build_associative_scan_cumsum(device: str) -> Built:
    """associative_scan(lambda a, b: a + b, xs, 0): a cumulative sum as a parallel scan."""
    associative_scan = entry(ASSOCIATIVE_SCAN)

    def forward(xs: torch.Tensor) -> torch.Tensor:
        # "generic" works on every device; "pointwise" needs a GPU compiler.
        return associative_scan(lambda a, b: a + b, xs, 0, combine_mode="generic")

    return module_of(forward), (Sample((randn(device, 5, 3),)),)


def _linear_recurrence(
    left: tuple[torch.Tensor, torch.Tensor], right: tuple[torch.Tensor, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """h = a * h_prev + b, composed: what a state-space layer scans."""
    (a1, b1), (a2, b2) = left, right
    return a2 * a1, a2 * b1 + b2


def build_associative_scan_pytree_combine(device: str) -> Built:
    """associative_scan(combine, (a, b), dim): a linear recurrence whose combine takes tuples."""
    associative_scan = entry(ASSOCIATIVE_SCAN)

    def forward(a: torch.Tensor, b: torch.Tensor) -> Any:
        return associative_scan(_linear_recurrence, (a, b), 1, combine_mode="generic")

    return module_of(forward), (Sample((randn(device, 3, 5, 2).sigmoid(), randn(device, 3, 5, 2))),)


def build_associative_scan_reverse(device: str) -> Built:
    """associative_scan(torch.maximum, xs, dim, reverse=True): a running maximum from the end."""
    associative_scan = entry(ASSOCIATIVE_SCAN)

    def forward(xs: torch.Tensor) -> torch.Tensor:
        return associative_scan(torch.maximum, xs, 1, reverse=True, combine_mode="generic")

    return module_of(forward), (Sample((randn(device, 3, 5, 2),)),)


CASES: tuple[Case, ...] = (
    Case("cond", "simple", build_cond_simple, requires(COND), since=COND_SINCE),
    Case("cond", "parameter", build_cond_parameter, requires(COND), since=COND_SINCE),
    Case(
        "while_loop",
        "simple",
        build_while_loop_simple,
        requires(WHILE_LOOP),
        since=OLDEST_CHECKED,
    ),
    Case(
        "while_loop",
        "closure",
        build_while_loop_closure,
        requires(WHILE_LOOP),
        since=OLDEST_CHECKED,
        # The closed-over weight's leading dimension is x's feature dimension, not a batch.
        dynamic_shapes=leading_of(1),
    ),
    Case(
        "map",
        "simple",
        build_map_simple,
        requires(MAP),
        ops=("map_impl",),
        since=OLDEST_CHECKED,
        # y is added to each slice of xs: its leading dimension is a slice's.
        dynamic_shapes=leading_of(0),
    ),
    Case(
        "scan",
        "simple",
        build_scan_simple,
        requires(SCAN),
        since=SCAN_SINCE,
        # init is one step's carry: its leading dimension is xs's second.
        dynamic_shapes=leading_of(1),
    ),
    Case(
        "associative_scan",
        "cumsum",
        build_associative_scan_cumsum,
        requires(ASSOCIATIVE_SCAN),
        since=ASSOCIATIVE_SINCE,  # it passes combine_mode=, which 2.4 lacks
    ),
    Case("cond", "kwargs", build_cond_kwargs, requires(COND), since=COND_SINCE),
    Case(
        "cond",
        "no_operands",
        build_cond_no_operands,
        requires(COND),
        since=OPERANDS_DEFAULT_SINCE,
    ),
    Case("cond", "shape_predicate", build_cond_shape_predicate, requires(COND), since=COND_SINCE),
    Case("cond", "item_predicate", build_cond_item_predicate, requires(COND), since=COND_SINCE),
    Case("cond", "different_shapes", build_cond_different_shapes, requires(COND), since=COND_SINCE),
    Case(
        "while_loop",
        "data_dependent_stop",
        build_while_loop_data_dependent_stop,
        requires(WHILE_LOOP),
        since=OLDEST_CHECKED,
    ),
    Case("scan", "reverse", build_scan_reverse, requires(SCAN), since=SCAN_SINCE),
    Case("scan", "several_xs", build_scan_several_xs, requires(SCAN), since=SCAN_SINCE),
    Case(
        "associative_scan",
        "pytree_combine",
        build_associative_scan_pytree_combine,
        requires(ASSOCIATIVE_SCAN),
        since=ASSOCIATIVE_SINCE,
    ),
    Case(
        "associative_scan",
        "reverse",
        build_associative_scan_reverse,
        requires(ASSOCIATIVE_SCAN),
        since=ASSOCIATIVE_SINCE,
    ),
)
