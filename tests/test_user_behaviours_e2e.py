"""A user-declared behaviour tags its cells in every output, and only while declared.

Runs the real CLI on the suite's real JUnit for flex_attention (torch 2.13.0+cpu,
tests/data/junit/flex/), once with a behaviour in the configuration and once without.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLEX = ROOT / "tests" / "data" / "junit" / "flex"
BEHAVIOUR_ID = "flex_attention.callable-input"
DECLARED = f"""
[tool.compat]
versions = ["2.13.0"]

[[tool.compat.behaviours]]
id = "{BEHAVIOUR_ID}"
hop = "flex_attention*"
mode = "*"
message = "(?:not supported or pytree-flattenable|Unsupported input type <class 'function'>)"
sentence = "export cannot take flex_attention's score_mod / mask_mod callables as inputs."
links = ["https://docs.pytorch.org/docs/stable/export.html"]
"""
UNDECLARED = """
[tool.compat]
versions = ["2.13.0"]
"""


def _command(out: Path, config: Path) -> list[str]:
    report = ["report", str(FLEX), "--out", str(out), "--config", str(config)]
    return [sys.executable, "-m", "compat", *report]


def _report(tmp_path: Path, config_text: str) -> Path:
    config = tmp_path / "pyproject.toml"
    config.write_text(config_text, encoding="utf-8")
    out = tmp_path / "reports"
    subprocess.run(_command(out, config), cwd=ROOT, check=True, capture_output=True, text=True)
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    return folder


def _tagged_cells_json(folder: Path) -> set[str]:
    """Cells whose behaviours include ours, from report.json, as 'target/cell'."""
    data = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    return {
        f"{result['target']}/{cell['id']}"
        for cell in data["cells"]
        for result in cell["results"]
        if BEHAVIOUR_ID in result.get("behaviours", [])
    }


def _tagged_cells_junit(folder: Path) -> set[str]:
    tagged = set()
    for case in ET.parse(folder / "junit.xml").getroot().iter("testcase"):
        props = {p.get("name"): p.get("value") or "" for p in case.iter("property")}
        if BEHAVIOUR_ID in props.get("behaviours", "").split(","):
            tagged.add(f"{case.get('classname')}/{case.get('name')}")
    return tagged


def test_declared_behaviour_tags_the_flattening_errors_in_every_output(tmp_path: Path) -> None:
    folder = _report(tmp_path, DECLARED)
    from_json = _tagged_cells_json(folder)
    from_junit = _tagged_cells_junit(folder)
    # The upstream flex_attention cases fail to flatten their callable inputs in every
    # mode (3 cases x 5 modes); the catalogue case, which closes over its callables, is
    # not tagged.
    assert len(from_json) == 15, sorted(from_json)
    assert all(":flex_attention" in c for c in from_json)
    assert not any("catalog:" in c for c in from_json)
    assert len(from_junit) == 15
    assert BEHAVIOUR_ID in (folder / "report.md").read_text(encoding="utf-8")
    assert BEHAVIOUR_ID in (folder / "report.html").read_text(encoding="utf-8")


def test_removing_the_behaviour_removes_every_tag(tmp_path: Path) -> None:
    folder = _report(tmp_path, UNDECLARED)
    for name in ("report.json", "report.md", "report.html", "junit.xml"):
        assert BEHAVIOUR_ID not in (folder / name).read_text(encoding="utf-8"), name


@pytest.mark.parametrize("bad_key", ["mesage", "hops"])
def test_a_misspelt_key_is_named_with_a_suggestion(tmp_path: Path, bad_key: str) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text(DECLARED.replace("message =", f"{bad_key} =", 1), encoding="utf-8")
    run = subprocess.run(_command(tmp_path / "r", config), cwd=ROOT, capture_output=True, text=True)
    assert run.returncode != 0
    assert bad_key in run.stderr
    assert "did you mean" in run.stderr
