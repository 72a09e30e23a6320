"""suites.exportdb on the installed torch: ExportDB's examples as cases, and graph_hops."""

from __future__ import annotations

import importlib
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from suites import dynamic  # noqa: E402
from suites.cases import Sample  # noqa: E402
from suites.exportdb import (  # noqa: E402
    EXPORTDB_MODULE,
    IMPORTABLE,
    NO_HOP,
    declared,
    graph_hops,
    hop_of,
    load_exportdb,
    support_level,
)
from suites.schema import (  # noqa: E402
    EXPECT_EXPORTDB_SUPPORTED,
    EXPECT_EXPORTDB_UNSUPPORTED,
    CellId,
    Device,
    Mode,
    Prop,
    Source,
    Status,
    SuiteProp,
)

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = importlib.import_module(EXPORTDB_MODULE).all_examples()
DB = load_exportdb()
BY_NAME = {c.variant: c for c in DB.cases}


def test_every_example_is_one_well_formed_case() -> None:
    assert DB.status == IMPORTABLE
    assert sorted(BY_NAME) == sorted(EXAMPLES)  # ExportDB's names are plain already
    ids = [c.id for c in DB.cases]
    assert len(ids) == len(set(ids))
    for case in DB.cases:
        assert case.source is Source.EXPORTDB
        cell = case.cell(Mode.AOT, Device.CPU)
        assert CellId.parse(str(cell)) == cell
        assert CellId.from_junit(cell.classname, cell.name) == cell
        assert str(cell).startswith(f"exportdb:{case.hop}.{case.variant}/")


def test_the_hop_is_the_one_the_tags_name() -> None:
    hops = {name: BY_NAME[name].hop for name in EXAMPLES}
    for name, example in EXAMPLES.items():
        expected = "cond" if "torch.cond" in example.tags else None
        expected = expected or ("map" if "torch.map" in example.tags else NO_HOP)
        assert hops[name] == expected, name
    assert {"cond", "map", NO_HOP} <= set(hops.values())
    assert BY_NAME["dynamic_shape_map"].hop_ops == ("map_impl",)


@pytest.mark.parametrize(
    ("tags", "hop"),
    [
        ({"torch.cond", "torch.dynamic-shape"}, "cond"),
        ({"torch.map"}, "map"),
        ({"python.closure"}, NO_HOP),
        (set(), NO_HOP),
        (None, NO_HOP),  # an example without tags
        ({"torch.map", "torch.cond"}, "cond"),  # two HOPs: the first by name, every run
    ],
)
def test_hop_of(tags: set[str] | None, hop: str) -> None:
    assert hop_of(tags) == hop


def test_the_declared_level_is_the_expectation_where_the_claim_applies() -> None:
    for name, example in EXAMPLES.items():
        level = example.support_level.name
        token = EXPECT_EXPORTDB_SUPPORTED if level == "SUPPORTED" else EXPECT_EXPORTDB_UNSUPPORTED
        case = BY_NAME[name]
        # With its own dynamic_shapes the claim is about the dynamic mode; else the static ones.
        own = getattr(example, "dynamic_shapes", None) is not None
        claimed = {Mode.DYNAMIC} if own else set(Mode) - {Mode.DYNAMIC, Mode.AOTI}
        for mode in Mode:
            want = f"{token}: {level}" if mode in claimed else ""
            assert {case.expectation(mode, d) for d in Device} == {want}, (name, mode)


@pytest.mark.parametrize(
    ("level", "expectation"),
    [
        ("SUPPORTED", "exportdb-supported: SUPPORTED"),
        ("NOT_SUPPORTED_YET", "exportdb-unsupported: NOT_SUPPORTED_YET"),
    ],
)
def test_declared(level: str, expectation: str) -> None:
    assert declared(level, False, Mode.SERIALIZE, Device.CUDA) == expectation
    assert declared(level, True, Mode.DYNAMIC, Device.CUDA) == expectation
    assert declared(level, True, Mode.SERIALIZE, Device.CUDA) == ""  # its own shapes: dynamic
    assert declared(level, False, Mode.DYNAMIC, Device.CUDA) == ""  # our marks, not its claim
    assert declared(level, False, Mode.AOTI, Device.CUDA) == ""  # a compiler is beyond export


def test_a_missing_support_level_counts_as_supported() -> None:
    # an older release's example may lack the field: ExportCase's default is SUPPORTED
    assert support_level(object()) == "SUPPORTED"


def test_pattern_inputs_and_dynamic_shapes_come_from_the_example() -> None:
    for name, example in EXAMPLES.items():
        case = BY_NAME[name]
        first = next(line.strip() for line in example.description.splitlines() if line.strip())
        assert case.pattern == first
        module, (sample,) = case.build("cpu")
        assert isinstance(module, torch.nn.Module)
        assert len(sample.args) == len(example.example_args)
        assert set(sample.kwargs) == set(example.example_kwargs or {})
        if example.dynamic_shapes is None:
            assert case.dynamic_shapes is None
        else:
            assert case.dynamic_shapes is not None
            assert case.dynamic_shapes(sample) is example.dynamic_shapes
    assert any(c.dynamic_shapes is not None for c in DB.cases)


def test_a_dynamic_cell_names_the_examples_own_shapes_as_its_spec() -> None:
    # A repro passes example.dynamic_shapes itself: no rendering of ExportDB's own Dims.
    case = next(c for c in DB.cases if c.dynamic_shapes is not None)
    assert case.build.name in EXAMPLES  # type: ignore[attr-defined]
    module, (sample,) = case.build("cpu")
    notes: dict[str, str] = {}
    dynamic.derive(module, sample, notes, shapes=case.dynamic_shapes)
    assert notes[Prop.DYNAMIC_SHAPES] == dynamic.EXAMPLE_SPEC == "example.dynamic_shapes"


def test_each_build_is_a_fresh_copy() -> None:
    # user_input_mutation mutates its input in forward: a second build must not see it
    case = BY_NAME["user_input_mutation"]
    module, (sample,) = case.build("cpu")
    before = sample.args[0].clone()
    module(*sample.args)
    assert not torch.equal(sample.args[0], before)
    _, (again,) = case.build("cpu")
    assert torch.equal(again.args[0], before)
    assert again.args[0] is not EXAMPLES["user_input_mutation"].example_args[0]


def test_an_unimportable_exportdb_gives_no_cases_and_says_why() -> None:
    db = load_exportdb("torch._export.db.no_such_examples")
    assert db.cases == ()
    assert db.status.startswith("unavailable: ModuleNotFoundError: No module named ")


# The module, not its function of the same name (which shadows it as an attribute in 2.13).
MAP = importlib.import_module("torch._higher_order_ops.map").map


class _Nested(torch.nn.Module):  # type: ignore[misc]
    def forward(self, xs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        def body(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return torch.cond(x.sum() > 0, lambda a: a.cos(), lambda a: a.sin(), (x + y,))

        return MAP(body, xs, y)


def test_graph_hops_looks_into_every_subgraph() -> None:
    xs, y = torch.randn(3, 2), torch.randn(2)
    program = torch.export.export(_Nested(), (xs, y))
    # map in the graph, cond only in map's body: both are found
    assert graph_hops(program) == ("cond", "map_impl")
    assert graph_hops(program.graph_module) == ("cond", "map_impl")
    plain = torch.export.export(torch.nn.ReLU(), (xs,))
    assert graph_hops(plain) == ()


@pytest.mark.filterwarnings("ignore:Pred is a Python constant:UserWarning")
def test_a_static_predicate_leaves_no_cond_in_the_graph() -> None:
    # Why graph_hops matters: cond_predicate's predicate is a shape test, which a static
    # export specialises; the row is tagged torch.cond, the program holds no cond.
    module, (sample,) = BY_NAME["cond_predicate"].build("cpu")
    assert graph_hops(torch.export.export(module, sample.args, dict(sample.kwargs))) == ()


def test_an_exportdb_case_runs_through_the_suite(tmp_path: Path) -> None:
    junit = tmp_path / "exportdb.xml"
    case = "exportdb:cond.cond_closed_over_variable"
    args = ["--junit", str(junit), "--source", "exportdb", "--case", case, "--no-recheck"]
    args += ["--mode", "aot", "--mode", "serialize"]
    proc = subprocess.run(
        [sys.executable, "-m", "suites", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    props = {p.get("name"): p.get("value") for p in suite.iterfind("properties/property")}
    assert props[SuiteProp.EXPORTDB] == IMPORTABLE
    assert SuiteProp.HOP_DB not in props  # upstream was not asked for
    cells = {}
    for testcase in suite.iterfind("testcase"):
        cell = CellId.from_junit(testcase.get("classname", ""), testcase.get("name", ""))
        cells[str(cell)] = {
            p.get("name"): p.get("value") for p in testcase.iterfind("properties/property")
        }
    assert sorted(cells) == [f"{case}/aot[cpu]", f"{case}/serialize[cpu]"]
    for cell in cells.values():
        assert cell[Prop.STATUS] == Status.PASS
        assert cell[Prop.EXPECTATION] == f"{EXPECT_EXPORTDB_SUPPORTED}: SUPPORTED"


def test_samples_are_samples() -> None:
    _, samples = BY_NAME["fn_with_kwargs"].build("cpu")
    assert all(isinstance(s, Sample) for s in samples) and samples[0].kwargs
