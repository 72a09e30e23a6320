"""Report -> one merged JUnit file: a testsuite per target, behaviour tags as properties.

Each target's testsuite has its own name (JUnit tools merge suites that
compare equal) and the suite properties the target came with, so the file
reads back through ``compat.load`` as the same targets and cells. The XML
itself is written by the one JUnit writer, ``suites.junit_xml``.
"""

from __future__ import annotations

from compat.model import Cell, Facts, Report, TargetInfo
from suites import junit_xml
from suites.junit_xml import Testcase, Testsuite
from suites.schema import SCHEMA_VERSION, Prop, SuiteProp

SUITE_NAME = "torch-hop-compat[{target}]"
ROOT_NAME = "torch-hop-compat"


def render_junit(report: Report, _facts: Facts) -> str:
    """Every cell of every target, as suite-format JUnit."""
    by_target: dict[str, list[Testcase]] = {t.id: [] for t in report.targets}
    for row in report.rows:
        for cell in row.cells:
            by_target[cell.target].append(_testcase(cell))
    suites = [_suite(t, by_target[t.id]) for t in report.targets]
    return junit_xml.junit_document(suites, ROOT_NAME, indent=False).decode("utf-8")


def _testcase(cell: Cell) -> Testcase:
    props = cell.properties
    if cell.behaviours:
        props = (*props, (Prop.BEHAVIOURS.value, ",".join(cell.behaviours)))
    message = cell.message or ""
    first = message.splitlines()[0] if message else ""
    return Testcase(
        classname=cell.id.classname,
        name=cell.id.name,
        status=cell.status,
        seconds=cell.time,
        properties=props,
        message=first,
        detail=message if message != first else "",
    )


def _suite(target: TargetInfo, cases: list[Testcase]) -> Testsuite:
    props = dict(target.properties)
    props[SuiteProp.SCHEMA.value] = SCHEMA_VERSION
    props[SuiteProp.TARGET.value] = target.id
    props.setdefault(SuiteProp.BUILD.value, target.build)
    if target.env_error is not None:
        env = junit_xml.env_error_suite(target.id, target.env_error, target.build)
        cases = [*env.cases, *cases]
    return Testsuite(
        name=SUITE_NAME.format(target=target.id),
        properties=tuple(sorted(props.items())),
        cases=tuple(cases),
    )
