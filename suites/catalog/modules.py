"""HOPs inside submodules that own parameters and buffers, as models are written."""

from __future__ import annotations

from typing import Any

import torch

from suites.cases import Built, Case, Sample, requires
from suites.catalog.entries import (
    COND,
    COND_SINCE,
    MAP,
    OLDEST_CHECKED,
    SCAN,
    SCAN_SINCE,
    WHILE_LOOP,
    entry,
    randn,
)

FEATURES = 4

# Without torch installed (the lint env) torch.nn.Module is Any to mypy, hence the ignores.


def _both_signs(device: str, batch: int = 3) -> tuple[Sample, Sample]:
    x = randn(device, batch, FEATURES).abs() + 0.1
    return Sample((x,)), Sample((-x,))


def build_cond_submodule_buffers(device: str) -> Built:
    """A submodule whose torch.cond branches read its parameter and its buffer."""
    cond = entry(COND)

    class Normalise(torch.nn.Module):  # type: ignore[misc, unused-ignore]
        def __init__(self) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(torch.randn(FEATURES))
            self.register_buffer("mean", torch.randn(FEATURES))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return cond(
                x.sum() > 0, lambda t: (t - self.mean) * self.weight, lambda t: t + self.mean, (x,)
            )

    class Model(torch.nn.Module):  # type: ignore[misc, unused-ignore]
        def __init__(self) -> None:
            super().__init__()
            self.norm = Normalise()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.norm(x * 2.0)

    return Model().to(device), _both_signs(device)


def build_cond_buffer_mutation(device: str) -> Built:
    """A torch.cond branch that updates a buffer in place (a running statistic) before using it."""
    cond = entry(COND)

    class Tracker(torch.nn.Module):  # type: ignore[misc, unused-ignore]
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("last_mean", torch.zeros(FEATURES))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            def update(t: torch.Tensor) -> torch.Tensor:
                # copy_, not add_: the output depends on this call's input only, however
                # often the module ran before.
                self.last_mean.copy_(t.mean(0))
                return t - self.last_mean

            return cond(x.sum() > 0, update, lambda t: t * 2.0, (x,))

    return Tracker().to(device), _both_signs(device)


def build_while_loop_submodule(device: str) -> Built:
    """A submodule whose while_loop body applies its own Linear layer on every iteration."""
    while_loop = entry(WHILE_LOOP)

    class Refine(torch.nn.Module):  # type: ignore[misc, unused-ignore]
        def __init__(self) -> None:
            super().__init__()
            self.step = torch.nn.Linear(FEATURES, FEATURES)

        def forward(self, it: torch.Tensor, x: torch.Tensor) -> Any:
            def body(i: torch.Tensor, t: torch.Tensor) -> Any:
                return i - 1, self.step(t).tanh()

            return while_loop(lambda i, t: i > 0, body, (it, x))

    sample = Sample((torch.tensor(3, device=device), randn(device, 3, FEATURES)))
    return Refine().to(device), (sample,)


def build_scan_rnn_cell(device: str) -> Built:
    """An RNN written as scan over dim=1 of a batch-first input, its cell a Linear layer."""
    scan = entry(SCAN)
    hidden = 3

    class RNN(torch.nn.Module):  # type: ignore[misc, unused-ignore]
        def __init__(self) -> None:
            super().__init__()
            self.cell = torch.nn.Linear(FEATURES + hidden, hidden)

        def forward(self, x: torch.Tensor) -> Any:
            def step(h: torch.Tensor, xt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
                nxt = self.cell(torch.cat([xt, h], dim=-1)).tanh()
                return nxt, nxt.clone()

            return scan(step, x.new_zeros(x.shape[0], hidden), x, dim=1)

    return RNN().to(device), (Sample((randn(device, 3, 5, FEATURES),)),)


def build_map_submodule(device: str) -> Built:
    """map(self.mlp, xs): a submodule with parameters applied to each example of a batch."""
    hop_map = entry(MAP)

    class PerExample(torch.nn.Module):  # type: ignore[misc, unused-ignore]
        def __init__(self) -> None:
            super().__init__()
            self.mlp = torch.nn.Sequential(
                torch.nn.Linear(FEATURES, 8), torch.nn.ReLU(), torch.nn.Linear(8, FEATURES)
            )

        def forward(self, xs: torch.Tensor) -> torch.Tensor:
            return hop_map(lambda x: self.mlp(x), xs)

    return PerExample().to(device), (Sample((randn(device, 3, 2, FEATURES),)),)


CASES: tuple[Case, ...] = (
    Case(
        "cond",
        "submodule_buffers",
        build_cond_submodule_buffers,
        requires(COND),
        since=COND_SINCE,
    ),
    Case("cond", "buffer_mutation", build_cond_buffer_mutation, requires(COND), since=COND_SINCE),
    Case(
        "while_loop",
        "submodule",
        build_while_loop_submodule,
        requires(WHILE_LOOP),
        since=OLDEST_CHECKED,
    ),
    Case("scan", "rnn_cell", build_scan_rnn_cell, requires(SCAN), since=SCAN_SINCE),
    Case(
        "map",
        "submodule",
        build_map_submodule,
        requires(MAP),
        ops=("map_impl",),
        since=OLDEST_CHECKED,
    ),
)
