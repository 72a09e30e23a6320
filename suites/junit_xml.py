"""The one JUnit writer: suite results, env-error files and compat's merged report.

Standard library only (``xml.etree.ElementTree``): the suite runs it inside
every torch env, and compat imports it to write its own files.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from suites.schema import JUNIT_ELEMENT, SCHEMA_VERSION, Prop, Status, SuiteProp

ENV_CLASSNAME = "environment"  # the classname of an env-error file's one testcase
# What ET.tostring(encoding="utf-8", xml_declaration=True) writes first, spelled out because
# serialising to str and encoding once is faster than ET's own encoding writer.
_UTF8_DECLARATION = b"<?xml version='1.0' encoding='utf-8'?>\n"

# Torch messages sometimes hold ANSI colour codes: noise to every reader, so they go.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
# What XML 1.0 cannot carry at all; replaced, not dropped, so a reader sees that it was there.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """``text`` without ANSI escape sequences, XML-illegal characters replaced by U+FFFD."""
    return _XML_ILLEGAL.sub("\ufffd", _ANSI.sub("", text))


class Counts(NamedTuple):
    """A JUnit element's tests/failures/errors/skipped, rebuilt from its testcases."""

    tests: int
    failures: int
    errors: int
    skipped: int


def count_elements(statuses: Iterable[Status]) -> Counts:
    """How many of ``statuses`` a plain JUnit reader sees as failure, error and skipped."""
    # One C-level tally (a status hashes as its string, so a plain "fail" counts too).
    tally = collections.Counter(statuses)
    by_tag = {"failure": 0, "error": 0, "skipped": 0}
    for status, (tag, _) in JUNIT_ELEMENT.items():
        if tag is not None:
            by_tag[tag] += tally[status]
    return Counts(tally.total(), by_tag["failure"], by_tag["error"], by_tag["skipped"])


@dataclass(frozen=True)
class Testcase:
    """One ``<testcase>``; its result element follows from ``status`` (JUNIT_ELEMENT)."""

    __test__ = False  # not a pytest class, despite the name

    classname: str
    name: str
    status: Status
    seconds: float = 0.0
    properties: tuple[tuple[str, str], ...] = ()
    message: str = ""  # the result element's message attribute: one line
    detail: str = ""  # the result element's text


@dataclass(frozen=True)
class Testsuite:
    """One ``<testsuite>``: its name, its properties and its testcases."""

    __test__ = False  # not a pytest class, despite the name

    name: str
    properties: tuple[tuple[str, str], ...]
    cases: tuple[Testcase, ...]


def suite_name(target: str | None, torch_version: str | None) -> str:
    """``hop-suite[<target or torch version>]``: distinct per target, so merges keep them apart."""
    return f"hop-suite[{target or torch_version or 'unknown'}]"


def env_error_suite(target_id: str, message: str, build: str | None = None) -> Testsuite:
    """The suite of a target that could not be installed or imported: one env-error testcase."""
    props = [(SuiteProp.SCHEMA.value, SCHEMA_VERSION), (SuiteProp.TARGET.value, target_id)]
    if build is not None:
        props.append((SuiteProp.BUILD.value, build))
    case = Testcase(
        classname=ENV_CLASSNAME,
        name=f"install[{target_id}]",
        status=Status.ENV_ERROR,
        properties=(
            (Prop.STATUS.value, Status.ENV_ERROR.value),
            (Prop.ERROR_MESSAGE.value, message),
        ),
        message=message.partition("\n")[0],
        detail=message,
    )
    return Testsuite(suite_name(target_id, None), tuple(props), (case,))


def render_junit(suites: Sequence[Testsuite], name: str, *, indent: bool = True) -> bytes:
    """``<testsuites>`` of ``suites``, every count rebuilt from the testcases, UTF-8 bytes."""
    safe = _SafeText()
    with _gc_paused():
        root = ET.Element("testsuites", name=safe[name])
        for suite in suites:
            _add_suite(ET.SubElement(root, "testsuite"), suite, safe)
        _set_counts(root, [c for s in suites for c in s.cases])
        if indent:
            ET.indent(root)
        text = ET.tostring(root, encoding="unicode")
    return _UTF8_DECLARATION + text.encode("utf-8") + b"\n"


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic GC off for a while: a tree of elements has no cycles to find.

    A merged report has hundreds of thousands of elements, and the collector,
    run every few hundred of them, took over a quarter of the time to render them.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class _SafeText(dict[str, str]):
    """``xml_safe`` of each distinct text once: a big report repeats its values a lot."""

    def __missing__(self, text: str) -> str:
        safe = self[text] = xml_safe(text)
        return safe


def _set_counts(element: ET.Element, cases: Sequence[Testcase]) -> None:
    """tests/failures/errors/skipped/time of ``cases`` as ``element``'s attributes."""
    counts = count_elements(c.status for c in cases)
    element.set("tests", str(counts.tests))
    element.set("failures", str(counts.failures))
    element.set("errors", str(counts.errors))
    element.set("skipped", str(counts.skipped))
    element.set("time", f"{sum(c.seconds for c in cases):.3f}")


def _add_suite(element: ET.Element, suite: Testsuite, safe: _SafeText) -> None:
    """Fill an empty ``<testsuite>`` element with ``suite``."""
    element.set("name", safe[suite.name])
    _set_counts(element, suite.cases)
    _add_properties(element, suite.properties, safe)
    sub = ET.SubElement
    for case in suite.cases:
        node = sub(
            element,
            "testcase",
            {
                "classname": safe[case.classname],
                "name": safe[case.name],
                "time": f"{case.seconds:.3f}",
            },
        )
        _add_properties(node, case.properties, safe)
        tag, kind = JUNIT_ELEMENT[case.status]
        if tag is not None:
            # A reader needs a message: the status says at least what kind of result it is.
            message = case.message or case.status.value
            result = sub(node, tag, {"type": kind, "message": safe[message]})
            result.text = safe[case.detail] or None


def _add_properties(
    parent: ET.Element, properties: tuple[tuple[str, str], ...], safe: _SafeText
) -> None:
    """A ``<properties>`` child of ``parent``, unless there are none."""
    if properties:
        node = ET.SubElement(parent, "properties")
        for key, value in properties:
            ET.SubElement(node, "property", {"name": safe[key], "value": safe[value]})


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
