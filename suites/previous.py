"""The outcomes of an earlier run of a target, read back from its JUnit file.

Standard library only. The runner runs a cell again when its outcome differs
from the earlier run's, to tell a change in torch from a flaky cell.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from suites.schema import CellId, Prop, SuiteProp


def outcome(status: str, signature: str | None) -> str:
    """One cell's outcome as compared between runs: ``status`` or ``status: signature``."""
    return f"{status}: {signature}" if signature else status


def load_outcomes(path: Path | None, torch_version: str) -> dict[CellId, str]:
    """Per cell, its outcome in the file at ``path``; empty when absent, unreadable or foreign.

    A file written by another torch says nothing about this one's flakiness.
    """
    if path is None or not path.is_file():
        return {}
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError):
        return {}
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    if suite is None or _props(suite).get(SuiteProp.TORCH_VERSION) != torch_version:
        return {}
    out: dict[CellId, str] = {}
    for case in suite.iterfind("testcase"):
        props = _props(case)
        try:
            cell = CellId.from_junit(case.get("classname", ""), case.get("name", ""))
        except ValueError:
            continue
        if Prop.STATUS in props:
            out[cell] = outcome(props[Prop.STATUS], props.get(Prop.SIGNATURE))
    return out


def _props(element: ET.Element) -> dict[str, str]:
    found = element.iterfind("properties/property")
    return {p.get("name", ""): p.get("value", "") for p in found}
