"""compat.render_md: golden output, escaping, and the sections a PR comment needs."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from report_fixtures import (
    check_golden,
    empty_report,
    hostile_facts,
    hostile_report,
    realistic_facts,
    realistic_report,
)

from compat.facts import resolve_facts
from compat.layout import STATUS_STYLE, resolve_matrix
from compat.markdown import md_code, md_text
from compat.model import Cell, Facts, Report, SignatureRow
from compat.render_md import (
    FLAKY_MARK,
    MAX_CELLS_LISTED,
    MAX_SIGNATURES,
    render_markdown,
)
from suites.schema import Device, Mode, Status

_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def _tables(text: str) -> list[list[str]]:
    """Consecutive lines that start with a pipe, one list per table."""
    tables: list[list[str]] = []
    current: list[str] = []
    for line in text.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


def test_golden() -> None:
    check_golden("report.md", render_markdown(realistic_report(), realistic_facts()))


def test_golden_check_fails_on_change_and_updates_on_request(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="UPDATE_GOLDEN=1"):
        check_golden("x.md", "new\n", env={}, directory=tmp_path)
    check_golden("x.md", "old\n", env={"UPDATE_GOLDEN": "1"}, directory=tmp_path)
    check_golden("x.md", "old\n", env={}, directory=tmp_path)
    with pytest.raises(AssertionError, match=r"(?s)-old.*\+new"):
        check_golden("x.md", "new\n", env={}, directory=tmp_path)
    assert (tmp_path / "x.md").read_text() == "old\n"


def test_same_report_same_text() -> None:
    assert render_markdown(realistic_report(), realistic_facts()) == render_markdown(
        realistic_report(), realistic_facts()
    )


@pytest.mark.parametrize(
    "heading",
    [
        "# torch-hop-compat report",
        "## Environments",
        "## Legend",
        "## Overview",
        "## Changes",
        "## Expected failures",
        "## Gaps",
        "## Matrix",
        "### `serialize` on cpu",
        "### `aot` on cuda",
        "## Known behaviours",
        "## HOP inventory",
        "## Most frequent error signatures",
        "## Inputs skipped",
    ],
)
def test_sections(heading: str) -> None:
    assert heading in render_markdown(realistic_report(), realistic_facts()).splitlines()


def test_legend_names_every_status_with_its_symbol() -> None:
    legend = next(
        line
        for line in render_markdown(realistic_report(), realistic_facts()).splitlines()
        if "✅ pass (" in line
    )
    for status in Status:
        assert f"{STATUS_STYLE[status].symbol} {status} (" in legend


def test_changes_are_timelines_regressions_first() -> None:
    text = render_markdown(realistic_report(), realistic_facts())
    changes = text[text.index("## Changes") : text.index("## Matrix")]
    headings = [line for line in changes.splitlines() if line.startswith("### ")]
    assert headings == [
        "### 🔻 Regressions: 2 lines, 2 regressions",
        "### 🔺 Fixes: 6 lines, 6 fixes",
        "### 🆕 New: 2 lines, 5 changes",
    ]
    regressions = changes[changes.index("### 🔻") : changes.index("### 🔺")]
    assert "- `catalog:map.simple` · cpu · pre\\_dispatch on cpu: pass ≤2.9.1 → 🔻fail ≥2.13.0" in (
        regressions
    )
    # the five new cells of invoke_subgraph in two lines: four modes share one history
    assert changes.count("`catalog:invoke_subgraph.simple` · cuda") == 2
    assert "**2 regressions**, 6 fixes, 5 new, 0 gone, 0 default changed" in render_markdown(
        realistic_report(), realistic_facts()
    )


def test_environments_row() -> None:
    text = render_markdown(realistic_report(), realistic_facts())
    assert (
        "| `2.13.0-cpu` | 2.13.0+cpu | cpu | 3.12.8 | unavailable: ModuleNotFoundError: "
        "No module named 'expecttest' | non-strict | suite 0.1.0: `reports/junit/2.13.0-cpu.xml` "
        "| 2026-11-29T10:12:03Z | ci-linux-2 |  |"
    ) in text
    assert (
        "| `2.6.0-cu124` | 2.6.0+cu124 | cu124 | 3.11.11 | importable | strict | suite 0.1.0: "
        "`reports/junit/2.6.0-cu124.xml` | 2026-11-27T08:40:51Z | gpu-box |  |"
    ) in text
    assert "🚫 `uv pip install torch==2.5.1 failed" in text


def test_while_loop_serialize_row_shows_xfail_then_xpass() -> None:
    text = render_markdown(realistic_report(), realistic_facts())
    block = text[text.index("### `serialize` on cpu") :]
    row = next(line for line in block.splitlines() if "`catalog:while_loop.simple`" in line)
    # The cuda row passes from 2.9.1; the cpu row already in the oldest cpu target that ran.
    # The xfail also shows its cause (², tuple -> list after save/load) beside the error (¹).
    assert row == ("| `catalog:while_loop.simple` | ⚠️¹² | 🎉 | 🚫 | 🎉 | 🎉 | 2.9.1 | ≤ 2.9.1 |")


def test_behaviour_table_says_absent_since() -> None:
    text = render_markdown(realistic_report(), realistic_facts())
    row = next(line for line in text.splitlines() if line.startswith("| `while_loop.serde-carr"))
    assert "| reproduced | absent | n/a | absent | absent |" in row
    assert row.endswith("| absent since 2.9.1-cu128 |")


@pytest.mark.parametrize(
    ("device", "columns"),
    [
        (Device.CPU, ["2.6.0-cu124", "2.9.1-cu128", "2.5.1-cpu", "2.9.1-cpu", "2.13.0-cpu"]),
        (Device.CUDA, ["2.9.1-cu128"]),
    ],
)
def test_matrix_columns_per_device(device: Device, columns: list[str]) -> None:
    blocks = [
        b for b in resolve_matrix(realistic_report(), realistic_facts()) if b.device is device
    ]
    # Every mode the fixture has (it has no strict, dynamic or aoti cells), in Mode order.
    absent = (Mode.STRICT, Mode.DYNAMIC, Mode.AOTI)
    assert [b.mode for b in blocks] == [m for m in Mode if m not in absent]
    for block in blocks:
        assert [t.id for t in block.targets] == columns


def test_one_device_drops_the_device_from_headings() -> None:
    report = realistic_report()
    cpu_only = dataclasses.replace(
        report, rows=tuple(r for r in report.rows if r.id.device is Device.CPU)
    )
    text = render_markdown(cpu_only, realistic_facts())
    assert "### `aot`" in text.splitlines()
    assert " on cpu" not in text


def test_tables_have_a_constant_number_of_columns() -> None:
    for report, facts in (
        (realistic_report(), realistic_facts()),
        (hostile_report(), hostile_facts()),
    ):
        for table in _tables(render_markdown(report, facts)):
            widths = {len(_UNESCAPED_PIPE.findall(line)) for line in table}
            assert len(widths) == 1, table


def test_hostile_text_renders_as_text() -> None:
    markdown_it = pytest.importorskip("markdown_it")
    text = render_markdown(hostile_report(), hostile_facts())
    html = markdown_it.MarkdownIt("commonmark", {"html": True}).enable("table").render(text)
    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(1)" in html
    assert "<em>b</em>" not in html and "<em>i</em>" not in html
    # Every table keeps the shape of its header: no pipe from the data split a cell.
    for table in re.findall(r"<table>.*?</table>", html, flags=re.S):
        header = len(re.findall(r"<th[ >]", table.split("</thead>")[0]))
        for row in re.findall(r"<tr>(.*?)</tr>", table.split("</thead>")[1], flags=re.S):
            assert len(re.findall(r"<td[ >]", row)) == header


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain", "plain"),
        ("a|b", "a\\|b"),
        ("<script>", "\\<script\\>"),
        ("`tick`", "\\`tick\\`"),
        ("*b* _i_ [l](u)", "\\*b\\* \\_i\\_ \\[l\\](u)"),
        ("two\nlines", "two lines"),
        ("back\\slash", "back\\\\slash"),
    ],
)
def test_text_escaping(raw: str, expected: str) -> None:
    assert md_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "table", "expected"),
    [
        ("x", True, "`x`"),
        ("a|b", True, "`a\\|b`"),
        ("a|b", False, "`a|b`"),
        ("a`b", True, "``a`b``"),
        ("`a``", True, "``` `a`` ```"),
        ("<n>", True, "`<n>`"),
        ("", True, ""),
    ],
)
def test_code_spans(raw: str, table: bool, expected: str) -> None:
    assert md_code(raw, table=table) == expected


def test_signatures_and_their_cells_are_capped() -> None:
    report = realistic_report()
    cells = tuple(f"2.9.1-cpu/catalog:cond.v{i}/aot[cpu]" for i in range(MAX_CELLS_LISTED + 3))
    signatures = tuple(
        SignatureRow(signature=f"RuntimeError: boom {i}", count=len(cells), cells=cells)
        for i in range(MAX_SIGNATURES + 2)
    )
    text = render_markdown(report, dataclasses.replace(realistic_facts(), signatures=signatures))
    assert "`RuntimeError: boom 9`" in text
    assert "boom 10" not in text
    assert "and 3 more" in text
    assert "2 less frequent signatures not shown." in text


def test_empty_report() -> None:
    text = render_markdown(empty_report(), Facts())
    for line in ("No targets.", "No cells.", "None declared.", "No errors."):
        assert line in text.splitlines()
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_env_error_target_without_cells_and_no_result_cells() -> None:
    report = realistic_report()
    row = next(
        line
        for line in render_markdown(report, realistic_facts()).splitlines()
        if line.startswith("| `upstream:while_loop.simple` | ✅")
    )
    assert row.split(" | ")[3:6] == ["🚫", "✅", "·"]


def test_missing_facts_leave_no_since_column() -> None:
    text = render_markdown(realistic_report(), Facts())
    row = next(line for line in text.splitlines() if line.startswith("| `catalog:cond.simple` |"))
    assert row.endswith("| ✅ | ✅ | 🚫 | ✅ | ✅ |")
    assert "since" not in next(line for line in text.splitlines() if line.startswith("| case |"))


def test_unknown_status_has_a_symbol() -> None:
    assert set(STATUS_STYLE) == set(Status)
    for field in ("symbol", "glyph", "css", "meaning"):
        assert len({getattr(s, field) for s in STATUS_STYLE.values()}) == len(Status), field


def test_cell_free_of_facts() -> None:
    # A report built by hand with a single cell and no facts still renders.
    report = realistic_report()
    one: Cell = report.cells[0]
    one_cell = Report.from_cells(targets=report.targets, cells=(one,), behaviours=())
    text = render_markdown(one_cell, Facts())
    assert f"`{one.id.case}`" in text


def test_fixture_facts_agree_with_compat_facts() -> None:
    derived = resolve_facts(realistic_report())
    facts = realistic_facts()
    # The fixture lists a fix first on purpose: the renderers must sort. Gaps are
    # tested on real JUnit in test_facts; the hand-written facts leave them out.
    assert set(facts.changes) == set(derived.changes)
    same = dataclasses.replace(derived, gaps=())
    assert dataclasses.replace(facts, changes=derived.changes) == same


def test_no_since_column_for_a_build_that_never_ran() -> None:
    report = realistic_report()
    broken = dataclasses.replace(
        report.targets[0], id="2.7.0-rocm6.2", build="rocm6.2", env_error="no wheel"
    )
    broken_report = dataclasses.replace(report, targets=(*report.targets, broken))
    text = render_markdown(broken_report, realistic_facts())
    header = next(line for line in text.splitlines() if line.startswith("| case |"))
    assert header.endswith("| 2.7.0-rocm6.2 | since cuda | since cpu |")


def test_a_target_whose_run_was_cut_short_says_so() -> None:
    report = realistic_report()
    killed = dataclasses.replace(
        report.targets[-1],
        properties=(
            *report.targets[-1].properties,
            ("interrupted", "incomplete: 80 of 140 cells run"),
        ),
    )
    killed_report = dataclasses.replace(report, targets=(*report.targets[:-1], killed))
    text = render_markdown(killed_report, realistic_facts())
    row = next(line for line in text.splitlines() if line.startswith(f"| `{killed.id}` |"))
    assert row.endswith("| ⏹️ run cut short: `incomplete: 80 of 140 cells run` |")


def test_a_flaky_cell_is_marked_and_the_legend_says_why() -> None:
    plain = render_markdown(realistic_report(), Facts())
    assert FLAKY_MARK not in plain  # no flaky cell, no legend line
    report = realistic_report()
    first = report.cells[0]
    flaky = ("flaky", "error: E | pass")
    marked = dataclasses.replace(first, properties=(*first.properties, flaky))
    cells = (marked, *report.cells[1:])
    flaky_report = Report.from_cells(report.targets, cells, report.behaviours)
    text = render_markdown(flaky_report, resolve_facts(flaky_report))
    symbol = STATUS_STYLE[first.status].symbol
    assert f"| {symbol}{FLAKY_MARK} |" in text
    assert any(line.startswith(f"{FLAKY_MARK} after a symbol: flaky") for line in text.splitlines())
