"""Report -> one merged JUnit file: a testsuite per target, behaviour tags as properties.

Each target's testsuite has its own name (JUnit tools merge suites that
compare equal) and the suite properties the target came with, so the file
reads back through ``compat.load`` as the same targets and cells.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterator

from compat.facts import report_groups
from compat.junit import CaseOut, SuiteOut, count_elements, env_error_case, iter_junit
from compat.model import Report, TargetInfo
from suites.schema import SCHEMA_VERSION, Prop, Status, SuiteProp

SUITE_NAME = "torch-hop-compat[{target}]"


_new_tuple = tuple.__new__


def iter_junit_report(report: Report) -> Iterator[str]:
    """The merged JUnit in pieces (one testsuite each), for streaming to a file."""
    by_target: dict[str, list[CaseOut]] = {t.id: [] for t in report.targets}
    # Properties with the behaviour tags added, one tuple per distinct pair: the writer
    # then finds each block by the tuple's address.
    tagged: dict[tuple[int, tuple[str, ...]], tuple[tuple[str, str], ...]] = {}
    for cell_id, cells in report_groups(report).items():
        classname, name = cell_id.classname, cell_id.name
        for cell in cells:
            props = cell.properties
            if cell.behaviours:
                key = (id(props), cell.behaviours)
                got = tagged.get(key)
                if got is None:
                    tags = (Prop.BEHAVIOURS.value, ",".join(cell.behaviours))
                    got = tagged[key] = (*props, tags)
                props = got
            case = (classname, name, cell.status, cell.message, props, cell.time)
            by_target.setdefault(cell.target, []).append(_new_tuple(CaseOut, case))
    env_errors = [Status.ENV_ERROR for t in report.targets if t.env_error is not None]
    totals = count_elements(itertools.chain(map(_STATUS, report.cells), env_errors))
    return iter_junit((_suite(t, by_target[t.id]) for t in report.targets), totals)


_STATUS = operator.attrgetter("status")


def _suite(target: TargetInfo, cases: list[CaseOut]) -> SuiteOut:
    props = dict(target.properties)
    props[SuiteProp.SCHEMA.value] = SCHEMA_VERSION
    props[SuiteProp.TARGET.value] = target.id
    props.setdefault(SuiteProp.BUILD.value, target.build)
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
