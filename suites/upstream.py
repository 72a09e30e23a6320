"""Cases from the installed torch's own ``torch.testing._internal.hop_db``.

Samples are made exactly as the seed makes them. The op infos' decorators
(``onlyCUDA``, ``DecorateInfo(unittest.expectedFailure, "TestHOP", ...)``,
skips) and dtype support are read into an expectation string that is
recorded beside the raw outcome; they never stop a cell from running.
"""

from __future__ import annotations

import functools
import importlib
import re
import unittest
from dataclasses import dataclass
from typing import Any

import torch

from suites.cases import Built, Case, Sample, module_of
from suites.schema import EXPECT_SKIP_TOKENS, EXPECT_XFAIL_TOKEN, Device, Mode, Source

HOP_DB_MODULE = "torch.testing._internal.hop_db"
# Renamed with a FIXME_ prefix in 2.7; the first name that exists wins.
ALLOWLIST_NAMES = (
    "FIXME_hop_that_doesnt_have_opinfo_test_allowlist",
    "hop_that_doesnt_have_opinfo_test_allowlist",
)
SEED_CLASS = "TestHOP"
# The seed's test method per mode; DecorateInfo entries target these names.
SEED_TESTS: dict[Mode, str] = {
    Mode.AOT: "test_aot_export",
    # upstream's test_aot_export calls strict export today: its decorators are strict's too
    Mode.STRICT: "test_aot_export",
    Mode.PRE_DISPATCH: "test_pre_dispatch_export",
    Mode.RETRACE: "test_retrace_export",
    Mode.SERIALIZE: "test_serialize_export",
}
IMPORTABLE = "importable"

# Expectation tokens (suites.schema): upstream would not run the test at all, or an xfail.
SKIP_TOKENS, XFAIL_TOKEN = EXPECT_SKIP_TOKENS, EXPECT_XFAIL_TOKEN


@dataclass(frozen=True)
class Upstream:
    """hop_db's cases, and whether it could be imported (the HOP_DB suite property)."""

    cases: tuple[Case, ...]
    status: str


def load_upstream() -> Upstream:
    """The hop_db cases not on its allowlist, or none with the reason."""
    try:
        hop_db = importlib.import_module(HOP_DB_MODULE)
    except Exception as exc:  # it needs numpy, expecttest, ...: any failure is a fact
        first = (str(exc).strip().splitlines() or [""])[0]
        return Upstream((), f"unavailable: {type(exc).__name__}: {first}".rstrip(": "))
    allowlist = next((getattr(hop_db, n) for n in ALLOWLIST_NAMES if hasattr(hop_db, n)), ())
    cases: list[Case] = []
    seen: set[tuple[str, str]] = set()
    ops_before: dict[tuple[str, str], int] = {}  # (name, variant) -> op infos so far
    for op in hop_db.hop_db:
        key = (op.name, op.variant_test_name or "")
        index = ops_before[key] = ops_before.get(key, -1) + 1
        if op.name in allowlist:
            continue
        hop, variant = _safe(op.name), _safe(op.variant_test_name or "default")
        if (hop, variant) in seen:  # two op infos under one name: keep both, apart
            variant = f"{variant}_{sum(1 for h, _ in seen if h == hop)}"
        seen.add((hop, variant))
        cases.append(
            Case(
                hop,
                variant,
                OpInfoBuild(op, index),
                source=Source.UPSTREAM,
                expectation=functools.partial(expectation, op),
            )
        )
    return Upstream(tuple(cases), IMPORTABLE)


def _safe(name: str) -> str:
    # Cell ids use '.', '/' and ':' as separators.
    return re.sub(r"[./:\s]+", "_", name)


@dataclass(frozen=True, eq=False)
class OpInfoBuild:
    """Builds one hop_db op info's case; its ``__doc__`` (``Case.pattern``) names the op info."""

    op: Any
    # Which op info of its name and variant in hop_db's order, from 0 (a repro selects it so).
    index: int = 0

    def __post_init__(self) -> None:
        variant = f", variant {self.op.variant_test_name}" if self.op.variant_test_name else ""
        doc = f"hop_db's op info {self.op.name}{variant}: its float32 sample inputs"
        object.__setattr__(self, "__doc__", doc)

    def __call__(self, device: str) -> Built:
        return build(self.op, device)


def build(op: Any, device: str) -> Built:
    """The seed's model and samples: float32, requires_grad=True, input splatted first."""
    samples = []
    for inp in op.sample_inputs(device, torch.float32, requires_grad=True):
        head = inp.input if isinstance(inp.input, tuple) else (inp.input,)
        samples.append(Sample((*head, *inp.args), inp.kwargs))
    return module_of(op.op), tuple(samples)


def expectation(op: Any, mode: Mode, device: Device) -> str:
    """What upstream's own test would expect of this cell, as comma-separated tokens."""
    try:
        return _expectation(op, mode, device)
    except Exception as exc:  # op info internals differ by release; never lose the cell
        return f"unknown ({type(exc).__name__})"


def _expectation(op: Any, mode: Mode, device: Device) -> str:
    tokens: list[str] = []
    if torch.float32 not in op.supported_dtypes(device.value):
        tokens.append(f"no-float32-on-{device}")  # the test is never instantiated
    test_name = SEED_TESTS.get(mode, f"test_{mode}_export")
    for deco in op.decorators or ():
        if not hasattr(deco, "is_active"):  # a plain decorator applies to every test
            tokens.append(_describe(deco, device))
        elif _is_active(deco, test_name, device):  # a DecorateInfo
            tokens.extend(_describe(d, device) for d in deco.decorators)
    return ", ".join(dict.fromkeys(t for t in tokens if t))


def _is_active(info: Any, test_name: str, device: Device) -> bool:
    try:
        return bool(info.is_active(SEED_CLASS, test_name, device.value, torch.float32, {}))
    except TypeError:  # older DecorateInfo without param_kwargs
        return bool(info.is_active(SEED_CLASS, test_name, device.value, torch.float32))


def _describe(decorator: Any, device: Device) -> str:
    """One token for one decorator, or '' when it does not affect this device."""
    if decorator is unittest.expectedFailure:
        return XFAIL_TOKEN
    name = getattr(decorator, "__name__", type(decorator).__name__)
    if name.startswith("only"):
        allowed = getattr(decorator, "device_type", None) or name[len("only") :].lower()
        allowed_set = {allowed} if isinstance(allowed, str) else set(allowed)
        return "" if device.value in allowed_set else name
    qualname = getattr(decorator, "__qualname__", "")
    if qualname.startswith("skip"):
        cells = getattr(decorator, "__closure__", None) or ()
        reason = next((c.cell_contents for c in cells if isinstance(c.cell_contents, str)), "")
        return f"skip: {reason}".replace(",", ";").rstrip(": ")
    return name
