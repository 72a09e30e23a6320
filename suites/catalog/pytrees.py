"""HOPs whose inputs and carries are pytrees: dicts, nested tuples, a Python int beside tensors."""

from __future__ import annotations

from typing import Any

import torch

from suites.cases import Built, Case, Sample, module_of, requires
from suites.catalog.entries import (
    COND,
    COND_SINCE,
    INT_CARRY_SINCE,
    MAP,
    NESTED_CARRY_SINCE,
    OLDEST_CHECKED,
    SCAN,
    SCAN_SINCE,
    WHILE_LOOP,
    entry,
    randn,
)

State = dict[str, torch.Tensor]


def build_while_loop_dict_carry(device: str) -> Built:
    """while_loop(cond_fn, body_fn, (i, {"h": h, "acc": acc})): a dict in the carried state."""
    while_loop = entry(WHILE_LOOP)

    def body(i: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        h = state["h"].tanh()
        return i - 1, {"h": h, "acc": state["acc"] + h}

    def forward(it: torch.Tensor, x: torch.Tensor) -> Any:
        return while_loop(lambda i, s: i > 0, body, (it, {"h": x, "acc": torch.zeros_like(x)}))

    return module_of(forward), (Sample((torch.tensor(3, device=device), randn(device, 3, 4))),)


def build_while_loop_int_carry(device: str) -> Built:
    """while_loop(lambda i, x: i < 3, ..., (0, x)): a Python int counter carried beside a tensor."""
    while_loop = entry(WHILE_LOOP)

    def forward(x: torch.Tensor) -> Any:
        return while_loop(lambda i, t: i < 3, lambda i, t: (i + 1, t.cos()), (0, x))

    return module_of(forward), (Sample((randn(device, 3, 4),)),)


def build_scan_dict_carry(device: str) -> Built:
    """scan(step, {"h": h0, "c": c0}, xs): an LSTM-like state kept in a dict."""
    scan = entry(SCAN)

    def step(state: State, x: torch.Tensor) -> tuple[State, torch.Tensor]:
        c = state["c"] * 0.5 + x
        h = c.tanh()
        return {"h": h, "c": c}, h.clone()

    def forward(xs: torch.Tensor) -> Any:
        zeros = torch.zeros_like(xs[0])
        return scan(step, {"h": zeros, "c": zeros.clone()}, xs)

    return module_of(forward), (Sample((randn(device, 4, 3, 2),)),)


def build_scan_tuple_carry(device: str) -> Built:
    """scan(step, (h0, (c0, n0)), xs) returning tuple outputs: nested tuples in and out."""
    scan = entry(SCAN)

    def step(carry: Any, x: torch.Tensor) -> Any:
        h, (c, n) = carry
        c = c + x
        n = n + 1.0
        h = (c / n).tanh()
        return (h, (c, n)), (h.clone(), c.clone())

    def forward(xs: torch.Tensor) -> Any:
        zeros = torch.zeros_like(xs[0])
        return scan(step, (zeros, (zeros.clone(), zeros.clone())), xs)

    return module_of(forward), (Sample((randn(device, 4, 3, 2),)),)


def build_cond_pytree_operands(device: str) -> Built:
    """torch.cond(pred, f, g, ({"a": x, "b": y},)) with branches returning a tuple."""
    cond = entry(COND)

    def plus(d: State) -> tuple[torch.Tensor, torch.Tensor]:
        return d["a"] + d["b"], d["a"] * d["b"]

    def minus(d: State) -> tuple[torch.Tensor, torch.Tensor]:
        return d["a"] - d["b"], d["a"].sin()

    def forward(x: torch.Tensor, y: torch.Tensor) -> Any:
        return cond(x.sum() > 0, plus, minus, ({"a": x, "b": y},))

    x, y = randn(device, 3, 4).abs() + 0.1, randn(device, 3, 4)
    return module_of(forward), (Sample((x, y)), Sample((-x, y)))


def build_map_pytree_xs(device: str) -> Built:
    """map(f, {"x": xs, "gate": gates}): map over a dict of batched tensors."""
    hop_map = entry(MAP)

    def per_example(d: State) -> torch.Tensor:
        return d["x"] * d["gate"].sigmoid()

    def forward(xs: torch.Tensor, gates: torch.Tensor) -> torch.Tensor:
        return hop_map(per_example, {"x": xs, "gate": gates})

    return module_of(forward), (Sample((randn(device, 3, 4), randn(device, 3, 4))),)


CASES: tuple[Case, ...] = (
    Case(
        "while_loop",
        "dict_carry",
        build_while_loop_dict_carry,
        requires(WHILE_LOOP),
        since=NESTED_CARRY_SINCE,
    ),
    Case(
        "while_loop",
        "int_carry",
        build_while_loop_int_carry,
        requires(WHILE_LOOP),
        since=INT_CARRY_SINCE,
    ),
    Case("scan", "dict_carry", build_scan_dict_carry, requires(SCAN), since=SCAN_SINCE),
    Case("scan", "tuple_carry", build_scan_tuple_carry, requires(SCAN), since=SCAN_SINCE),
    Case("cond", "pytree_operands", build_cond_pytree_operands, requires(COND), since=COND_SINCE),
    Case(
        "map",
        "pytree_xs",
        build_map_pytree_xs,
        requires(MAP),
        ops=("map_impl",),
        since=OLDEST_CHECKED,
    ),
)
