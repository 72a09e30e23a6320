"""The suite agrees with the seed file, run by pytest in this same interpreter.

For every upstream case in the four seed modes on cpu, the seed's outcome
(from pytest's own JUnit) and the suite's cell must tell the same story:

- seed passed: ours pass, or xfail on the while_loop behaviour (the seed
  asserts that raise);
- seed failed because the while_loop ``assertRaises`` did not raise: ours xpass;
- seed failed or errored otherwise: ours fail or error;
- seed xfail (an op info's expectedFailure): ours a raw fail/error with the
  ``expectedFailure`` expectation recorded;
- seed skipped: ours has a skip expectation recorded (ours still measures);
- no seed test at all (the op info has no float32 on cpu): ours records that.

The seed is found at $HOP_SEED_FILE, else ../shared/reference/test_hop_seed.py
next to the repository. On torch >= 2.7 it collects only with the plugin in
tests/data/suites/seed_hop_db_alias.py. $HOP_SEED_HOPS (comma-separated hop
names) narrows both runs to those HOPs; all four modes stay.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("torch")

from suites.schema import SEED_MODES, CellId, Device, Mode, Prop, Status
from suites.upstream import SEED_TESTS, SKIP_TOKENS, XFAIL_TOKEN

REPO = Path(__file__).resolve().parent.parent
PLUGIN_DIR = Path(__file__).resolve().parent / "data" / "suites"
SEED = Path(os.environ.get("HOP_SEED_FILE") or REPO.parent / "shared/reference/test_hop_seed.py")
SEED_BEHAVIOUR = "while_loop.serde-carried-inputs"
# Longest prefix first, though none of the four is a prefix of another.
PREFIXES = sorted(((f"{t}_", m) for m, t in SEED_TESTS.items()), key=lambda p: -len(p[0]))
SUFFIX = re.compile(r"_(?P<device>cpu)_float32$")
NARROW = tuple(h for h in os.environ.get("HOP_SEED_HOPS", "").split(",") if h)

pytestmark = pytest.mark.torch


@dataclass(frozen=True)
class SeedOutcome:
    """One seed test's result as pytest's JUnit reports it."""

    kind: str  # passed | failed | xfail | skipped
    message: str


def _parse_seed_name(name: str) -> tuple[Mode, str, Device] | None:
    """``test_serialize_export_while_loop_simple_cpu_float32`` -> (mode, op part, device)."""
    suffix = SUFFIX.search(name)
    if suffix is None:
        return None
    for prefix, mode in PREFIXES:
        if name.startswith(prefix):
            return mode, name[len(prefix) : suffix.start()], Device(suffix["device"])
    return None


def _seed_outcome(case: ET.Element) -> SeedOutcome:
    for child in case:
        if child.tag == "skipped":
            kind = "xfail" if child.get("type") == "pytest.xfail" else "skipped"
            return SeedOutcome(kind, child.get("message", ""))
        if child.tag in ("failure", "error"):
            return SeedOutcome("failed", f"{child.get('message', '')}\n{child.text or ''}")
    return SeedOutcome("passed", "")


def _seed_key(hop: str, variant: str) -> str:
    # An op info's formatted name: name, then _variant_test_name when it has one.
    return hop if variant == "default" else f"{hop}_{variant}"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str, str]:
    """The seed under pytest and the suite on upstream cases, side by side (2 cores)."""
    if not SEED.is_file():
        pytest.skip(f"no seed file at {SEED} (set HOP_SEED_FILE)")
    tmp = tmp_path_factory.mktemp("seed")
    seed_xml, suite_xml = tmp / "seed.xml", tmp / "suite.xml"
    seed_cmd = [sys.executable, "-m", "pytest", str(SEED), "-p", "seed_hop_db_alias"]
    seed_cmd += ["-p", "no:cacheprovider", "-q", "--junitxml", str(seed_xml)]
    seed_cmd += ["-k", " or ".join(f"export_{h}_" for h in NARROW)] if NARROW else []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PLUGIN_DIR), str(REPO)])}
    seed = subprocess.Popen(
        seed_cmd, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    suite_cmd = [sys.executable, "-m", "suites", "--junit", str(suite_xml), "--source", "upstream"]
    suite_cmd += ["--device", "cpu"] + [a for m in SEED_MODES for a in ("--mode", m.value)]
    suite_cmd += [a for h in NARROW for a in ("--hop", h)]
    suite = subprocess.run(suite_cmd, cwd=REPO, capture_output=True, text=True, timeout=1800)
    seed_out, _ = seed.communicate(timeout=1800)
    assert suite.returncode == 0, suite.stderr[-3000:]
    assert seed_xml.exists(), seed_out[-3000:]
    return seed_xml, suite_xml, seed_out, suite.stdout


def _load(runs: tuple[Path, Path, str, str]) -> tuple[dict, dict]:
    seed_xml, suite_xml, _, _ = runs
    seed: dict[tuple[Mode, str, Device], SeedOutcome] = {}
    for case in ET.parse(seed_xml).getroot().iter("testcase"):
        parsed = _parse_seed_name(case.get("name", ""))
        if parsed is not None:
            seed[parsed] = _seed_outcome(case)
    ours: dict[tuple[Mode, str, Device], tuple[CellId, dict[str, str]]] = {}
    for case in ET.parse(suite_xml).getroot().iter("testcase"):
        cell = CellId.from_junit(case.get("classname", ""), case.get("name", ""))
        props = {
            p.get("name", ""): p.get("value", "") for p in case.iterfind("properties/property")
        }
        ours[(cell.mode, _seed_key(cell.hop, cell.variant), cell.device)] = (cell, props)
    return seed, ours


def _disagreement(seed: SeedOutcome | None, props: dict[str, str]) -> str | None:
    """Why these two outcomes do not tell the same story, or None when they do."""
    status = Status(props[Prop.STATUS])
    expectation = props.get(Prop.EXPECTATION, "")
    tokens = [t.strip() for t in expectation.split(",") if t.strip()]
    skip_expected = any(t.startswith(SKIP_TOKENS) for t in tokens)
    behaviours = props.get(Prop.BEHAVIOURS, "").split(",")
    if seed is None:
        ok = any(t.startswith("no-float32") for t in tokens)
    elif seed.kind == "passed":
        ok = status is Status.PASS or (status is Status.XFAIL and SEED_BEHAVIOUR in behaviours)
    elif seed.kind == "failed" and "RuntimeError not raised" in seed.message:
        ok = status is Status.XPASS
    elif seed.kind == "failed":
        ok = status in (Status.FAIL, Status.ERROR)
    elif seed.kind == "xfail":
        ok = status in (Status.FAIL, Status.ERROR) and XFAIL_TOKEN in tokens
    else:
        ok = skip_expected
    if ok:
        return None
    return f"seed {seed.kind if seed else 'absent'} vs ours {status} (expectation {expectation!r})"


def test_every_upstream_cell_agrees_with_the_seed(runs: tuple[Path, Path, str, str]) -> None:
    seed, ours = _load(runs)
    assert ours, "the suite ran no upstream cell"
    disagreements = [
        f"{cell}: {why}"
        for key, (cell, props) in sorted(ours.items(), key=lambda kv: str(kv[1][0]))
        if (why := _disagreement(seed.get(key), props)) is not None
    ]
    assert disagreements == []


def test_every_seed_test_has_a_cell(runs: tuple[Path, Path, str, str]) -> None:
    seed, ours = _load(runs)
    assert {mode for mode, _, _ in seed} == set(SEED_MODES)
    unmatched = sorted(set(seed) - set(ours))
    if NARROW:  # -k matches substrings, so it may keep a HOP whose name extends a wanted one
        assert len(unmatched) < len(seed)
    else:
        assert unmatched == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("test_aot_export_cond_simple_cpu_float32", (Mode.AOT, "cond_simple", Device.CPU)),
        (
            "test_serialize_export_while_loop_stack_output_simple_cpu_float32",
            (Mode.SERIALIZE, "while_loop_stack_output_simple", Device.CPU),
        ),
        (
            "test_pre_dispatch_export_flex_attention_backward_explicit_buffers_cpu_float32",
            (Mode.PRE_DISPATCH, "flex_attention_backward_explicit_buffers", Device.CPU),
        ),
        ("test_all_hops_have_op_info", None),
        ("test_retrace_export_map_simple_cpu_float64", None),
    ],
)
def test_seed_names_parse_against_known_prefixes(
    name: str, expected: tuple[Mode, str, Device] | None
) -> None:
    assert _parse_seed_name(name) == expected


@pytest.mark.parametrize(
    ("seed", "props", "agrees"),
    [
        (SeedOutcome("passed", ""), {"status": "pass"}, True),
        (SeedOutcome("passed", ""), {"status": "xfail", "behaviours": SEED_BEHAVIOUR}, True),
        (SeedOutcome("passed", ""), {"status": "error"}, False),
        (
            SeedOutcome("failed", "AssertionError: RuntimeError not raised"),
            {"status": "xpass"},
            True,
        ),
        (SeedOutcome("failed", "RuntimeError not raised"), {"status": "error"}, False),
        (SeedOutcome("failed", "Exception: boom"), {"status": "error"}, True),
        (SeedOutcome("failed", "Exception: boom"), {"status": "pass"}, False),
        (SeedOutcome("xfail", ""), {"status": "error", "expectation": "expectedFailure"}, True),
        (SeedOutcome("xfail", ""), {"status": "error"}, False),
        (
            SeedOutcome("skipped", ""),
            {"status": "error", "expectation": "onlyCUDA, expectedFailure"},
            True,
        ),
        (SeedOutcome("skipped", ""), {"status": "pass"}, False),
        (None, {"status": "error", "expectation": "no-float32-on-cpu"}, True),
        (None, {"status": "pass"}, False),
    ],
)
def test_agreement_rules(seed: SeedOutcome | None, props: dict[str, str], agrees: bool) -> None:
    assert (_disagreement(seed, props) is None) is agrees
