"""The same subgraph invoked twice: a compile region called again, cond branches reused."""

from __future__ import annotations

from collections.abc import Callable

import torch

from suites.cases import Built, Case, Sample, module_of, requires
from suites.catalog.entries import COMPILE_REGION, COND, COND_SINCE, REGION_SINCE, entry, randn

Region = Callable[[Callable[..., torch.Tensor]], Callable[..., torch.Tensor]]


def build_invoke_subgraph_reused(device: str) -> Built:
    """A function decorated with nested_compile_region, called twice with other arguments."""
    region: Region = entry(COMPILE_REGION)

    @region
    def block(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.sin(x) * y

    def forward(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # Called twice, so both calls share one subgraph.
        return block(x, y) + block(y, x)

    return module_of(forward), (Sample((randn(device, 2, 3), randn(device, 2, 3))),)


def build_invoke_subgraph_layers(device: str) -> Built:
    """A layer whose forward is a nested_compile_region, stacked twice with its own weights."""
    region: Region = entry(COMPILE_REGION)

    # Without torch installed (the lint env) torch.nn.Module is Any to mypy.
    class Layer(torch.nn.Module):  # type: ignore[misc, unused-ignore]
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(4, 4)

        @region
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.linear(x).relu() + x

    class Stack(torch.nn.Module):  # type: ignore[misc, unused-ignore]
        def __init__(self) -> None:
            super().__init__()
            self.layers = torch.nn.ModuleList([Layer(), Layer()])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for layer in self.layers:
                x = layer(x)
            return x

    return Stack().to(device), (Sample((randn(device, 3, 4),)),)


def _grow(t: torch.Tensor) -> torch.Tensor:
    return t.cos() + 1.0


def _shrink(t: torch.Tensor) -> torch.Tensor:
    return t.sin() - 1.0


def build_cond_same_branches_twice(device: str) -> Built:
    """The same pair of branch functions given to two torch.cond calls in one forward."""
    cond = entry(COND)

    def forward(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return cond(x.sum() > 0, _grow, _shrink, (x,)) + cond(y.sum() > 0, _grow, _shrink, (y,))

    x = randn(device, 3, 4).abs() + 0.1
    # Both calls the same way, then each its own way.
    return module_of(forward), (Sample((x, x * 2.0)), Sample((x, -x)))


CASES: tuple[Case, ...] = (
    Case(
        "invoke_subgraph",
        "reused",
        build_invoke_subgraph_reused,
        requires(COMPILE_REGION),
        since=REGION_SINCE,
    ),
    Case(
        "invoke_subgraph",
        "layers",
        build_invoke_subgraph_layers,
        requires(COMPILE_REGION),
        since=REGION_SINCE,
    ),
    Case(
        "cond",
        "same_branches_twice",
        build_cond_same_branches_twice,
        requires(COND),
        since=COND_SINCE,
    ),
)
