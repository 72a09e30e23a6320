"""compat.render_html: golden output, escaping, self-containment, the matrix markup."""

from __future__ import annotations

import dataclasses
import importlib.resources
import json
import re
from html.parser import HTMLParser

import pytest
from report_fixtures import (
    HOSTILE,
    check_golden,
    empty_report,
    hostile_report,
    realistic_report,
)

from compat.model import Report
from compat.render_html import HTML_SYMBOL, render_html
from compat.render_md import resolve_matrix
from suites.schema import Status

_DATA_BLOCK = re.compile(
    r'<script type="application/json" id="report-data">(?P<json>.*?)</script>', re.S
)


@dataclasses.dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""


class _Collector(HTMLParser):
    """Every start tag with its attributes, and the text inside each <td>/<option>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.elements.append(element)
        if tag in ("td", "option"):
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1].tag == tag:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1].text += data


def _parse(html: str) -> list[Element]:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector.elements


def _data(html: str) -> dict[str, object]:
    match = _DATA_BLOCK.search(html)
    assert match is not None
    data = json.loads(match["json"])
    assert isinstance(data, dict)
    return data


def test_golden() -> None:
    check_golden("report.html", render_html(realistic_report()))


def test_same_report_same_bytes() -> None:
    first = render_html(realistic_report()).encode()
    assert render_html(realistic_report()).encode() == first


def test_template_ships_as_package_data() -> None:
    template = importlib.resources.files("compat").joinpath("templates/report.html.j2")
    assert template.is_file()


@pytest.mark.parametrize("report", [realistic_report(), hostile_report(), empty_report()])
def test_self_contained(report: Report) -> None:
    html = render_html(report)
    elements = _parse(html)
    assert not [e for e in elements if e.tag in ("link", "img", "iframe", "object", "embed")]
    assert not [e for e in elements if "src" in e.attrs]
    assert "@import" not in html and "url(" not in html
    for anchor in (e for e in elements if e.tag == "a"):
        href = anchor.attrs.get("href", "")
        assert href.startswith(("#", "https://", "http://")), href
    assert [e.attrs.get("type") for e in elements if e.tag == "script"] == [
        "application/json",
        None,
    ]


def test_hostile_text_cannot_escape() -> None:
    report = hostile_report()
    html = render_html(report)
    elements = _parse(html)
    # Only the page's own two scripts, and no tag or handler from the data.
    assert len(re.findall(r"<script", html, flags=re.I)) == 2
    assert len(re.findall(r"</script", html, flags=re.I)) == 2
    assert "<img" not in html
    assert not [k for e in elements for k in e.attrs if k.startswith("on")]
    assert "javascript:" not in " ".join(e.attrs.get("href", "") for e in elements)
    # Visible text keeps the data as written.
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # The JSON block survives and gives the message back unchanged.
    data = _data(html)
    cells = data["cells"]
    assert isinstance(cells, list)
    assert cells[0]["message"] == report.cells[0].message
    assert cells[0]["error_type"] == report.cells[0].error_type
    assert [list(p) for p in report.cells[0].properties] == cells[0]["properties"]
    block = _DATA_BLOCK.search(html)
    assert block is not None and "<" not in block["json"] and ">" not in block["json"]
    assert HOSTILE in json.dumps(data, ensure_ascii=False)


def test_every_matrix_cell_has_symbol_text_and_title() -> None:
    report = realistic_report()
    html = render_html(report)
    cells = [e for e in _parse(html) if e.tag == "td" and "cell" in e.attrs.get("class", "")]
    assert len(cells) == sum(sum(b) for b in _block_sizes(report))
    for cell in cells:
        status = cell.attrs["data-status"]
        assert cell.attrs["title"]
        assert f"st-{status}" in cell.attrs["class"].split()
        label = "no result" if status == "none" else status
        symbol = HTML_SYMBOL.get(status, "·")
        assert cell.text == f"{symbol}{label}"


def _block_sizes(report: Report) -> list[list[int]]:
    return [[len(r.cells) for r in b.rows] for b in resolve_matrix(report)]


def test_cell_keys_point_at_their_json() -> None:
    report = realistic_report()
    html = render_html(report)
    data = _data(html)
    cells = data["cells"]
    assert isinstance(cells, list) and len(cells) == len(report.cells)
    keyed = [e for e in _parse(html) if e.tag == "td" and "data-key" in e.attrs]
    assert len(keyed) == len(report.cells)
    for element in keyed:
        entry = cells[int(element.attrs["data-key"])]
        assert element.attrs["id"] == f"c{element.attrs['data-key']}"
        assert element.attrs["title"].startswith(f"{entry['target']} · {entry['cell']} · ")
        assert element.attrs["data-status"] == entry["status"]


def test_xfail_cell_title_names_its_behaviours() -> None:
    html = render_html(realistic_report())
    xfail = [e for e in _parse(html) if e.tag == "td" and e.attrs.get("data-status") == "xfail"]
    assert len(xfail) == 2
    assert xfail[0].attrs["title"] == (
        "2.6.0-cu124 · catalog:while_loop.simple/serialize[cpu] · xfail · "
        "while_loop.serde-carried-inputs, while_loop.serde-tuple-to-list"
    )


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("mode", ["aot", "pre_dispatch", "retrace", "serialize", "non_strict"]),
        ("device", ["cpu", "cuda"]),
        ("build", ["cu124", "cu128", "cpu"]),
        (
            "status",
            [
                "pass",
                "fail",
                "error",
                "xfail",
                "xpass",
                "skip",
                "missing",
                "timeout",
                "crash",
                "env-error",
                "none",
            ],
        ),
    ],
)
def test_filters(name: str, values: list[str]) -> None:
    elements = _parse(render_html(realistic_report()))
    boxes = [e for e in elements if e.tag == "input" and e.attrs.get("name") == name]
    assert [b.attrs["value"] for b in boxes] == values
    assert all("checked" in b.attrs for b in boxes)


def test_hop_filter_lists_every_hop() -> None:
    elements = _parse(render_html(realistic_report()))
    options = [e.attrs["value"] for e in elements if e.tag == "option"]
    assert options == ["", "cond", "flex_attention", "invoke_subgraph", "map", "scan", "while_loop"]


@pytest.mark.parametrize(
    "fragment",
    [
        'id="changes"',
        'id="matrix"',
        'id="legend"',
        'id="behaviours"',
        'id="environments"',
        'id="inventory"',
        'id="signatures"',
        'id="skipped"',
        'id="details"',
        "absent since 2.9.1-cu128",
        "reports/junit/2.4.1-cu121.xml",
        "unavailable: ModuleNotFoundError: No module named &#39;expecttest&#39;",
        "▼ regression",
        "▲ fix",
    ],
)
def test_sections_and_facts_shown(fragment: str) -> None:
    assert fragment in render_html(realistic_report())


def test_regressions_before_fixes() -> None:
    html = render_html(realistic_report())
    assert html.rindex("▼ regression") < html.index("▲ fix")


def test_legend_covers_every_status() -> None:
    html = render_html(realistic_report())
    for status in Status:
        assert f'<span class="swatch st-{status}">' in html


def test_empty_report() -> None:
    html = render_html(empty_report())
    for text in ("No targets.", "No cells.", "None declared.", "No errors."):
        assert f"<p>{text}</p>" in html
    assert _data(html) == {"behaviours": {}, "cells": []}
