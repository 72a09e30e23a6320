"""compat.diff: changed cells between two report JSON files, regressions first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report_fixtures import read_report

from compat.diff import DiffKind, load_report_data, render_diff, resolve_diff
from compat.errors import ExitCode, ReportFileError
from compat.facts import resolve_facts
from compat.render_json import render_json

SUITE = Path(__file__).parent / "data" / "junit" / "suite"
OLD_FILES = ["hand-2.9.1-cpu.xml", "env-error-2.5.1-cpu.xml"]
NEW_FILES = ["hand-2.9.1-cpu.xml", "hand-2.10.0-cpu.xml"]


def _json(files: list[str]) -> str:
    report = read_report([str(SUITE / f) for f in files])
    return render_json(report, resolve_facts(report))


def _diff(old: str, new: str) -> list[tuple[str, str, str, str | None, str | None]]:
    d = resolve_diff(load_report_data(old, "old.json"), load_report_data(new, "new.json"))
    return [
        (c.kind.value, c.label, c.cell, c.before and c.before.value, c.after and c.after.value)
        for c in d.changes
    ]


def test_newest_target_per_build_against_the_last_report() -> None:
    got = _diff(_json(OLD_FILES), _json(NEW_FILES))
    since = "2.9.1-cpu -> 2.10.0-cpu"
    assert got == [
        ("regression", since, "catalog:scan.simple/serialize[cpu]", "pass", "error"),
        # No older target reproduced the behaviour in the old report: a plain pass, not xpass.
        ("regression", since, "catalog:while_loop.simple/serialize[cpu]", "pass", "xfail"),
        ("fix", since, "catalog:map.simple/retrace[cpu]", "error", "pass"),
        # Missing, then no result at all: it existed on neither side.
        ("changed", since, "catalog:invoke_subgraph.simple/aot[cpu]", "missing", None),
        ("gone", since, "catalog:flex_attention.simple/serialize[cpu]", "skip", None),
    ]


def test_same_target_in_both_reports() -> None:
    old = _json(NEW_FILES)
    data = json.loads(old)
    for row in data["cells"]:
        for r in row["results"]:
            if row["id"] == "catalog:cond.simple/aot[cpu]" and r["target"] == "2.9.1-cpu":
                r["status"] = "crash"
            if row["id"] == "catalog:flex_attention.simple/serialize[cpu]":
                r["status"] = "pass"
    new = json.dumps(data)
    assert _diff(old, new) == [
        ("regression", "2.9.1-cpu", "catalog:cond.simple/aot[cpu]", "pass", "crash"),
        ("changed", "2.9.1-cpu", "catalog:flex_attention.simple/serialize[cpu]", "skip", "pass"),
    ]
    assert _diff(new, old)[0][0] == "fix"


def test_no_changes_and_the_summary_line() -> None:
    text = _json(NEW_FILES)
    d = resolve_diff(load_report_data(text, "a"), load_report_data(text, "b"))
    assert d.changes == () and not d.regressions
    assert render_diff(d) == "no changes\n"
    d = resolve_diff(load_report_data(_json(OLD_FILES), "a"), load_report_data(text, "b"))
    assert render_diff(d).splitlines()[-1] == (
        "2 regressions, 1 fixes, 1 changed, 1 gone; "
        "targets added: 2.10.0-cpu; targets removed: 2.5.1-cpu"
    )
    assert [c.kind for c in d.regressions] == [DiffKind.REGRESSION] * 2


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{not json", "is not JSON"),
        ("[1, 2]", "not a torch-hop-compat report"),
        ('{"schema_version": 99}', "has report schema 99"),
        ('{"schema_version": 1, "targets": []}', "damaged report (KeyError: 'cells')"),
        (
            '{"schema_version": 1, "targets": [], "cells": [{"id": "x", "results": '
            '[{"target": "t", "status": "fine"}]}]}',
            "damaged report (ValueError",
        ),
    ],
)
def test_bad_report_files(text: str, words: str) -> None:
    with pytest.raises(ReportFileError) as info:
        load_report_data(text, "some/report.json")
    assert info.value.exit_code is ExitCode.INPUT
    assert str(info.value).startswith("some/report.json ")
    assert words in str(info.value)
