"""Render cell results as JUnit XML (stdlib only) and write the file atomically."""

from __future__ import annotations

import os
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from suites.results import CellResult
from suites.schema import JUNIT_ELEMENT

# XML 1.0 cannot carry most control characters; torch messages sometimes hold
# ANSI colour codes, so those go first, then any stray control character.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    return _ILLEGAL.sub("", _ANSI.sub("", text))


def suite_name(target: str | None, torch_version: str | None) -> str:
    """``hop-suite[<target or torch version>]``: distinct per target, so merges keep them apart."""
    return f"hop-suite[{target or torch_version or 'unknown'}]"


def counts(results: Sequence[CellResult]) -> dict[str, str]:
    """tests/failures/errors/skipped/time, rebuilt from the cells."""
    elements = [JUNIT_ELEMENT[r.status][0] for r in results]
    return {
        "tests": str(len(results)),
        "failures": str(elements.count("failure")),
        "errors": str(elements.count("error")),
        "skipped": str(elements.count("skipped")),
        "time": f"{sum(r.seconds for r in results):.3f}",
    }


def render_junit(name: str, properties: Mapping[str, str], results: Sequence[CellResult]) -> bytes:
    """One <testsuite> of one <testcase> per cell, inside <testsuites>."""
    root = ET.Element("testsuites", {"name": name, **counts(results)})
    suite = ET.SubElement(root, "testsuite", {"name": name, **counts(results)})
    _properties(suite, properties.items())
    for result in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=result.cell.classname,
            name=result.cell.name,
            time=f"{result.seconds:.3f}",
        )
        _properties(case, result.properties)
        element, kind = JUNIT_ELEMENT[result.status]
        if element is not None:
            child = ET.SubElement(case, element, type=kind, message=_clean(result.message))
            child.text = _clean(result.detail) or None
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _properties(parent: ET.Element, items: Iterable[tuple[str, str]]) -> None:
    node = ET.SubElement(parent, "properties")
    for key, value in items:
        ET.SubElement(node, "property", name=str(key), value=_clean(str(value)))


def write_junit(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a reader sees the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
