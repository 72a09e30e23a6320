"""compat.provenance: where each target's results come from, read from real files."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from reference import reference_junit
from report_fixtures import read_report

from compat.facts import resolve_facts
from compat.load import TargetOverrides
from compat.provenance import file_properties, is_foreign, resolve_provenance, utc_date
from compat.render_junit import render_junit


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("2026-11-26T05:20:34.895233+00:00", "2026-11-26T05:20:34Z"),  # pytest
        ("2026-11-30T01:31:07+01:00", "2026-11-30T00:31:07Z"),
        ("2026-11-30T00:31:07Z", "2026-11-30T00:31:07Z"),  # the suite's run_date
        ("2026-11-26T05:20:34.895233", "2026-11-26T05:20:34"),  # no zone: none is made up
        ("yesterday", "yesterday"),
        ("", ""),
    ],
)
def test_utc_date(text: str, shown: str) -> None:
    assert utc_date(text) == shown


def test_file_properties() -> None:
    attributes = {"timestamp": "2026-11-26T05:20:34+00:00", "hostname": "vm"}
    assert file_properties(attributes, "--target", "3 tests: 3 passed") == {
        "target_from": "--target",
        "junit_timestamp": "2026-11-26T05:20:34+00:00",
        "junit_hostname": "vm",
        "format": "pytest",
        "testcases": "3 tests: 3 passed",
    }
    assert file_properties({}, "the file's target property", None) == {
        "target_from": "the file's target property"
    }


def test_a_pytest_file_says_what_it_is_and_keeps_saying_so_in_the_merged_junit(
    tmp_path: Path,
) -> None:
    upstream = str(reference_junit("upstream-2.15.0.xml"))
    report = read_report([], overrides=TargetOverrides(((upstream, "2.15.0"),)))
    (target,) = report.targets
    assert is_foreign(target)
    origin = resolve_provenance(target)
    assert (origin.made_by, origin.run_date, origin.host, origin.torch) == (
        "pytest JUnit (44 tests: 35 passed, 9 xfailed)",
        "2026-11-26T05:20:34Z",
        "vm",
        "2.15.0 (from --target)",
    )
    merged = tmp_path / "junit.xml"
    merged.write_text(render_junit(report, resolve_facts(report)), encoding="utf-8")
    (again,) = read_report([str(merged)]).targets
    assert is_foreign(again)
    assert (again.id, again.build) == ("2.15.0", "unknown")
    assert resolve_provenance(again) == replace(origin, source_file=str(merged))
