"""End to end in this torch: the suite's JUnit -> the report's repro/ -> each script, run.

The suite runs a few cases that fail in this torch, one of each kind a
script builds differently (a catalogue case, a hop_db op info, an ExportDB
example in the dynamic mode, a user case whose builder calls a helper of its
own module); the report writes their scripts; each script then runs in a
fresh interpreter with the project unimportable (what repro-check does) and
must fail with its cell's exception type and signature.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from compat.__main__ import main
from compat.repro_check import expected_cells, reproduces, run_script

pytestmark = pytest.mark.torch
ROOT = Path(__file__).resolve().parent.parent
CASES = (
    "catalog:while_loop.int_carry",  # serialize: SerializeError on save
    "upstream:invoke_quant.simple",  # hop_db: SpecViolationError on 2.13
    "exportdb:no_hop.dynamic_shape_slicing",  # dynamic: the batch specialised
    "user:while_loop.helper_body",
)
USER_MODULE = '''
"""A user case whose builder calls a helper of its own module."""

import torch

from suites.cases import Case, Sample, module_of


def count_body(i, x):
    return i + 1, x.cos()


def build_helper_body(device):
    """while_loop with a Python int counter and a body from a helper"""
    from torch._higher_order_ops.while_loop import while_loop

    def forward(x):
        return while_loop(lambda i, x: i < 3, count_body, (0, x))

    return module_of(forward), (Sample((torch.randn(3, 4, device=device),)),)


CASES = [Case("while_loop", "helper_body", build_helper_body, since="2.7")]
'''


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("repro")
    (work / "cases").mkdir()
    (work / "cases" / "myrepro.py").write_text(textwrap.dedent(USER_MODULE))
    junit = work / "junit" / "local.xml"
    cmd = [sys.executable, "-m", "suites", "--junit", str(junit), "--target", "local"]
    cmd += ["--case-module", "myrepro", "--case-path", str(work / "cases"), "--no-recheck"]
    for mode in ("aot", "serialize", "dynamic"):
        cmd += ["--mode", mode]
    for case in CASES:
        cmd += ["--case", case]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert junit.exists(), done.stderr[-2000:]
    out = io.StringIO()
    assert main(["report", str(junit.parent), "--out", str(work / "reports")], stdout=out) == 0
    (folder,) = [p for p in (work / "reports").iterdir() if p.is_dir()]
    return folder


def test_every_failed_cell_of_each_kind_has_a_script(report: Path) -> None:
    cells = json.loads((report / "repro" / "index.json").read_text())["cells"]
    for case in CASES:
        assert any(cell.startswith(case + "/") for cell in cells), (case, sorted(cells))


def test_each_script_fails_as_its_cell_did_with_the_project_out_of_reach(report: Path) -> None:
    outcomes = []
    for expected in expected_cells(report):
        text = expected.script.read_text()
        assert "suites" not in text.replace("torch-hop-compat", ""), expected.cell
        # The script alone: run from an empty folder, the project's packages unimportable.
        alone = expected.script.with_suffix(".alone.py")
        block = 'import sys\nsys.modules["suites"] = sys.modules["compat"] = None\n'
        future = "from __future__ import annotations\n"
        head, found, tail = text.partition(future)
        alone.write_text(head + future + block + tail if found else block + text)
        ran = run_script(sys.executable, alone, 600)
        outcomes.append(
            (expected.cell, expected.signature, ran.describe(), reproduces(expected, ran))
        )
    assert outcomes and all(ok for *_, ok in outcomes), [o for o in outcomes if not o[3]]


def test_the_catalogue_script_is_short_and_inlines_the_case(report: Path) -> None:
    text = (report / "repro" / "catalog.while_loop.int_carry.serialize.cpu.py").read_text()
    assert len(text.splitlines()) < 60
    assert "def build_while_loop_int_carry(device" in text
    assert "torch.export.save" in text and "check(ep.module(), args, kwargs)" in text


def test_a_user_helper_is_inlined(report: Path) -> None:
    text = (report / "repro" / "user.while_loop.helper_body.serialize.cpu.py").read_text()
    assert "def count_body(i, x):" in text and "def build_helper_body(device)" in text


def test_a_crashed_and_a_timed_out_cell_have_scripts_that_crash_and_hang(tmp_path: Path) -> None:
    """The planted rows: the runner marks them crash and timeout, without a sample index;
    their scripts, built from the facts the runner attached, crash and hang in turn."""
    junit = tmp_path / "junit" / "local.xml"
    cmd = [sys.executable, "-m", "suites", "--junit", str(junit), "--target", "local"]
    cmd += ["--source", "catalog", "--hop", "_planted*", "--mode", "aot", "--timeout", "10"]
    env = {**os.environ, "HOP_SUITE_PLANTED": "1"}
    subprocess.run(cmd, cwd=ROOT, capture_output=True, env=env, timeout=600, check=False)
    assert (
        main(["report", str(junit.parent), "--out", str(tmp_path / "r")], stdout=io.StringIO()) == 0
    )
    (folder,) = [p for p in (tmp_path / "r").iterdir() if p.is_dir()]
    expected = {e.cell: e for e in expected_cells(folder)}
    crash = expected["catalog:_planted_crash.segfault/aot[cpu]"]
    hang = expected["catalog:_planted_hang.sleep/aot[cpu]"]
    assert "for s in samples:" in crash.script.read_text()  # no sample index: each in turn
    assert reproduces(crash, run_script(sys.executable, crash.script, 60))
    assert reproduces(hang, run_script(sys.executable, hang.script, 10))
