"""compat.render_summary: summary.md, short enough for a pull request at any matrix size."""

from __future__ import annotations

from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from report_fixtures import (
    check_golden,
    empty_report,
    read_report,
    realistic_facts,
    realistic_report,
    synthetic_report,
)

from compat.facts import resolve_facts
from compat.model import Facts, Report
from compat.render_summary import LIMIT, OPEN_LINES, render_summary

TWO_CASES = Path(__file__).parent / "data" / "junit" / "timeline"


def broken_tables(text: str) -> list[str]:
    """Why the GFM tables of ``text`` do not render as tables, as a list (empty: they do).

    Rendered with markdown-it-py (CommonMark, HTML blocks and GFM tables on): every
    line that starts with a pipe must lie inside a table, every line of a table must start
    with one (a table swallows the paragraph line that follows it without a blank line),
    and every row must have as many cells as the header.
    """
    tokens = MarkdownIt("commonmark", {"html": True}).enable("table").parse(text)
    problems: list[str] = []
    covered: set[int] = set()
    for i, token in enumerate(tokens):
        if token.type != "table_open":
            continue
        assert token.map is not None
        covered.update(range(*token.map))
        problems += [
            f"line {n + 1} is a row of the table above: {text.splitlines()[n][:60]}"
            for n in range(*token.map)
            if not text.splitlines()[n].startswith("|")
        ]
        widths, cells = [], 0
        for inner in tokens[i + 1 :]:
            if inner.type == "table_close":
                break
            if inner.type in ("th_open", "td_open"):
                cells += 1
            elif inner.type == "tr_close":
                widths.append(cells)
                cells = 0
        if len(set(widths)) != 1:
            problems.append(f"table at line {token.map[0] + 1}: row widths {widths}")
    lines = text.splitlines()
    problems += [
        f"line {n + 1} is not in a table: {line[:60]}"
        for n, line in enumerate(lines)
        if line.startswith("|") and n not in covered
    ]
    return problems


def test_broken_tables_sees_a_broken_table() -> None:
    good = "| a | b |\n| --- | --- |\n| 1 | 2 |\n"
    assert broken_tables(good) == []
    assert broken_tables("| a | b |\n| 1 | 2 |\n")  # no delimiter row: a paragraph
    assert broken_tables("| a | b |\n| --- |\n| 1 | 2 |\n")  # the delimiter row is short
    assert broken_tables(good + "*a note*\n")  # no blank line after it: the note is a row


def test_golden() -> None:
    check_golden("summary.md", render_summary(realistic_report(), realistic_facts()))


def test_sections_in_order() -> None:
    text = render_summary(realistic_report(), realistic_facts())
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings == [
        "# torch-hop-compat summary",
        "## 🔻 Regressions: 2 lines, 2 regressions",
        "## 🔺 Fixes: 6 lines, 6 fixes",
        "## Known behaviours",
        "## HOPs",
    ]
    assert "**2 regressions**, 6 fixes, 5 new, 0 gone, 0 default changed" in text
    assert "Changes that are not regressions or fixes (5 new, 0 gone, 0 default changed)" in text
    assert broken_tables(text) == []


def test_real_run() -> None:
    report = read_report([str(TWO_CASES)])
    text = render_summary(report, resolve_facts(report))
    assert (
        "- `catalog:associative_scan.cumsum` · cuda · all modes: missing ≤2.3.1 → 🆕error 2.4.1 "
        "→ 🔺pass 2.5.1 → 🔻error 2.7.1–2.8.0 → 🔺pass ≥2.9.1"  # noqa: RUF001
    ) in text
    assert (
        "- `associative_scan` (1 case) · cuda: — ≤2.3.1 → 0/6 2.4.1 → 6/6 2.5.1 → 0/6 "
        "2.7.1–2.8.0 → 6/6 ≥2.9.1 · cpu: 6/6 2.13.0"  # noqa: RUF001
    ) in text


def test_behaviours_table_says_each_history_per_family() -> None:
    text = render_summary(realistic_report(), realistic_facts())
    table = text[text.index("## Known behaviours") :]
    assert "| behaviour | history | now |" in table
    assert "| `while_loop.serde-carried-inputs` | cuda: reproduced ≤2.6.0 → absent ≥2.9.1" in table


def test_empty_report() -> None:
    text = render_summary(empty_report(), Facts())
    assert text.startswith("# torch-hop-compat summary\n")
    assert "**0 regressions**" in text and broken_tables(text) == []


@pytest.fixture(scope="module")
def forty(tmp_path_factory: pytest.TempPathFactory) -> tuple[Report, Facts]:
    report = synthetic_report(tmp_path_factory.mktemp("forty"), 40)
    return report, resolve_facts(report)


def test_forty_targets_fit_a_pull_request(forty: tuple[Report, Facts]) -> None:
    report, facts = forty
    text = render_summary(report, facts)
    print(f"summary.md at 40 targets: {len(text):,} characters (limit {LIMIT:,})")
    assert len(text) < LIMIT
    assert broken_tables(text) == []
    # beyond the first lines of a kind, the timelines are collapsed
    assert text.count("<details><summary>") == text.count("</details>") >= 1
    regressions = text[text.index("## 🔻") : text.index("## 🔺")]
    assert regressions.index("<details>") > regressions.index("\n- ", len("\n- ") * OPEN_LINES)


@pytest.mark.parametrize("limit", [2_000, 6_000, 12_000])
def test_what_does_not_fit_is_counted_and_left_to_report_md(
    forty: tuple[Report, Facts], limit: int
) -> None:
    report, facts = forty
    text = render_summary(report, facts, limit=limit)
    assert len(text) < limit
    assert f"more lines are in report.md: summary.md stops at {limit:,} characters." in text
    assert text.count("<details>") == text.count("</details>")
    assert broken_tables(text) == []
    assert text.endswith("it as an overview grid.\n")
