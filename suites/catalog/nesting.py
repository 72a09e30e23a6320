"""One HOP inside another: a branch that loops, a loop that branches, a map over a branch.

A case's hop is the outer HOP; ``ops`` names only its aliases, so a torch
without the inner one says which entry point is absent, not that the outer
HOP is registered under the inner one's name.
"""

from __future__ import annotations

from typing import Any

import torch

from suites.cases import Built, Case, Sample, module_of, requires
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


def build_while_loop_cond_in_body(device: str) -> Built:
    """A while_loop whose body branches with torch.cond on the carried state."""
    cond, while_loop = entry(COND), entry(WHILE_LOOP)

    def body(i: torch.Tensor, t: torch.Tensor) -> Any:
        return i - 1, cond(t.sum() > 0, lambda u: u * 0.5 - 1.0, lambda u: u + 1.0, (t,))

    def forward(it: torch.Tensor, x: torch.Tensor) -> Any:
        return while_loop(lambda i, t: i > 0, body, (it, x))

    return module_of(forward), (Sample((torch.tensor(5, device=device), randn(device, 3, 4))),)


def build_cond_while_loop_in_branch(device: str) -> Built:
    """A torch.cond whose true branch runs a while_loop, the other a plain op."""
    cond, while_loop = entry(COND), entry(WHILE_LOOP)

    def looped(i: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return while_loop(lambda j, u: j > 0, lambda j, u: (j - 1, u.cos()), (i, t))[1]

    def plain(i: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return t.sin()

    def forward(it: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return cond(x.sum() > 0, looped, plain, (it, x))

    it, x = torch.tensor(3, device=device), randn(device, 3, 4).abs() + 0.1
    return module_of(forward), (Sample((it, x)), Sample((it, -x)))


def _cumulative(h: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    nxt = h + x
    return nxt, nxt.clone()


def build_cond_scan_in_branch(device: str) -> Built:
    """A torch.cond whose true branch scans the sequence, the other flips it."""
    cond, scan = entry(COND), entry(SCAN)

    def scanned(t: torch.Tensor) -> torch.Tensor:
        return scan(_cumulative, torch.zeros_like(t[0]), t)[1]

    def forward(xs: torch.Tensor) -> torch.Tensor:
        return cond(xs.sum() > 0, scanned, lambda t: t.flip(0), (xs,))

    xs = randn(device, 4, 3, 2).abs() + 0.1
    return module_of(forward), (Sample((xs,)), Sample((-xs,)))


def build_map_cond_in_body(device: str) -> Built:
    """map over a batch where each example takes its own torch.cond branch."""
    cond, hop_map = entry(COND), entry(MAP)

    def per_example(x: torch.Tensor) -> torch.Tensor:
        return cond(x.sum() > 0, lambda t: t.cos(), lambda t: t.sin(), (x,))

    def forward(xs: torch.Tensor) -> torch.Tensor:
        return hop_map(per_example, xs)

    # Rows of both signs, so one call takes both branches.
    xs = randn(device, 4, 3).abs() + 0.1
    xs[1::2] *= -1
    return module_of(forward), (Sample((xs,)),)


def build_cond_nested(device: str) -> Built:
    """A torch.cond inside a branch of another torch.cond."""
    cond = entry(COND)

    def inner(t: torch.Tensor) -> torch.Tensor:
        return cond(t.mean() > 1.0, lambda u: u * 2.0, lambda u: u.cos(), (t,))

    def forward(x: torch.Tensor) -> torch.Tensor:
        return cond(x.sum() > 0, inner, lambda t: t.sin(), (x,))

    x = randn(device, 3, 4).abs() + 0.1
    # Every path: outer false, outer true with inner false, outer true with inner true.
    return module_of(forward), (Sample((-x,)), Sample((x.clamp(max=0.9),)), Sample((x + 2.0,)))


def build_scan_cond_in_combine(device: str) -> Built:
    """A scan whose combine step branches with torch.cond on the current input."""
    cond, scan = entry(COND), entry(SCAN)

    def combine(h: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        nxt = cond(x.sum() > 0, lambda a, b: a + b, lambda a, b: a * 0.5, (h, x))
        return nxt, nxt.clone()

    def forward(xs: torch.Tensor) -> Any:
        return scan(combine, torch.zeros_like(xs[0]), xs)

    return module_of(forward), (Sample((randn(device, 5, 3, 2),)),)


def build_while_loop_nested(device: str) -> Built:
    """A while_loop inside a while_loop body: a double loop, the inner one counted by the outer."""
    while_loop = entry(WHILE_LOOP)

    def inner(i: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return while_loop(lambda j, u: j > 0, lambda j, u: (j - 1, u * 0.9 + 0.1), (i, t))[1]

    def forward(it: torch.Tensor, x: torch.Tensor) -> Any:
        return while_loop(lambda i, t: i > 0, lambda i, t: (i - 1, inner(i, t)), (it, x))

    return module_of(forward), (Sample((torch.tensor(3, device=device), randn(device, 3, 4))),)


CASES: tuple[Case, ...] = (
    Case(
        "while_loop",
        "cond_in_body",
        build_while_loop_cond_in_body,
        requires(WHILE_LOOP, COND),
        since=OLDEST_CHECKED,
    ),
    Case(
        "cond",
        "while_loop_in_branch",
        build_cond_while_loop_in_branch,
        requires(COND, WHILE_LOOP),
        since=OLDEST_CHECKED,
    ),
    Case(
        "cond",
        "scan_in_branch",
        build_cond_scan_in_branch,
        requires(COND, SCAN),
        since=SCAN_SINCE,
    ),
    Case(
        "map",
        "cond_in_body",
        build_map_cond_in_body,
        requires(MAP, COND),
        ops=("map_impl",),
        since=OLDEST_CHECKED,
    ),
    Case("cond", "nested", build_cond_nested, requires(COND), since=COND_SINCE),
    Case(
        "scan",
        "cond_in_combine",
        build_scan_cond_in_combine,
        requires(SCAN, COND),
        since=SCAN_SINCE,
    ),
    Case(
        "while_loop",
        "nested",
        build_while_loop_nested,
        requires(WHILE_LOOP),
        since=OLDEST_CHECKED,
    ),
)
