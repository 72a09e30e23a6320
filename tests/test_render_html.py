"""compat.render_html: golden output, escaping, self-containment, the matrix markup."""

from __future__ import annotations

import dataclasses
import importlib.resources
import json
import re
from html import unescape
from html.parser import HTMLParser
from typing import Any

import pytest
from packaging.version import Version
from report_fixtures import (
    HOSTILE,
    check_golden,
    empty_report,
    hostile_facts,
    hostile_report,
    realistic_facts,
    realistic_report,
)

from compat.facts import expected_reason
from compat.layout import resolve_matrix
from compat.model import Cell, Facts, Report, TargetInfo
from compat.overview import resolve_hop_overview
from compat.render_html import MAX_REFS, render_html
from compat.repro import Repros, Script, cell_file
from compat.timeline import resolve_timelines
from suites.schema import CellId, Device, Mode, Prop, Source, Status

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


def _data(html: str) -> dict[str, Any]:
    match = _DATA_BLOCK.search(html)
    assert match is not None
    data = json.loads(match["json"])
    assert isinstance(data, dict)
    return data


def test_golden() -> None:
    check_golden("report.html", render_html(realistic_report(), realistic_facts()))


def test_same_report_same_bytes() -> None:
    first = render_html(realistic_report(), realistic_facts()).encode()
    assert render_html(realistic_report(), realistic_facts()).encode() == first


def test_template_ships_as_package_data() -> None:
    template = importlib.resources.files("compat").joinpath("templates/report.html.j2")
    assert template.is_file()


@pytest.mark.parametrize(
    ("report", "facts"),
    [
        (realistic_report(), realistic_facts()),
        (hostile_report(), hostile_facts()),
        (empty_report(), Facts()),
    ],
)
def test_self_contained(report: Report, facts: Facts) -> None:
    html = render_html(report, facts)
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
    html = render_html(report, hostile_facts())
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
    (cell,) = _decoded_cells(data).values()
    assert (cell.target, cell.cell) == (report.cells[0].target, str(report.cells[0].id))
    assert cell.result is not None
    assert cell.result[3] == report.cells[0].message
    assert cell.result[1] == report.cells[0].error_type
    assert cell.result[5] == [list(p) for p in report.cells[0].properties]
    block = _DATA_BLOCK.search(html)
    assert block is not None and "<" not in block["json"] and ">" not in block["json"]
    assert HOSTILE in json.dumps(data, ensure_ascii=False)


@dataclasses.dataclass
class Decoded:
    """One matrix cell as the page's script reads it from the data block."""

    target: str
    cell: str  # cell id
    status: str
    key: int | None
    result: list[object] | None  # [status code, error type, signature, message, ...]
    time: float | None


def _decoded_blocks(data: dict[str, Any]) -> list[list[list[Decoded]]]:
    """Per block, per row, per column: what the page's script draws (see render_html)."""
    out = []
    for block in data["blocks"]:
        rows = []
        for case, _hop, first, codes, since in block["rows"]:
            assert len(codes) == len(block["columns"])
            assert len(since) == len(block["builds"])
            cell = f"{case}/{block['mode']}[{block['device']}]"
            key, cells = first, []
            for column, char in zip(block["columns"], codes, strict=True):
                value, _symbol, _label, has_result = data["statuses"][ord(char) - 97]
                target = data["targets"][column][0]
                if has_result:
                    result = data["results"][data["result"][key]]
                    cells.append(Decoded(target, cell, value, key, result, data["time"][key]))
                    key += 1
                else:
                    cells.append(Decoded(target, cell, value, None, None, None))
            rows.append(cells)
        out.append(rows)
    return out


def _decoded_cells(data: dict[str, Any]) -> dict[int, Decoded]:
    return {
        c.key: c for rows in _decoded_blocks(data) for row in rows for c in row if c.key is not None
    }


def _block_sizes(report: Report) -> list[list[int]]:
    return [[len(r.cells) for r in b.rows] for b in resolve_matrix(report, realistic_facts())]


def test_matrix_data_has_a_code_per_column_and_a_key_per_cell() -> None:
    report = realistic_report()
    data = _data(render_html(report, realistic_facts()))
    blocks = _decoded_blocks(data)
    assert [[len(row) for row in rows] for rows in blocks] == _block_sizes(report)
    keys = _decoded_cells(data)
    assert sorted(keys) == list(range(len(report.cells)))  # every cell once, keys 0..n-1
    shown = {c.status for rows in blocks for row in rows for c in row}
    assert {"none", "env-error"} <= shown  # the realistic report lacks some results


def test_cell_keys_point_at_their_results() -> None:
    report = realistic_report()
    decoded = _decoded_cells(_data(render_html(report, realistic_facts())))
    by_cell = {(c.target, str(c.id)): c for c in report.cells}
    assert len(by_cell) == len(decoded)
    for entry in decoded.values():
        cell = by_cell[entry.target, entry.cell]
        assert entry.status == cell.status
        assert entry.result is not None and entry.time == cell.time
        code, error_type, signature, message, behaviours, properties, *_ = entry.result
        assert isinstance(code, int) and list(Status)[code] is cell.status
        assert (error_type, signature, message) == (cell.error_type, cell.signature, cell.message)
        assert behaviours == list(cell.behaviours)
        assert properties == [list(p) for p in cell.properties]


def test_xfail_cell_detail_names_its_behaviours() -> None:
    decoded = _decoded_cells(_data(render_html(realistic_report(), realistic_facts())))
    xfail = [c for c in decoded.values() if c.status == "xfail"]
    assert len(xfail) == 2
    assert xfail[0].target == "2.6.0-cu124"
    assert xfail[0].cell == "catalog:while_loop.simple/serialize[cpu]"
    assert xfail[0].result is not None and xfail[0].result[6] == (
        "while_loop.serde-carried-inputs, while_loop.serde-tuple-to-list"
    )


_LINK = re.compile(r'<a href="#c(?P<key>\d+)" data-key="(?P=key)"><code>(?P<label>[^<]*)</code>')
_CASE_LINK = re.compile(
    r'<li><a class="case" href="#case:(?P<case>[^"]*)"><code>(?P=case)</code></a>'
)
_SPAN_LINK = re.compile(r'<a href="#at:(?P<target>[^/"]*)/(?P<case>[^"]*)">')


def test_links_in_the_tables_point_at_their_cells() -> None:
    html = render_html(realistic_report(), realistic_facts())
    decoded = _decoded_cells(_data(html))
    links = [(int(m["key"]), unescape(m["label"])) for m in _LINK.finditer(html)]
    assert len(links) >= 10  # behaviours and signatures
    for key, label in links:
        assert f"{decoded[key].target}/{decoded[key].cell}" == label


def test_timelines_link_their_case_and_each_state_to_the_overview() -> None:
    report, facts = realistic_report(), realistic_facts()
    html = render_html(report, facts)
    changes = html[html.index('<section id="changes">') : html.index('<section id="matrix">')]
    cases = [unescape(m["case"]) for m in _CASE_LINK.finditer(changes)]
    timelines = resolve_timelines(report, facts)
    assert cases == [t.case for t in timelines]
    spans = [(m["target"], unescape(m["case"])) for m in _SPAN_LINK.finditer(changes)]
    assert spans == [(s.targets[0], t.case) for t in timelines for s in t.spans]
    rows = {row[0] for row in _data(html)["overview"]["rows"]}
    assert {case for _, case in spans} <= rows
    targets = {t.id for t in report.targets}
    assert {target for target, _ in spans} <= targets


def test_overview_data_has_every_cell_of_every_target() -> None:
    report = realistic_report()
    data = _data(render_html(report, realistic_facts()))
    overview = data["overview"]
    assert overview["modes"] == ["aot", "pre_dispatch", "retrace", "serialize", "non_strict"]
    assert overview["devices"] == ["cpu", "cuda"]
    modes, devices = len(overview["modes"]), len(overview["devices"])
    cells = {(c.target, str(c.id)): c for c in report.cells}
    seen = 0
    for case, hop, source, variant, codes in overview["rows"]:
        assert case == f"{source}:{hop}.{variant}"
        assert len(codes) == len(report.targets) * devices * modes
        for t, target in enumerate(report.targets):
            for d, device in enumerate(overview["devices"]):
                for m, mode in enumerate(overview["modes"]):
                    char = codes[(t * devices + d) * modes + m]
                    value = data["statuses"][ord(char.lower()) - 97][0]
                    cell = cells.get((target.id, f"{case}/{mode}[{device}]"))
                    if cell is None:
                        assert value in ("none", "env-error")
                        continue
                    seen += 1
                    assert value == cell.status
                    assert char.isupper() == (expected_reason(cell) is not None)
    assert seen == len(report.cells)
    hops = [row[1] for row in overview["rows"]]
    assert hops == sorted(hops)  # grouped by HOP


def test_overview_hop_rows_say_how_many_modes_pass() -> None:
    report = realistic_report()
    data = _data(render_html(report, realistic_facts()))
    assert data["overview"]["hops"] == [
        [h.hop, [p.state for p in h.points], "".join(p.grade[0] for p in h.points)]
        for h in resolve_hop_overview(report)
    ]
    cond = data["overview"]["hops"][0]
    assert cond[0] == "cond" and cond[1][0] == "4/5" and cond[2][0] == "s"


def test_pictures_are_inline_svg_with_a_title_per_point() -> None:
    report = realistic_report()
    html = render_html(report, realistic_facts())
    pictures = html[html.index('<section id="pictures">') : html.index('<section id="changes">')]
    svgs = [e for e in _parse(pictures) if e.tag == "svg"]
    assert [e.attrs["role"] for e in svgs] == ["img", "img"]
    assert "<script" not in pictures and "href" not in pictures
    modes = [
        e.attrs["data-mode"] for e in _parse(pictures) if e.tag == "g" and "data-mode" in e.attrs
    ]
    assert modes == ["aot", "pre_dispatch", "retrace", "serialize", "non_strict"]
    assert "serialize on 2.6.0-cu124: 2 of 5 cells pass (40%)" in pictures
    assert "cond on 2.6.0-cu124: some modes pass (4 of 5 modes)" in pictures
    assert "every mode: cuda ≥2.9.1, cpu ≤2.9.1" in pictures


def test_long_cell_lists_link_the_first_cells_and_count_the_rest() -> None:
    facts = realistic_facts()
    (sig, *_) = facts.signatures
    labels = [c for s in facts.signatures for c in s.cells]
    many = dataclasses.replace(sig, cells=tuple(labels * 30), count=len(labels) * 30)
    html = render_html(realistic_report(), dataclasses.replace(facts, signatures=(many,)))
    table = html[html.index("<h2>Error signatures</h2>") :]
    links = [unescape(m["label"]) for m in _LINK.finditer(table[: table.index("</table>")])]
    assert links == list(many.cells[:MAX_REFS])
    assert f"and {len(many.cells) - MAX_REFS} more: filter the matrix by status" in table


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("mode", ["aot", "pre_dispatch", "retrace", "serialize", "non_strict"]),
        ("device", ["cpu", "cuda"]),
        ("build", ["cuda", "cpu"]),  # build families: cu124 and cu128 are both cuda
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
    elements = _parse(render_html(realistic_report(), realistic_facts()))
    boxes = [e for e in elements if e.tag == "input" and e.attrs.get("name") == name]
    assert [b.attrs["value"] for b in boxes] == values
    assert all("checked" in b.attrs for b in boxes)


def test_hop_filter_lists_every_hop() -> None:
    elements = _parse(render_html(realistic_report(), realistic_facts()))
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
        'id="overview"',
        'id="pictures"',
        "aot · pre_dispatch · retrace · serialize · non_strict, left to right; one line per "
        "device: cpu, cuda, top down",
    ],
)
def test_sections_and_facts_shown(fragment: str) -> None:
    assert fragment in render_html(realistic_report(), realistic_facts())


def test_regressions_before_fixes() -> None:
    html = render_html(realistic_report(), realistic_facts())
    headings = re.findall(
        r'<h3 class="chg-(\w+)"><span aria-hidden="true">(.)</span> ([^<]*) ', html
    )
    assert headings == [
        ("regression", "▼", "Regressions"),
        ("fix", "▲", "Fixes"),
        ("new", "✚", "New"),
    ]


def test_legend_covers_every_status() -> None:
    html = render_html(realistic_report(), realistic_facts())
    for status in Status:
        assert f'<span class="swatch st-{status}">' in html


def test_empty_report() -> None:
    html = render_html(empty_report(), Facts())
    for text in ("No targets.", "No cells.", "None declared.", "No errors."):
        assert f"<p>{text}</p>" in html
    data = _data(html)
    assert {k: v for k, v in data.items() if k != "statuses"} == {
        "behaviours": {},
        "blocks": [],
        "issues": [],
        "overview": {"devices": [], "hops": [], "modes": [], "rows": []},
        "result": [],
        "results": [],
        "scripts": [],
        "targets": [],
        "time": [],
    }


# --- repro scripts and issue texts in a cell's details ---------------------------------------

_OLD, _NEW = "2.6.0-cpu", "2.9.1-cpu"
_COND = CellId(Source.CATALOG, "cond", "simple", Mode.AOT, Device.CPU)
_WHILE = CellId(Source.CATALOG, "while_loop", "simple", Mode.SERIALIZE, Device.CPU)
_SCAN = CellId(Source.UPSTREAM, "scan", "simple", Mode.AOT, Device.CPU)
_MAP = CellId(Source.CATALOG, "map", "simple", Mode.AOT, Device.CPU)
# What the suite records on a failed cell for its repro; the script shows it, the panel not.
_FACTS_PROPS = (
    (Prop.CASE_BUILD.value, "build_cond_simple"),
    (Prop.CASE_SOURCE.value, "import torch\ndef build_cond_simple(device): ..."),
    (Prop.DYNAMIC_SHAPES.value, "None"),
    (Prop.GRAPH_HOPS.value, "cond"),
    (Prop.SAMPLE.value, "0"),
)


def _script(cell: CellId, targets: tuple[str, ...], text: str, suffix: str = "") -> Script:
    return Script(cell=cell, file=f"{cell_file(cell)}{suffix}.py", targets=targets, text=text)


def _repro_case() -> tuple[Report, Repros]:
    """Two targets: cond fails on both with one script, while_loop with a script per
    target, scan fails on the old one without a script and passes on the new, map passes."""
    targets = tuple(
        TargetInfo(
            id=t, version=Version(t[:5]), build="cpu", torch_version=t[:5], source_file=f"{t}.xml"
        )
        for t in (_OLD, _NEW)
    )

    def failed(target: str, cid: CellId, status: Status = Status.ERROR) -> Cell:
        return Cell(
            target=target,
            id=cid,
            status=status,
            error_type="RuntimeError",
            message="boom",
            signature="RuntimeError: boom",
            properties=_FACTS_PROPS,
            time=1.0,
        )

    cells = (
        failed(_OLD, _COND),
        failed(_NEW, _COND),
        failed(_OLD, _WHILE, Status.FAIL),
        failed(_NEW, _WHILE, Status.XFAIL),
        failed(_OLD, _SCAN),
        Cell(target=_NEW, id=_SCAN, status=Status.PASS, time=1.0),
        Cell(target=_OLD, id=_MAP, status=Status.PASS, time=1.0),
        Cell(target=_NEW, id=_MAP, status=Status.PASS, time=1.0),
    )
    repros = Repros(
        scripts=(
            _script(_COND, (_NEW, _OLD), "# cond, both targets\nimport torch\n"),
            _script(_WHILE, (_NEW,), "# while_loop, new\nimport torch\n"),
            _script(_WHILE, (_OLD,), "# while_loop, old\nimport torch\n", f"@{_OLD}"),
        ),
        issues={
            str(_COND): "## cond issue\n",
            str(_WHILE): "## while_loop issue\n",
            str(_SCAN): "## scan issue\n",
        },
        absent={(_OLD, str(_SCAN)): "the JUnit file lacks the case facts"},
    )
    return Report.from_cells(targets=targets, cells=cells, behaviours=()), repros


def _issue_text(data: dict[str, Any], index: int) -> str:
    """An issue text as the page's script puts it together: around the script it quotes."""
    parts = data["issues"][index]
    return parts[0] + data["scripts"][parts[1]] + parts[2] if len(parts) == 3 else parts[0]


def _repro_of(data: dict[str, Any], entry: Decoded) -> tuple[object, ...] | None:
    """A decoded cell's (link, script text, issue text, why no script), or None."""
    assert entry.result is not None
    repro = entry.result[10]
    if repro is None:
        return None
    assert isinstance(repro, list)
    link, script, issue, absent = repro
    return (
        link,
        None if script is None else data["scripts"][script],
        None if issue is None else _issue_text(data, issue),
        absent,
    )


def test_repro_data_round_trip() -> None:
    report, repros = _repro_case()
    html = render_html(report, Facts(), repros)
    data = _data(html)
    got = {(e.target, e.cell): _repro_of(data, e) for e in _decoded_cells(data).values()}
    expected: dict[tuple[str, str], tuple[object, ...] | None] = {}
    for cell in report.cells:
        script = repros.script_for(cell.target, cell.id)
        if cell.status is Status.PASS:
            expected[cell.target, str(cell.id)] = None
            continue
        expected[cell.target, str(cell.id)] = (
            None if script is None else f"repro/{script.file}",
            None if script is None else script.text,
            repros.issues[str(cell.id)],
            repros.absent.get((cell.target, str(cell.id))),
        )
    assert got == expected
    assert got[_OLD, str(_WHILE)] == (
        "repro/catalog.while_loop.simple.serialize.cpu@2.6.0-cpu.py",
        "# while_loop, old\nimport torch\n",
        "## while_loop issue\n",
        None,
    )
    # Each distinct text once: cond's script serves both targets, while_loop's issue text both.
    assert sorted(data["scripts"]) == sorted(s.text for s in repros.scripts)
    issues = [_issue_text(data, i) for i in range(len(data["issues"]))]
    assert sorted(issues) == sorted(repros.issues.values())
    for text in [*data["scripts"], *(p for parts in data["issues"] for p in parts[::2])]:
        assert html.count(json.dumps(text)[1:-1]) == 1, text


def test_case_facts_stay_out_of_the_property_list() -> None:
    report, repros = _repro_case()
    for given in (repros, Repros()):
        data = _data(render_html(report, Facts(), given))
        failed = [e for e in _decoded_cells(data).values() if e.status != "pass"]
        assert failed
        for entry in failed:
            assert entry.result is not None
            assert entry.result[5] == [[Prop.GRAPH_HOPS.value, "cond"]]


def test_without_repros_no_cell_has_one() -> None:
    report, _ = _repro_case()
    data = _data(render_html(report, Facts()))
    assert (data["scripts"], data["issues"]) == ([], [])
    assert all(r[10] is None for r in data["results"])


def test_repro_texts_cannot_escape() -> None:
    report, _ = _repro_case()
    script = f"# {HOSTILE}\nprint('</script><script>alert(1)</script>')\n<!-- x\n"
    file = 'x"><img src=y onerror=alert(1)>/../javascript:alert(1).py'
    hostile = Repros(
        scripts=(Script(cell=_COND, file=file, targets=(_OLD, _NEW), text=script),),
        issues={str(_COND): f"```\n{script}```\n</SCRIPT >"},
    )
    html = render_html(report, Facts(), hostile)
    assert len(re.findall(r"<script", html, flags=re.I)) == 2
    assert len(re.findall(r"</script", html, flags=re.I)) == 2
    assert "<img" not in html and "<!--" not in html
    block = _DATA_BLOCK.search(html)
    assert block is not None and "<" not in block["json"] and ">" not in block["json"]
    data = _data(html)
    (link,) = {r[10][0] for r in data["results"] if r[10] is not None}
    # The file name is one path segment under repro/, percent-encoded: no scheme, no "..".
    assert link.startswith("repro/") and "/" not in link[len("repro/") :] and ":" not in link
    assert data["scripts"] == [script]
    assert [_issue_text(data, 0)] == [hostile.issues[str(_COND)]]


def test_an_issue_text_quotes_its_script_without_carrying_it_twice() -> None:
    report, repros = _repro_case()
    script = next(s for s in repros.scripts if s.cell == _COND)
    issue = f"## cond issue\n\n```python\n{script.text}```\n\n## Error\n"
    quoting = Repros(repros.scripts, {**repros.issues, str(_COND): issue}, repros.absent)
    html = render_html(report, Facts(), quoting)
    data = _data(html)
    (index,) = {
        r[10][2]
        for r in data["results"]
        if r[10] and (r[10][0] or "").startswith("repro/catalog.cond")
    }
    assert data["issues"][index] == [
        "## cond issue\n\n```python\n",
        data["scripts"].index(script.text),
        "```\n\n## Error\n",
    ]
    assert _issue_text(data, index) == issue
    assert html.count(json.dumps(script.text)[1:-1]) == 1
