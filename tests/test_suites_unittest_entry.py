"""suites/test_export.py: the same cells under unittest and pytest, one generated method each."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest.importorskip("torch")

from suites.collect import identifier
from suites.schema import CellId, Device, Mode, Source

pytestmark = pytest.mark.torch

REPO = Path(__file__).resolve().parent.parent
CELLS = {"HOP_SUITE_SOURCE": "catalog", "HOP_SUITE_HOP": "while_loop.simple,cond.simple"}


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "HOP_SUITE_DEVICE": "cpu", **CELLS, **extra}


@pytest.mark.parametrize(
    "cell",
    [
        CellId(Source.UPSTREAM, "while_loop_stack_output", "simple", Mode.PRE_DISPATCH, Device.CPU),
        CellId(Source.CATALOG, "flex_attention", "causal", Mode.NON_STRICT, Device.CUDA),
        CellId(Source.UPSTREAM, "map", "triple-nested", Mode.AOT, Device.CPU),
    ],
)
def test_method_names_are_identifiers(cell: CellId) -> None:
    name = identifier(cell)
    assert name.isidentifier() and name.startswith("test_")


def test_unittest_discovers_one_method_per_cell_and_maps_outcomes() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "unittest", "-v", "suites.test_export"],
        cwd=REPO,
        env=_env(HOP_SUITE_MODE="aot,serialize"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = proc.stderr
    assert "Ran 4 tests" in out, out[-3000:]
    assert "catalog:cond.simple/aot[cpu] ... ok" in out
    assert "catalog:while_loop.simple/aot[cpu] ... ok" in out
    # The seed's while_loop behaviour: reproduced = expected failure, gone = unexpected success.
    serialize = [
        line for line in out.splitlines() if "while_loop.simple/serialize[cpu] ..." in line
    ]
    assert serialize and serialize[0].rsplit("... ", 1)[1] in (
        "expected failure",
        "unexpected success",
    )


def test_pytest_collects_the_same_cells(tmp_path: Path) -> None:
    junit = tmp_path / "pytest.xml"
    args = ["-q", "-p", "no:cacheprovider", "suites/test_export.py", "--junitxml", str(junit)]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", *args],
        cwd=REPO,
        env=_env(HOP_SUITE_MODE="non_strict", HOP_SUITE_HOP="cond.simple"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    names = {tc.get("name") for tc in ET.parse(junit).getroot().iter("testcase")}
    assert names == {"test_catalog__cond__simple__non_strict__cpu"}
