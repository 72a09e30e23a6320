"""Which cases and cells a run covers: sources, --hop and --case filters, modes, devices."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence

from suites.cases import Case, load_catalog
from suites.schema import CellId, Device, Mode, Source, SuiteProp

# The suite property that says whether a source could be loaded, and if not why.
STATUS_PROPS: Mapping[Source, SuiteProp] = {
    Source.UPSTREAM: SuiteProp.HOP_DB,
    Source.EXPORTDB: SuiteProp.EXPORTDB,
}


def load_source(
    source: Source,
    env: Mapping[str, str],
    case_modules: Sequence[str] = (),
    case_path: Sequence[str] = (),
) -> tuple[tuple[Case, ...], str | None]:
    """One source's cases, and its status (STATUS_PROPS) where it has one.

    The user source raises ``suites.user.CaseModuleError`` for a broken case module.
    """
    if source is Source.CATALOG:
        return load_catalog(env), None
    if source is Source.USER:
        from suites.user import load_user

        return load_user(case_modules, case_path), None
    if source is Source.EXPORTDB:
        from suites.exportdb import load_exportdb

        exportdb = load_exportdb()
        return exportdb.cases, exportdb.status
    from suites.upstream import load_upstream  # costs seconds: only when asked for

    upstream = load_upstream()
    return upstream.cases, upstream.status


def matches(case: Case, patterns: Sequence[str]) -> bool:
    """Whether a --hop pattern (fnmatch) matches the hop or ``hop.variant``."""
    if not patterns:
        return True
    names = (case.hop, f"{case.hop}.{case.variant}")
    return any(fnmatch.fnmatchcase(n, p) for p in patterns for n in names)


def case_matches(case: Case, patterns: Sequence[str]) -> bool:
    """Whether a --case pattern (fnmatch) matches ``source:hop.variant``, ``hop.variant`` or hop."""
    if not patterns:
        return True
    names = (case.id, case.hop, f"{case.hop}.{case.variant}")
    return any(fnmatch.fnmatchcase(n, p) for p in patterns for n in names)


def select(
    cases: Iterable[Case], patterns: Sequence[str], case_patterns: Sequence[str] = ()
) -> tuple[Case, ...]:
    """The cases both filters keep (--hop ``patterns``, --case ``case_patterns``), in order."""
    return tuple(c for c in cases if matches(c, patterns) and case_matches(c, case_patterns))


def plan(
    cases: Iterable[Case], modes: Sequence[Mode], devices: Sequence[Device]
) -> tuple[tuple[Case, tuple[CellId, ...]], ...]:
    """Every case with its cells, device-major then mode, in a stable order."""
    return tuple((c, tuple(c.cell(m, d) for d in devices for m in modes)) for c in cases)


def describe_case(case: Case) -> str:
    """One line of ``--list``: the case id, its oldest release and its pattern sentence."""
    since = f"since {case.since or '-'}"  # "-": the case states none
    return "  ".join(part for part in (case.id, since, case.pattern) if part)


def identifier(cell: CellId) -> str:
    """A valid Python identifier for a cell, e.g. for a generated test method."""
    parts = (cell.source, cell.hop, cell.variant, cell.mode, cell.device)
    return "test_" + "__".join(re.sub(r"\W+", "_", str(p)) for p in parts)
