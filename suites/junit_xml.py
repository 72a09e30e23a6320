"""The one JUnit writer: suite results, env-error files and compat's merged report.

Standard library only (``xml.sax.saxutils.XMLGenerator``, which streams: a
merged report of 30k testcases is never held as a tree): the suite runs it
inside every torch env, and compat imports it to write its own files.
"""

from __future__ import annotations

import collections
import io
import os
import re
import socket
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple
from xml.sax.saxutils import XMLGenerator
from xml.sax.xmlreader import AttributesImpl

from suites.schema import JUNIT_ELEMENT, SCHEMA_VERSION, Prop, Status, SuiteProp
from suites.scrub import scrub_credentials

ENV_CLASSNAME = "environment"  # the classname of an env-error file's one testcase

# Torch messages sometimes hold ANSI colour codes: noise to every reader, so they go.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
# What XML 1.0 cannot carry at all; replaced, not dropped, so a reader sees that it was there.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """``text`` without ANSI escape sequences, XML-illegal characters replaced by U+FFFD."""
    if _XML_ILLEGAL.search(text) is None:  # almost every text (an ANSI escape is illegal too)
        return text
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
    # JUnit's own attributes for when and where it ran (Provenance); "" leaves one out.
    timestamp: str = ""
    hostname: str = ""


@dataclass(frozen=True)
class Provenance:
    """When and where a suite ran: the run_date and host suite properties."""

    run_date: str  # UTC, ISO-8601 to the second: 2026-11-30T00:21:29+00:00
    host: str  # socket.gethostname()

    @classmethod
    def now(cls) -> Provenance:
        """This moment, on this machine."""
        return cls(datetime.now(UTC).isoformat(timespec="seconds"), socket.gethostname())

    def properties(self) -> tuple[tuple[str, str], ...]:
        """``run_date`` and ``host`` as suite properties (an empty one left out)."""
        pairs = ((SuiteProp.RUN_DATE.value, self.run_date), (SuiteProp.HOST.value, self.host))
        return tuple((k, v) for k, v in pairs if v)


def junit_timestamp(run_date: str) -> str:
    """``run_date`` as JUnit's ``timestamp`` attribute: UTC without a zone, the schema's form.

    "" when ``run_date`` is not an ISO-8601 date and time (the attribute is then left out).
    """
    try:
        when = datetime.fromisoformat(run_date)
    except ValueError:
        return ""
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S")


def stamped(suite: Testsuite) -> Testsuite:
    """``suite`` with JUnit's timestamp and hostname taken from its run_date and host."""
    props = dict(suite.properties)
    timestamp = junit_timestamp(props.get(SuiteProp.RUN_DATE.value, ""))
    return replace(suite, timestamp=timestamp, hostname=props.get(SuiteProp.HOST.value, ""))


def suite_name(target: str | None, torch_version: str | None) -> str:
    """``hop-suite[<target or torch version>]``: distinct per target, so merges keep them apart."""
    return f"hop-suite[{target or torch_version or 'unknown'}]"


def env_error_suite(
    target_id: str,
    message: str,
    build: str | None = None,
    provenance: Provenance | None = None,
) -> Testsuite:
    """The suite of a target that could not be installed or imported: one env-error testcase.

    Every value is scrubbed here, the one place env-error files are made: the message
    quotes install logs, and ``--build`` or the id may be written by hand with a URL.
    ``provenance`` defaults to now, on this machine: the install failed just before.
    """
    target_id, message = scrub_credentials(target_id), scrub_credentials(message)
    build = None if build is None else scrub_credentials(build)
    props = [(SuiteProp.SCHEMA.value, SCHEMA_VERSION), (SuiteProp.TARGET.value, target_id)]
    if build is not None:
        props.append((SuiteProp.BUILD.value, build))
    props.extend((provenance or Provenance.now()).properties())
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
    return stamped(Testsuite(suite_name(target_id, None), tuple(props), (case,)))


def junit_document(suites: Sequence[Testsuite], name: str, *, indent: bool = True) -> bytes:
    """``<testsuites>`` of ``suites``, every count rebuilt from the testcases, UTF-8 bytes."""
    out = io.StringIO()
    xml = XMLGenerator(out, encoding="utf-8", short_empty_elements=True)

    def pad(depth: int) -> None:
        if indent:
            xml.ignorableWhitespace("\n" + "  " * depth)

    xml.startDocument()
    cases = [case for suite in suites for case in suite.cases]
    xml.startElement("testsuites", AttributesImpl({"name": xml_safe(name), **_counts(cases)}))
    for suite in suites:
        pad(1)
        attrs = {"name": xml_safe(suite.name), **_counts(suite.cases)}
        attrs.update(
            (key, xml_safe(value))
            for key, value in (("timestamp", suite.timestamp), ("hostname", suite.hostname))
            if value
        )
        xml.startElement("testsuite", AttributesImpl(attrs))
        _write_properties(xml, suite.properties, 2, pad)
        for case in suite.cases:
            pad(2)
            _write_testcase(xml, case, pad)
        if suite.properties or suite.cases:
            pad(1)
        xml.endElement("testsuite")
    if suites:
        pad(0)
    xml.endElement("testsuites")
    xml.endDocument()
    return out.getvalue().encode("utf-8") + b"\n"


def _counts(cases: Sequence[Testcase]) -> dict[str, str]:
    """tests/failures/errors/skipped/time of ``cases``, as attributes."""
    counts = count_elements(c.status for c in cases)
    return {
        "tests": str(counts.tests),
        "failures": str(counts.failures),
        "errors": str(counts.errors),
        "skipped": str(counts.skipped),
        "time": f"{sum(c.seconds for c in cases):.3f}",
    }


def _write_testcase(xml: XMLGenerator, case: Testcase, pad: Callable[[int], None]) -> None:
    attrs = {
        "classname": xml_safe(case.classname),
        "name": xml_safe(case.name),
        "time": f"{case.seconds:.3f}",
    }
    xml.startElement("testcase", AttributesImpl(attrs))
    _write_properties(xml, case.properties, 3, pad)
    tag, kind = JUNIT_ELEMENT[case.status]
    if tag is not None:
        pad(3)
        # A reader needs a message: the status says at least what kind of result it is.
        message = case.message or case.status.value
        xml.startElement(tag, AttributesImpl({"type": kind, "message": xml_safe(message)}))
        if case.detail:
            xml.characters(xml_safe(case.detail))
        xml.endElement(tag)
    if case.properties or tag is not None:
        pad(2)
    xml.endElement("testcase")


def _write_properties(
    xml: XMLGenerator,
    properties: tuple[tuple[str, str], ...],
    depth: int,
    pad: Callable[[int], None],
) -> None:
    """A ``<properties>`` element at ``depth``, unless there are none."""
    if not properties:
        return
    pad(depth)
    xml.startElement("properties", AttributesImpl({}))
    for key, value in properties:
        pad(depth + 1)
        attrs = {"name": xml_safe(key), "value": xml_safe(value)}
        xml.startElement("property", AttributesImpl(attrs))
        xml.endElement("property")
    pad(depth)
    xml.endElement("properties")


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
