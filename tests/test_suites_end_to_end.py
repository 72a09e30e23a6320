"""The contract, end to end: the real suite on the installed torch writes JUnit, compat reads it.

Only compat's command line and report.json's documented layout are used
("cells": rows with "id" and "results" [{"target", "status"}]; "targets":
[{"id"}]), so compat's insides can change without touching this test.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

from compat.__main__ import main  # noqa: E402
from suites.schema import CellId, Prop, Status, SuiteProp, torch_build_tag  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TARGET = "2.13.0-cpu"
# The catalogue's first cond and while_loop rows, and upstream's (while_loop_*: its variants
# named as HOPs): what `cond*` and `while_loop*` matched before the catalogue grew.
HOPS = ("cond.simple", "cond.parameter", "while_loop.simple", "while_loop.closure", "while_loop_*")


@pytest.fixture(scope="module")
def junit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The suite's JUnit for a few cond and while_loop cases (about 25 s on 2 cores)."""
    path = tmp_path_factory.mktemp("suite") / "t.xml"
    args = ["--junit", str(path), "--target", TARGET]
    args += [a for hop in HOPS for a in ("--hop", hop)]
    proc = subprocess.run(
        [sys.executable, "-m", "suites", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return path


def _suite_cells(junit: Path) -> tuple[dict[str, str], dict[str, Status]]:
    """The suite's properties and {cell id: status}, read back with ElementTree."""
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    props = {p.get("name", ""): p.get("value", "") for p in suite.iterfind("properties/property")}
    cells = {}
    for case in suite.iterfind("testcase"):
        cell = CellId.from_junit(case.get("classname", ""), case.get("name", ""))
        status = {p.get("name"): p.get("value", "") for p in case.iterfind("properties/property")}[
            Prop.STATUS.value
        ]
        cells[str(cell)] = Status(status)
    return props, cells


def test_the_suite_describes_its_torch(junit: Path) -> None:
    props, cells = _suite_cells(junit)
    assert props[SuiteProp.TARGET] == TARGET
    version = torch.__version__
    assert props[SuiteProp.BUILD] == torch_build_tag(
        version, torch.version.cuda, getattr(torch.version, "hip", None)
    )
    assert {CellId.parse(c).hop for c in cells} >= {"cond", "while_loop"}


def test_compat_reads_every_cell_the_suite_wrote(junit: Path, tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(["report", str(junit), "--out", str(tmp_path / "reports")], stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    (report,) = (tmp_path / "reports").glob("*/report.json")
    data = json.loads(report.read_text(encoding="utf-8"))

    assert [t["id"] for t in data["targets"]] == [TARGET]
    read = {row["id"]: {r["target"]: r["status"] for r in row["results"]} for row in data["cells"]}
    _, written = _suite_cells(junit)
    assert written, "the suite wrote no cells"
    # One target has no older version that reproduced a behaviour: its xpass is a plain pass.
    settled = {Status.XPASS: Status.PASS}
    assert {cell: read.get(cell, {}).get(TARGET) for cell in written} == {
        cell: settled.get(status, status).value for cell, status in written.items()
    }
    assert Status.XPASS in written.values()  # the settling above is exercised
