"""The project's own HOP cases, as data: one frozen row per (hop, variant), one module per theme.

Each row is a pattern users write (its builder's first doc line says which)
and names the oldest release whose public API it needs (``since``); the case
API is ``suites.cases``. The fourteen rows the catalogue began with keep
their ids, since reports compare rows across runs by id.
"""

from __future__ import annotations

from suites.cases import Case
from suites.catalog import attention, control_flow, modules, nesting, pytrees, subgraphs, wrappers

CATALOG: tuple[Case, ...] = (
    control_flow.CASES
    + nesting.CASES
    + pytrees.CASES
    + modules.CASES
    + subgraphs.CASES
    + attention.CASES
    + wrappers.CASES
)
