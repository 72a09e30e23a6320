"""suites.aoti: one real AOTInductor compile end to end, and the mode's gaps.

The compile is the cost (about 20-30 s cold on two cores), so there is one:
the catalogue's cond.simple, through ``python -m suites`` with ``--scratch``
in tmp_path, which also checks where the package and the compile cache go.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from suites import aoti, modes  # noqa: E402
from suites.body import run_cell  # noqa: E402
from suites.cases import PLANTED_ABSENT_ENTRY, requires  # noqa: E402
from suites.catalog import CATALOG  # noqa: E402
from suites.schema import Device, Gap, Mode, Prop, Status  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
COND = next(c for c in CATALOG if (c.hop, c.variant) == ("cond", "simple"))


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Path]:
    """cond.simple's aoti cell, run by the suite with a scratch folder; its properties."""
    if modes.missing_reason(Mode.AOTI) is not None:
        pytest.skip(f"aoti cannot run here: {modes.missing_reason(Mode.AOTI)}")
    tmp = tmp_path_factory.mktemp("aoti")
    junit, scratch = tmp / "junit.xml", tmp / "scratch"
    args = ["--junit", str(junit), "--source", "catalog", "--hop", "cond.simple"]
    args += ["--mode", "aoti", "--scratch", str(scratch), "--no-recheck"]
    proc = subprocess.run(
        [sys.executable, "-m", "suites", *args],
        cwd=REPO,
        env={**os.environ, "HOP_SUITE_PLANTED": "0"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    (case,) = ET.parse(junit).getroot().iter("testcase")
    return {p.get("name", ""): p.get("value", "") for p in case.iter("property")}, scratch


def test_a_catalogue_case_compiles_loads_and_matches_eager(
    compiled: tuple[dict[str, str], Path],
) -> None:
    props, _ = compiled
    assert (props[Prop.MODE], props[Prop.STATUS]) == ("aoti", "pass")
    assert float(props[Prop.COMPILE_SECONDS]) > 0
    assert props[Prop.STRICT] in ("true", "false")


def test_the_package_and_the_compile_cache_are_in_the_scratch_folder(
    compiled: tuple[dict[str, str], Path],
) -> None:
    _, scratch = compiled
    assert [p.name for p in (scratch / "aoti").iterdir()] == ["catalog_cond.simple-cpu-0.pt2"]
    assert any((scratch / "inductor").rglob("*"))


def test_samples_of_one_signature_share_one_compile(
    compiled: tuple[dict[str, str], Path],
) -> None:
    # cond.simple has two samples, x and -x: one package (above), both run and compared.
    props, _ = compiled
    assert props[Prop.SAMPLES] == "2"


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (((torch.ones(2, 3),), {}), ((-torch.ones(2, 3),), {}), True),
        (((torch.ones(2, 3),), {}), ((torch.ones(3, 3),), {}), False),
        (((torch.ones(2),), {}), ((torch.ones(2, dtype=torch.int64),), {}), False),
        (((torch.ones(2), 1), {}), ((torch.ones(2), 2), {}), False),
        (((torch.ones(2),), {"k": torch.ones(2)}), ((torch.ones(2), torch.ones(2)), {}), False),
    ],
)
def test_input_signature_is_what_export_specialises_on(a: tuple, b: tuple, same: bool) -> None:
    assert (aoti.input_signature(*a) == aoti.input_signature(*b)) is same


def test_a_release_without_the_aoti_api_makes_the_mode_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The gap logic on an entry point this torch does not have, as before 2.6.
    needs = requires("torch._inductor:aoti_compile_and_package", PLANTED_ABSENT_ENTRY)
    monkeypatch.setitem(modes.MODE_NEEDS, Mode.AOTI, needs)
    result = run_cell(COND, Mode.AOTI, Device.CPU)
    assert result.status is Status.MISSING
    assert result.prop(Prop.GAP) == Gap.MODE_ABSENT
    assert result.prop(Prop.REASON) == (
        f"torch {torch.__version__} has no torch._hop_compat_no_such_entry"
    )


def test_no_cpp_compiler_makes_the_mode_missing() -> None:
    # Inductor's own search, over a compiler list that names none that exists.
    if modes.missing_reason(Mode.AOTI) is not None:
        pytest.skip("aoti is missing here for another reason")
    from torch._inductor import config

    with config.patch({"cpp.cxx": ("hop-compat-no-such-c++",)}):
        reason = modes.missing_reason(Mode.AOTI)
    assert reason is not None and reason.startswith("AOTInductor finds no C++ compiler here")
    assert modes.missing_reason(Mode.AOTI) is None
