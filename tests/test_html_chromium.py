"""The HTML report in a real browser: headless Chromium loads it without errors.

Skipped where ``chromium`` is not on PATH (CI images usually lack it; on
Debian: ``apt-get install chromium``). Set ``COMPAT_SCREENSHOT_DIR`` to keep
the screenshots for a human look.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from packaging.version import Version
from report_fixtures import hostile_facts, hostile_report, realistic_facts, realistic_report

from compat.layout import NO_RESULT, STATUS_STYLE, resolve_matrix
from compat.model import Cell, Facts, Report, TargetInfo
from compat.render_html import render_html
from suites.schema import CellId, Device, Mode, Source, Status

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not on PATH (apt-get install chromium): the browser check needs it",
)

_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
)
_TIMEOUT_S = 120
SCREENSHOT_ENV = "COMPAT_SCREENSHOT_DIR"

# Runs after the page's own script; drives the filters and a click, then
# reports what it saw on <body data-test-result>.
_PROBE = """
<script>
(function () {
  "use strict";
  function visible(selector) {
    return Array.prototype.filter.call(document.querySelectorAll(selector), function (n) {
      return n.offsetParent !== null;
    });
  }
  function fire(node) { node.dispatchEvent(new Event("change", {bubbles: true})); }
  var result = {rows: visible("#matrix tbody tr").length};
  var hop = document.getElementById("f-hop");
  hop.value = "while_loop";
  fire(hop);
  result.hops = visible("#matrix tbody tr").map(function (tr) {
    return tr.getAttribute("data-hop");
  });
  var cpu = document.querySelector("input[name='build'][value='cpu']");
  cpu.checked = false;
  fire(cpu);
  result.cpuCells = visible("#matrix td[data-build='cpu']").length;
  document.querySelectorAll("input[name='status']").forEach(function (box) {
    box.checked = box.value === "xfail";
    fire(box);
  });
  result.xfailRows = visible("#matrix tbody tr").length;
  document.getElementById("f-reset").click();
  result.afterReset = visible("#matrix tbody tr").length;
  var cell = document.querySelector("td[data-status='xfail']");
  cell.click();
  var panel = document.getElementById("details");
  result.panelOpen = !panel.hidden;
  result.panelText = panel.textContent;
  result.selected = cell.classList.contains("selected");
  document.body.setAttribute("data-test-result", JSON.stringify(result));
}());
</script>
"""


class _Body(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.attrs: dict[str, str] = {}
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "body":
            self.attrs = {k: v or "" for k, v in attrs}


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=tmp_path)
    return subprocess.run(
        [CHROMIUM, *_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=_TIMEOUT_S,
        check=False,
    )


def _console(stderr: str) -> list[str]:
    """Console lines the page produced (our page logs nothing, so any is a problem)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def _load(tmp_path: Path, html: str, name: str, fragment: str = "") -> tuple[_Body, list[str]]:
    body, console, _ = _load_dom(tmp_path, html, name, fragment)
    return body, console


def _load_dom(
    tmp_path: Path, html: str, name: str, fragment: str = ""
) -> tuple[_Body, list[str], str]:
    """The page's body, its console lines, and its DOM once its script has run."""
    page = tmp_path / name
    page.write_text(html, encoding="utf-8")
    run = _chromium(tmp_path, "--dump-dom", page.as_uri() + fragment)
    assert run.returncode == 0, run.stderr[-2000:]
    body = _Body()
    body.feed(run.stdout)
    return body, _console(run.stderr), run.stdout


class _Cells(HTMLParser):
    """The matrix cells of a DOM: their attributes and their text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cells: list[tuple[dict[str, str], str]] = []
        self._open = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "td" and "cell" in found.get("class", "").split():
            self.cells.append((found, ""))
            self._open = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._open = False

    def handle_data(self, data: str) -> None:
        if self._open:
            attrs, text = self.cells[-1]
            self.cells[-1] = (attrs, text + data)


def _matrix_cells(dom: str) -> list[tuple[dict[str, str], str]]:
    parser = _Cells()
    parser.feed(dom)
    return parser.cells


def test_console_detector_sees_errors(tmp_path: Path) -> None:
    broken = "<!DOCTYPE html><html><body><script>undefinedFunction();</script></body></html>"
    body, console = _load(tmp_path, broken, "broken.html")
    assert any("undefinedFunction" in line for line in console), console
    assert "data-ready" not in body.attrs


def test_report_loads_without_errors(tmp_path: Path) -> None:
    body, console = _load(
        tmp_path, render_html(realistic_report(), realistic_facts()), "report.html"
    )
    assert console == []
    assert body.attrs.get("data-ready") == "1"
    assert "data-js-error" not in body.attrs


def test_filters_and_details_work(tmp_path: Path) -> None:
    html = render_html(realistic_report(), realistic_facts()).replace("</body>", _PROBE + "</body>")
    body, console = _load(tmp_path, html, "probe.html")
    assert console == []
    result = json.loads(body.attrs["data-test-result"])
    assert result["rows"] == 45
    assert set(result["hops"]) == {"while_loop"} and len(result["hops"]) == 10
    assert result["cpuCells"] == 0
    assert result["xfailRows"] == 2
    assert result["afterReset"] == 45
    assert result["panelOpen"] and result["selected"]
    assert "carried_inputs must be a tuple but got <class 'list'>" in result["panelText"]
    assert "while_loop.serde-carried-inputs" in result["panelText"]


def test_hostile_report_stays_inert(tmp_path: Path) -> None:
    # #c0 opens the details panel of the only cell, so its message is put in the DOM too.
    body, console = _load(
        tmp_path, render_html(hostile_report(), hostile_facts()), "hostile.html", "#c0"
    )
    assert console == []
    assert body.attrs.get("data-ready") == "1"
    assert "img" not in body.tags
    assert body.tags.count("script") == 2


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def test_screenshot(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_html(realistic_report(), realistic_facts()), encoding="utf-8")
    shot = tmp_path / "report.png"
    run = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1400,1000", page.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    assert _console(run.stderr) == []
    data = shot.read_bytes()
    assert _png_size(data) == (1400, 1000)
    # A blank 1400x1000 page compresses to a few KB; the heatmap is far larger.
    assert len(data) > 50_000
    keep = os.environ.get(SCREENSHOT_ENV)
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / "report.png")


def test_every_matrix_cell_has_symbol_text_and_title(tmp_path: Path) -> None:
    report, facts = realistic_report(), realistic_facts()
    _, console, dom = _load_dom(tmp_path, render_html(report, facts), "report.html")
    assert console == []
    cells = _matrix_cells(dom)
    assert len(cells) == sum(len(r.cells) for b in resolve_matrix(report, facts) for r in b.rows)
    assert len([a for a, _ in cells if "data-key" in a]) == len(report.cells)
    for attrs, text in cells:
        status = attrs["data-status"]
        assert attrs["title"]
        assert f"st-{status}" in attrs["class"].split()
        label = "no result" if status == "none" else status
        glyph = STATUS_STYLE[Status(status)].glyph if status != "none" else NO_RESULT.glyph
        # After the label: the numbers of the known behaviours the cell shows, if any.
        assert text.startswith(f"{glyph}{label}")
        assert set(text[len(glyph + label) :]) <= set("⁰¹²³⁴⁵⁶⁷⁸⁹")
        if "data-key" in attrs:
            assert attrs["id"] == f"c{attrs['data-key']}" and attrs["tabindex"] == "0"
    xfail = [a for a, _ in cells if a["data-status"] == "xfail"]
    assert len(xfail) == 2
    assert next(t for a, t in cells if a["data-status"] == "xfail") == "⚠xfail¹²"
    assert xfail[0]["title"] == (
        "2.6.0-cu124 · catalog:while_loop.simple/serialize[cpu] · xfail · "
        "while_loop.serde-carried-inputs, while_loop.serde-tuple-to-list"
    )
    env_error = next(a for a, _ in cells if a["data-status"] == "env-error")
    assert env_error["title"].startswith("2.5.1-cpu · catalog:cond.simple/aot[cpu] · env-error · ")


def _big_report(rows: int, columns: int) -> Report:
    """One block of ``rows`` x ``columns`` cells, all passing but one per row."""
    targets = tuple(
        TargetInfo(
            id=f"2.{i}.0-cpu",
            version=Version(f"2.{i}.0"),
            build="cpu",
            torch_version=f"2.{i}.0+cpu",
            source_file=f"{i}.xml",
        )
        for i in range(columns)
    )
    cells = []
    for r in range(rows):
        cid = CellId(Source.CATALOG, "cond", f"v{r:04d}", Mode.AOT, Device.CPU)
        for i, t in enumerate(targets):
            status = Status.ERROR if i == r % columns else Status.PASS
            cells.append(Cell(target=t.id, id=cid, status=status, time=0.25))
    return Report.from_cells(targets=targets, cells=tuple(cells), behaviours=())


_PAGING_PROBE = """
<script>
(function () {
  "use strict";
  function rows() { return document.querySelectorAll("#matrix tbody tr").length; }
  var result = {first: rows(), linked: document.getElementById("details").hidden === false};
  result.linkedSelected = !!document.querySelector("td.cell.selected");
  var more = document.querySelector("#matrix p.more");
  result.moreShown = !more.hidden;
  more.querySelector("button").click();
  result.afterMore = rows();
  result.count = document.getElementById("f-count").textContent;
  document.body.setAttribute("data-test-result", JSON.stringify(result));
}());
</script>
"""


def test_big_matrix_draws_pages_of_rows_and_reveals_linked_cells(tmp_path: Path) -> None:
    # 250 rows x 200 columns: a page of 20000 cells is 100 rows; "show more" adds 100.
    report = _big_report(rows=250, columns=200)
    html = render_html(report, Facts()).replace("</body>", _PAGING_PROBE + "</body>")
    body, console = _load(tmp_path, html, "big.html")
    assert console == []
    result = json.loads(body.attrs["data-test-result"])
    assert (result["first"], result["moreShown"], result["afterMore"]) == (100, True, 200)
    assert result["count"] == "250 of 250 rows"
    assert not result["linked"]
    # A link to a cell of row 110 draws the pages up to it: rows 0-199.
    key = 110 * 200 + 7
    body, console = _load(tmp_path, html, "big-linked.html", f"#c{key}")
    assert console == []
    result = json.loads(body.attrs["data-test-result"])
    assert result["linked"] and result["linkedSelected"]
    assert (result["first"], result["afterMore"]) == (200, 250)
