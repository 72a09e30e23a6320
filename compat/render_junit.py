"""Report -> one merged JUnit file: a testsuite per target, behaviour tags as properties.

Each target's testsuite has its own name (JUnit tools merge suites that
compare equal) and the suite properties the target came with, so the file
reads back through ``compat.load`` as the same targets and cells.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator

from compat.facts import group_by_cell
from compat.junit import CaseOut, SuiteOut, count_elements, env_error_case, iter_junit
from compat.model import Cell, Report, TargetInfo
from suites.schema import SCHEMA_VERSION, Prop, Status, SuiteProp

SUITE_NAME = "torch-hop-compat[{target}]"


def _case(cell: Cell, names: dict[int, tuple[str, str]]) -> CaseOut:
    props = cell.properties
    if cell.behaviours:
        props = (*props, (Prop.BEHAVIOURS.value, ",".join(cell.behaviours)))
    classname, name = names[id(cell.id)]
    return CaseOut(classname, name, cell.status, cell.message, props, cell.time)


def iter_junit_report(report: Report) -> Iterator[str]:
    """The merged JUnit in pieces (one testsuite each), for streaming to a file."""
    by_target: dict[str, list[Cell]] = defaultdict(list)
    for cell in report.cells:
        by_target[cell.target].append(cell)
    env_errors = [Status.ENV_ERROR for t in report.targets if t.env_error is not None]
    totals = count_elements(itertools.chain((c.status for c in report.cells), env_errors))
    # classname/name per CellId object (alive in the report while this runs): an
    # address hashes far faster than a CellId, and 500k cells share a few thousand ids.
    names: dict[int, tuple[str, str]] = {}
    for cell_id, cells in group_by_cell(report.cells).items():
        pair = (cell_id.classname, cell_id.name)
        names.update((id(c.id), pair) for c in cells)
    return iter_junit((_suite(t, by_target[t.id], names) for t in report.targets), totals)


def _suite(target: TargetInfo, cells: list[Cell], names: dict[int, tuple[str, str]]) -> SuiteOut:
    props = dict(target.properties)
    props[SuiteProp.SCHEMA.value] = SCHEMA_VERSION
    props[SuiteProp.TARGET.value] = target.id
    props.setdefault(SuiteProp.BUILD.value, target.build)
    cases = [_case(c, names) for c in cells]
    if target.env_error is not None:
        cases.insert(0, env_error_case(target.id, target.env_error))
    return SuiteOut(
        name=SUITE_NAME.format(target=target.id),
        properties=tuple(sorted(props.items())),
        cases=cases,
    )


def render_junit(report: Report) -> str:
    """Every cell of every target, as suite-format JUnit."""
    return "".join(iter_junit_report(report))
