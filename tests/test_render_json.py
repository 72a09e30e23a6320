"""compat.render_json: canonical, deterministic JSON with a schema version."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from report_fixtures import read_report

from compat.facts import resolve_facts
from compat.load import TargetOverrides
from compat.model import Report
from compat.render_json import JSON_SCHEMA_VERSION, render_json

DATA = Path(__file__).parent / "data" / "junit"
GOLDEN = Path(__file__).parent / "data" / "golden" / "report.json"
INPUTS = [
    "seed-2.6.0.xml",
    "seed-2.13.0.xml",
    "suite/hand-2.9.1-cpu.xml",
    "suite/hand-2.10.0-cpu.xml",
    "suite/env-error-2.5.1-cpu.xml",
    "broken/truncated.xml",
]
OVERRIDES = TargetOverrides((("seed-2.6.0.xml", "2.6.0-cpu"), ("seed-2.13.0.xml", "2.13.0-cpu")))


@pytest.fixture
def report(monkeypatch: pytest.MonkeyPatch) -> Report:
    monkeypatch.chdir(DATA)  # relative paths, so source_file is the same on every machine
    return read_report(INPUTS, overrides=OVERRIDES)


def test_same_inputs_same_bytes_in_any_order(
    report: Report, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(DATA)
    again = read_report(list(reversed(INPUTS)), overrides=OVERRIDES)
    assert (
        render_json(report, resolve_facts(report))
        == render_json(again, resolve_facts(again))
        == render_json(report, resolve_facts(report))
    )


def test_golden(report: Report) -> None:
    text = render_json(report, resolve_facts(report))
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8"), "UPDATE_GOLDEN=1 pytest ... to refresh"


def _pairs_sorted(pairs: list[tuple[str, object]]) -> dict[str, object]:
    keys = [k for k, _ in pairs]
    assert keys == sorted(keys), keys
    return dict(pairs)


def test_schema_sorted_keys_and_no_timestamp_but_the_inputs_own(report: Report) -> None:
    text = render_json(report, resolve_facts(report))
    data = json.loads(text, object_pairs_hook=_pairs_sorted)
    assert data["schema_version"] == JSON_SCHEMA_VERSION
    assert data["metadata"] == {}
    # The only dates are when each input file says its run happened (its provenance).
    stamps = set(re.findall(r"\d{4}-\d{2}-\d{2}T[\d:.+]+Z?", text))
    assert stamps == {
        t["properties"]["junit_timestamp"] for t in data["targets"] if t["provenance"]["run_date"]
    } | {t["provenance"]["run_date"] for t in data["targets"] if t["provenance"]["run_date"]}
    assert [t["id"] for t in data["targets"]] == [
        "2.5.1-cpu",
        "2.6.0-cpu",
        "2.9.1-cpu",
        "2.10.0-cpu",
        "2.13.0-cpu",
    ]
    assert [s["path"] for s in data["skipped_inputs"]] == [
        "broken/truncated.xml",
        "seed-2.13.0.xml",
        "seed-2.6.0.xml",
        "suite/hand-2.10.0-cpu.xml",
    ]
    assert text.endswith("}\n")


def test_metadata_is_the_only_run_specific_block(report: Report) -> None:
    plain = render_json(report, resolve_facts(report)).splitlines()
    stamped = render_json(
        report, resolve_facts(report), {"generated": "2026-01-01T00:00:00Z"}
    ).splitlines()
    differing = [(a, b) for a, b in zip(plain, stamped, strict=True) if a != b]
    assert differing == [('"metadata":{},', '"metadata":{"generated":"2026-01-01T00:00:00Z"},')]


def test_cells_grouped_by_id_with_results_in_column_order(report: Report) -> None:
    data = json.loads(render_json(report, resolve_facts(report)))
    order = [t["id"] for t in data["targets"]]
    ids = [row["id"] for row in data["cells"]]
    assert len(ids) == len(set(ids))
    for row in data["cells"]:
        targets = [r["target"] for r in row["results"]]
        assert targets == sorted(targets, key=order.index)
    (wl,) = [r for r in data["cells"] if r["id"] == "upstream:while_loop.simple/serialize[cpu]"]
    first = wl["results"][0]
    assert first["status"] == "xfail"
    assert first["behaviours"] == ["while_loop.serde-carried-inputs"]
    assert first["properties"] == {
        "dtype": "float32",
        "expectation": "raises: while_loop.serde-carried-inputs",
    }
    assert "hop" not in first["properties"]  # already in the row


def test_one_entry_per_line(report: Report) -> None:
    lines = render_json(report, resolve_facts(report)).splitlines()
    assert sum(line.startswith('{"device"') for line in lines) == len({c.id for c in report.cells})


def test_each_result_has_its_own_time_as_json_writes_it() -> None:
    """Each cell's own time, as json writes it (NaN and infinity as json's own words)."""
    import dataclasses
    import math

    from report_fixtures import realistic_facts, realistic_report

    report = realistic_report()
    times = [0.0, 1e-7, 0.1 + 0.2, 2.5, float("nan"), float("inf"), 1e300]
    cells = [dataclasses.replace(c, time=times[i % len(times)]) for i, c in enumerate(report.cells)]
    timed = Report.from_cells(report.targets, cells, report.behaviours, report.skipped_inputs)
    text = render_json(timed, realistic_facts())
    assert "NaN" in text and "Infinity" in text and not re.search(r"\bnan\b", text)
    data = json.loads(text)
    got = {(r["target"], row["id"]): r["time"] for row in data["cells"] for r in row["results"]}
    assert len(got) == len(cells)
    for c in cells:
        value = got[c.target, str(c.id)]
        assert value == c.time or (math.isnan(value) and math.isnan(c.time)), (c.id, c.time)
