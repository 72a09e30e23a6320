"""compat.repro: scripts from case facts, one file per distinct text, issue text, the CLI.

Pure: hand-made cells. tests/test_repro_e2e.py runs real scripts in real torch.
"""

from __future__ import annotations

import ast
import io
import json
from pathlib import Path

import pytest
from packaging.version import Version

from compat.__main__ import main
from compat.errors import ExitCode
from compat.model import Cell, Report, TargetInfo
from compat.repro import (
    REPRO_DIR,
    NoScript,
    build_repros,
    cell_file,
    repro_files,
    script,
)
from suites.behaviours import BUILTIN
from suites.schema import CellId, Prop, Status, SuiteProp

SOURCE = '''from __future__ import annotations
import torch
from collections import namedtuple

Sample = namedtuple("Sample", "args kwargs", defaults=({},))

def build_neg(device):
    """x.neg(): a case."""
    return Model(), (Sample((torch.ones(2, device=device),)),)
'''
FACTS = ((Prop.CASE_SOURCE.value, SOURCE), (Prop.CASE_BUILD.value, "build_neg"))
CASE = "catalog:cond.simple"


def _target(tid: str, version: str) -> TargetInfo:
    props = ((SuiteProp.PYTHON.value, "3.11.9"), (SuiteProp.PLATFORM.value, "Linux-x86_64"))
    return TargetInfo(tid, Version(version), "cpu", f"{version}+cpu", f"{tid}.xml", props)


def _cell(
    target: str,
    cell: str,
    status: Status = Status.ERROR,
    props: tuple[tuple[str, str], ...] = FACTS,
    message: str = "boom 3",
) -> Cell:
    failed = status not in (Status.PASS, Status.XPASS)
    return Cell(
        target,
        CellId.parse(cell),
        status,
        error_type="RuntimeError" if failed else None,
        message=message if failed else None,
        signature="RuntimeError: boom <n>" if failed else None,
        properties=tuple(sorted(props)),
    )


def _report(*cells: Cell) -> Report:
    targets = (
        _target("2.6.0-cpu", "2.6.0"),
        _target("2.9.1-cpu", "2.9.1"),
        _target("2.13.0-cpu", "2.13.0"),
    )
    return Report.from_cells(targets, cells, BUILTIN)


@pytest.mark.parametrize(
    "mode, calls",
    [
        ("aot", ["torch.export.export(model, *copy.deepcopy((args, kwargs)))"]),
        ("strict", ["strict=True"]),
        ("non_strict", ["strict=False"]),
        ("pre_dispatch", ["_export(model, *copy.deepcopy((args, kwargs)), pre_dispatch=True)"]),
        ("retrace", ["pre_dispatch=True).run_decompositions()"]),
        (
            "serialize",
            [
                "pre_dispatch=True",
                "run_decompositions()",
                "torch.export.save",
                "torch.export.load(",
            ],
        ),
        ("aoti", ["torch.export.export(", "aoti_compile_and_package", "aoti_load_package"]),
    ],
)
def test_each_mode_runs_its_steps_in_order_and_ends_with_the_comparison(
    mode: str, calls: list[str]
) -> None:
    text = script(_cell("2.13.0-cpu", f"{CASE}/{mode}[cpu]", props=(*FACTS, ("sample", "0"))))
    ast.parse(text)  # valid Python
    positions = [text.index(c) for c in calls]
    assert positions == sorted(positions)
    steps = [line for line in text.splitlines() if line.strip()]
    assert steps[-1] == 'print("no failure: eager and exported agree")'
    assert steps[-2].startswith("check(")  # the eager-vs-exported comparison comes last
    assert 'print("torch", torch.__version__)' in text
    assert "args, kwargs = samples[0].args, dict(samples[0].kwargs)" in text


def test_the_case_source_is_inlined_and_its_imports_merged_once() -> None:
    text = script(_cell("2.13.0-cpu", f"{CASE}/aot[cpu]", props=(*FACTS, ("sample", "0"))))
    lines = text.splitlines()
    assert lines[1] == "from __future__ import annotations"  # after the comment line
    assert lines.count("import torch") == 1
    assert "from collections import namedtuple" in lines
    assert 'def build_neg(device):\n    """x.neg(): a case."""' in text
    assert "model, samples = build_neg('cpu')" in text
    assert "suites" not in text.replace("torch-hop-compat", "")


def test_a_cell_without_a_sample_index_runs_every_sample() -> None:
    text = script(_cell("2.13.0-cpu", f"{CASE}/aot[cpu]", Status.CRASH))
    assert "for s in samples:" in text
    assert "\n    args, kwargs = s.args, dict(s.kwargs)\n    ep = torch.export.export(" in text
    ast.parse(text)


def test_hop_db_cells_select_the_op_info_by_name_variant_and_index() -> None:
    props = (
        ("op_name", "while_loop"),
        ("op_variant", "nested"),
        ("op_index", "1"),
        ("sample", "2"),
    )
    text = script(_cell("2.13.0-cpu", "upstream:while_loop.nested_1/serialize[cpu]", props=props))
    assert "from torch.testing._internal.hop_db import hop_db" in text
    assert "op.name == 'while_loop' and (op.variant_test_name or \"\") == 'nested'][1]" in text
    assert "op.sample_inputs('cpu', torch.float32, requires_grad=True)" in text
    assert "args, kwargs = samples[2]" in text
    ast.parse(text)


def test_exportdb_cells_select_the_example_by_name() -> None:
    props = (("exportdb_example", "cond_closed_over_variable"), ("sample", "0"))
    text = script(
        _cell("2.13.0-cpu", "exportdb:cond.cond_closed_over_variable/aot[cpu]", props=props)
    )
    assert "all_examples()['cond_closed_over_variable']" in text
    ast.parse(text)


def test_a_dynamic_cell_exports_with_its_shapes_checks_the_batch_and_the_second_size() -> None:
    props = (
        *FACTS,
        ("sample", "0"),
        ("dynamic_shapes", "{'args': ({0: Dim.AUTO},)}"),
        ("dynamic_batch", "0.0"),
        ("second_size", "0.0=3"),
    )
    message = "at the second size (args[0].0: 2 -> 3): leaf 0: Tensor-likes are not close!"
    text = script(_cell("2.13.0-cpu", f"{CASE}/dynamic[cpu]", Status.FAIL, props, message))
    assert "dynamic_shapes={'args': ({0: Dim.AUTO},)}" in text
    assert "batch = fakes[0].shape[0]" in text
    assert "((0, 0, 3),)" in text
    assert "at='at the second size (args[0].0: 2 -> 3): '" in text
    ast.parse(text)


def test_a_cell_without_facts_has_no_script_and_says_why() -> None:
    with pytest.raises(NoScript, match="no case facts"):
        script(_cell("2.13.0-cpu", f"{CASE}/aot[cpu]", props=()))
    repros = build_repros(_report(_cell("2.13.0-cpu", f"{CASE}/aot[cpu]", props=())))
    assert repros.scripts == ()
    assert "rerun its target" in repros.absent["2.13.0-cpu", f"{CASE}/aot[cpu]"]
    assert repro_files(repros) == {}


def test_identical_scripts_across_targets_are_one_file_and_others_are_named_by_target() -> None:
    cid = f"{CASE}/aot[cpu]"
    report = _report(
        _cell("2.6.0-cpu", cid, props=(*FACTS, ("sample", "1"))),
        _cell("2.9.1-cpu", cid, props=(*FACTS, ("sample", "0"))),
        _cell("2.13.0-cpu", cid, Status.XFAIL, props=(*FACTS, ("sample", "0"))),
    )
    repros = build_repros(report)
    stem = cell_file(CellId.parse(cid))
    assert stem == "catalog.cond.simple.aot.cpu"
    assert [(s.file, s.targets) for s in repros.scripts] == [
        (f"{stem}.py", ("2.13.0-cpu", "2.9.1-cpu")),
        (f"{stem}@2.6.0-cpu.py", ("2.6.0-cpu",)),
    ]
    files = repro_files(repros)
    index = json.loads(files[f"{REPRO_DIR}/index.json"])["cells"][cid]
    assert index == {
        "issue": f"{stem}.md",
        "targets": {
            "2.13.0-cpu": f"{stem}.py",
            "2.6.0-cpu": f"{stem}@2.6.0-cpu.py",
            "2.9.1-cpu": f"{stem}.py",
        },
    }
    assert set(files) == {
        f"{REPRO_DIR}/{n}"
        for n in (f"{stem}.py", f"{stem}@2.6.0-cpu.py", f"{stem}.md", "index.json")
    }


def test_the_issue_text_names_first_and_last_failing_and_last_passing_release() -> None:
    cid = f"{CASE}/serialize[cpu]"
    report = _report(
        _cell("2.6.0-cpu", cid, Status.PASS),
        _cell("2.9.1-cpu", cid, props=(*FACTS, ("sample", "0"))),
        _cell("2.13.0-cpu", cid, props=(*FACTS, ("sample", "0"))),
    )
    text = build_repros(report).issues[cid]
    assert text.startswith("# [export] cond in the serialize mode: RuntimeError: boom <n>\n")
    assert "- Fails on: 2.9.1-cpu, 2.13.0-cpu (first 2.9.1-cpu, last 2.13.0-cpu)." in text
    assert "- Last passed: 2.6.0-cpu." in text
    assert "- torch 2.13.0+cpu" in text and "Python 3.11.9, Linux-x86_64" in text
    assert "```python\n# Repro of catalog:cond.simple/serialize[cpu] (torch-hop-compat)" in text
    assert text.rstrip().endswith("RuntimeError: boom 3\n```")


def _write(tmp_path: Path, report: Report) -> Path:
    folder = tmp_path / "2026-11-30-abc"
    for name, text in repro_files(build_repros(report)).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    (folder / "report.json").write_text("{}")
    return folder


def _cli(*args: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["repro", *map(str, args)], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_the_repro_command_prints_the_script_the_issue_or_one_sentence(tmp_path: Path) -> None:
    cid = f"{CASE}/aot[cpu]"
    folder = _write(tmp_path, _report(_cell("2.13.0-cpu", cid, props=(*FACTS, ("sample", "0")))))
    code, out, _ = _cli(cid, "--report", folder)
    assert code == ExitCode.OK and out.startswith(f"# Repro of {cid}")
    code, out, _ = _cli(cid, "--report", folder, "--issue")
    assert code == ExitCode.OK and out.startswith("# [export] cond in the aot mode")
    code, _, err = _cli(f"{CASE}/strict[cpu]", "--report", folder)
    assert code == ExitCode.INPUT and "has no repro script" in err and err.count("\n") == 1
    code, _, err = _cli("not-a-cell", "--report", folder)
    assert code == ExitCode.INPUT and "is not a cell id" in err
    code, _, err = _cli(cid, "--report", folder, "--target", "2.6.0-cpu")
    assert code == ExitCode.INPUT and "it has one for 2.13.0-cpu" in err
