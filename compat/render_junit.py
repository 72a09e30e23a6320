"""Report -> one merged JUnit file: a testsuite per target, behaviour tags as properties.

Each target's testsuite has its own name (JUnit tools merge suites that
compare equal) and the suite properties the target came with, so the file
reads back through ``compat.load`` as the same targets and cells.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterator
from typing import NamedTuple

from compat.facts import report_index
from compat.junit import (
    CaseColumns,
    CaseText,
    SuiteOut,
    count_elements,
    env_error_case,
    iter_junit,
)
from compat.model import Cell, Report, TargetInfo
from suites.schema import SCHEMA_VERSION, Prop, Status, SuiteProp

SUITE_NAME = "torch-hop-compat[{target}]"


def iter_junit_report(report: Report) -> Iterator[str]:
    """The merged JUnit in pieces (one testsuite each), for streaming to a file.

    Each testcase is written as its row's head, its time and its result's tail:
    heads are formatted once per cell id, tails once per distinct result, and
    each target's suite is gathered from the rows in C-level passes.
    """
    index = report_index(report)
    text = CaseText()
    tails = [text.tail(c.status, c.message, _tagged(c)) for c in index.results]
    rows = [
        _Row(
            text.head(cell_id.classname, cell_id.name),
            index.result_of[id(cell_id)],
            index.times[id(cell_id)],
            None if id(cell_id) in index.complete else _positions(index.targets[id(cell_id)]),
        )
        for cell_id in index.groups
    ]
    statuses = [r.status for r in index.results]
    runs = _runs(rows)
    env_errors = [Status.ENV_ERROR for t in report.targets if t.env_error is not None]
    every = map(statuses.__getitem__, itertools.chain.from_iterable(index.result_of.values()))
    totals = count_elements(itertools.chain(every, env_errors))
    suites = (
        _suite(t, _columns(t.id, column, runs, tails, statuses), text)
        for column, t in enumerate(report.targets)
    )
    return iter_junit(suites, totals)


class _Row(NamedTuple):
    head: str
    results: list[int]
    times: list[float]
    # target -> its cells' positions; None where the row has a cell per target in column order
    positions: dict[str, list[int]] | None


def _positions(targets: list[str]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for position, target in enumerate(targets):
        out.setdefault(target, []).append(position)
    return out


class _Run(NamedTuple):
    """Consecutive complete rows, turned into columns (one C-level pass each), or one
    other row (``row``; then ``results`` and ``times`` are None)."""

    heads: list[str]
    results: list[tuple[int, ...]] | None  # per target column: its results in row order
    times: list[tuple[float, ...]] | None
    row: _Row | None


def _runs(rows: list[_Row]) -> list[_Run]:
    """Rows in order, as runs of complete rows and single other rows."""
    runs: list[_Run] = []
    for complete, group in itertools.groupby(rows, lambda row: row.positions is None):
        if complete:
            run = list(group)
            runs.append(
                _Run(
                    list(map(_HEAD, run)),
                    list(zip(*map(_RESULTS, run), strict=True)),
                    list(zip(*map(_TIMES, run), strict=True)),
                    None,
                )
            )
        else:
            runs.extend(_Run([row.head], None, None, row) for row in group)
    return runs


def _columns(
    target: str, column: int, runs: list[_Run], tails: list[str], statuses: list[Status]
) -> CaseColumns:
    """One target's testcases, in cell id order (``tails``, ``statuses``: per result)."""
    heads: list[str] = []
    results: list[int] = []
    times: list[float] = []
    for run in runs:
        if run.row is None:
            assert run.results is not None and run.times is not None
            heads.extend(run.heads)
            results.extend(run.results[column])
            times.extend(run.times[column])
            continue
        row = run.row
        assert row.positions is not None
        for position in row.positions.get(target, ()):
            heads.append(row.head)
            results.append(row.results[position])
            times.append(row.times[position])
    return CaseColumns(
        heads,
        times,
        list(map(tails.__getitem__, results)),
        list(map(statuses.__getitem__, results)),
    )


_HEAD = operator.attrgetter("head")
_RESULTS = operator.attrgetter("results")
_TIMES = operator.attrgetter("times")


def _tagged(cell: Cell) -> tuple[tuple[str, str], ...]:
    """A cell's properties, with its behaviour tags."""
    if not cell.behaviours:
        return cell.properties
    return (*cell.properties, (Prop.BEHAVIOURS.value, ",".join(cell.behaviours)))


def _suite(target: TargetInfo, cases: CaseColumns, text: CaseText) -> SuiteOut:
    props = dict(target.properties)
    props[SuiteProp.SCHEMA.value] = SCHEMA_VERSION
    props[SuiteProp.TARGET.value] = target.id
    props.setdefault(SuiteProp.BUILD.value, target.build)
    if target.env_error is not None:
        env = env_error_case(target.id, target.env_error)
        cases = CaseColumns(
            [text.head(env.classname, env.name), *cases.heads],
            [env.time, *cases.times],
            [text.tail(env.status, env.message, env.properties), *cases.tails],
            [env.status, *cases.statuses],
        )
    return SuiteOut(
        name=SUITE_NAME.format(target=target.id),
        properties=tuple(sorted(props.items())),
        cases=cases,
    )


def render_junit(report: Report) -> str:
    """Every cell of every target, as suite-format JUnit."""
    return "".join(iter_junit_report(report))
