"""Where a target's results come from: the file, what wrote it, when and on which host.

Carried in ``TargetInfo.properties``, beside the suite properties, so that the
merged junit.xml keeps it too. The suite states its version, run date and host
as suite properties; any JUnit file may carry the standard testsuite
attributes ``timestamp`` and ``hostname`` (pytest writes both), which
``file_properties`` adds under names of their own, with what a foreign file
is and how its target was named. ``resolve_provenance`` is what the
renderers show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from compat.model import TargetInfo
from suites.schema import SuiteProp

# The suite's own run properties (SuiteProp.RUN_DATE and SuiteProp.HOST in suites that
# write them; read by name, so files of suites that predate them read as well).
RUN_DATE = "run_date"
HOST = "host"
# Added by compat while reading a file.
FORMAT = "format"  # "pytest": a foreign file; its cells hold only what pytest records
PYTEST = "pytest"
JUNIT_TIMESTAMP = "junit_timestamp"  # the <testsuite timestamp=...> attribute
JUNIT_HOSTNAME = "junit_hostname"  # the <testsuite hostname=...> attribute
TESTCASES = "testcases"  # a foreign file's pytest outcomes, counted from its testcases
TARGET_FROM = "target_from"  # where the target id came from

# What TARGET_FROM says, by how the id was found (see compat.build._place).
FROM_COMMAND_LINE = "--target"
FROM_FILE = "the file's target property"
FROM_TORCH_VERSION = "the file's torch_version"


def file_properties(
    attributes: Mapping[str, str], target_from: str, pytest_outcomes: str | None
) -> dict[str, str]:
    """What compat adds to a file's suite properties; ``pytest_outcomes`` only for foreign files."""
    props = {TARGET_FROM: target_from}
    for attribute, key in (("timestamp", JUNIT_TIMESTAMP), ("hostname", JUNIT_HOSTNAME)):
        if attributes.get(attribute):
            props[key] = attributes[attribute]
    if pytest_outcomes is not None:
        props[FORMAT] = PYTEST
        props[TESTCASES] = pytest_outcomes
    return props


def is_foreign(target: TargetInfo) -> bool:
    """Whether a target's cells come from pytest's JUnit, not from the suite."""
    return dict(target.properties).get(FORMAT) == PYTEST


@dataclass(frozen=True)
class Provenance:
    """One target's origin as the reports show it; "" where the file says nothing."""

    made_by: str  # "suite 0.1.0", "pytest JUnit (44 tests: 35 passed, 9 xfailed)"
    run_date: str  # UTC ISO-8601 where the file gives a zone, else as given
    host: str
    source_file: str
    torch: str  # the torch version as reported, else the target's and where it came from


def resolve_provenance(target: TargetInfo) -> Provenance:
    props = dict(target.properties)
    if is_foreign(target):
        outcomes = props.get(TESTCASES, "")
        made_by = f"pytest JUnit ({outcomes})" if outcomes else "pytest JUnit"
    else:
        version = props.get(SuiteProp.SUITE_VERSION)
        made_by = f"suite {version}" if version else "suite-format JUnit"
    torch = target.torch_version
    if not torch and target.env_error is None:  # a target not installed has no torch
        given = props.get(TARGET_FROM)
        torch = f"{target.version} (from {given})" if given else str(target.version)
    return Provenance(
        made_by=made_by,
        run_date=utc_date(props.get(RUN_DATE) or props.get(JUNIT_TIMESTAMP, "")),
        host=props.get(HOST) or props.get(JUNIT_HOSTNAME, ""),
        source_file=target.source_file,
        torch=torch,
    )


def utc_date(text: str) -> str:
    """``2026-11-26T05:20:34.895233+00:00`` -> ``2026-11-26T05:20:34Z``; no zone: as given."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return text
    if when.tzinfo is None:
        return when.isoformat(timespec="seconds")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
