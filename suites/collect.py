"""Which cases and cells a run covers: sources, --hop filters, modes, devices."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence

from suites.cases import Case, load_catalog
from suites.schema import CellId, Device, Mode, Source


def load_source(source: Source, env: Mapping[str, str]) -> tuple[tuple[Case, ...], str | None]:
    """One source's cases, and the hop_db status when the source is upstream."""
    if source is Source.CATALOG:
        return load_catalog(env), None
    from suites.upstream import load_upstream  # costs seconds: only when asked for

    upstream = load_upstream()
    return upstream.cases, upstream.status


def matches(case: Case, patterns: Sequence[str]) -> bool:
    """Whether a --hop pattern (fnmatch) matches the hop or ``hop.variant``."""
    if not patterns:
        return True
    names = (case.hop, f"{case.hop}.{case.variant}")
    return any(fnmatch.fnmatchcase(n, p) for p in patterns for n in names)


def select(cases: Iterable[Case], patterns: Sequence[str]) -> tuple[Case, ...]:
    """The cases a --hop filter keeps, in order."""
    return tuple(c for c in cases if matches(c, patterns))


def plan(
    cases: Iterable[Case], modes: Sequence[Mode], devices: Sequence[Device]
) -> tuple[tuple[Case, tuple[CellId, ...]], ...]:
    """Every case with its cells, device-major then mode, in a stable order."""
    return tuple((c, tuple(c.cell(m, d) for d in devices for m in modes)) for c in cases)


def identifier(cell: CellId) -> str:
    """A valid Python identifier for a cell, e.g. for a generated test method."""
    parts = (cell.source, cell.hop, cell.variant, cell.mode, cell.device)
    return "test_" + "__".join(re.sub(r"\W+", "_", str(p)) for p in parts)
