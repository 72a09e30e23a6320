"""The case API: what a HOP case is (a frozen row), and the planted rows of the suite's tests.

The project's own rows live in ``suites.catalog``, one module per theme;
users' case modules build theirs with the same API. Each row is written
against a HOP's public-ish entry point and gated on that entry point
existing, so one row means the same thing in every torch 2.x version; where
it is absent, every cell of the row is ``missing`` (``suites.gaps`` says
whether the HOP itself is registered there).

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
        return tuple(dotted(s) for s in self.specs if resolve_spec(s) is None)


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


def resolve_spec(spec: str) -> Any:
    """``module:attr``, or the first of ``module:attr|module:attr`` (renamed entry points)."""
    for alternative in spec.split("|"):
        found = resolve_entry(*alternative.split(":"))
        if found is not None:
            return found
    return None


def requires(*specs: str) -> Requires:
    """The availability of a case: every entry point spec must resolve."""
    return Requires(specs)


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
    from suites.catalog import CATALOG  # the catalogue's modules import this one

    # Planted rows go first, so a test sees real cases run after the hang and the crash.
    counter = env.get(PLANTED_FLAKY_ENV)
    flaky = functools.partial(build_planted_flaky, counter=counter) if counter else None
    first = (Case("_planted_flaky", "alternate", flaky),) if flaky else ()
    return first + (planted(env) if env.get(PLANTED_ENV) == "1" else ()) + CATALOG
