"""A repro script per cell that did not pass, and the issue text that carries it upstream.

Pure: report in, text out. A script is rendered from its cell's properties
alone (the case facts the suite records on cells that did not pass,
``suites.schema.Prop.CASE_SOURCE`` and its neighbours), so a report
rebuilt from the JUnit files alone has the same scripts. Scripts for one cell
that come out identical on several targets are one file.

Layout in the report folder: ``repro/<cell file>.py`` holds the script of
the newest target the cell failed on (and every target whose script is the
same text); another text gets ``repro/<cell file>@<target>.py``, named by the
newest target that has it. ``repro/<cell file>.md`` is the issue text.
``repro/index.json`` maps each cell id to its files:
``{"cells": {cell id: {"targets": {target: file}, "issue": file}}}``.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from compat.errors import InputError, ReportFileError
from compat.model import Cell, Report, Row, TargetInfo
from suites.schema import REPRO_STATUSES, CellId, Mode, Prop, Status, SuiteProp

REPRO_DIR = "repro"
INDEX_NAME = "index.json"


def cell_file(cell: CellId) -> str:
    """``catalog:cond.simple/serialize[cpu]`` as ``catalog.cond.simple.serialize.cpu``."""
    return f"{cell.source}.{cell.hop}.{cell.variant}.{cell.mode}.{cell.device}"


@dataclass(frozen=True)
class Script:
    """One distinct script of one cell, and the targets (newest first) it is the script of."""

    cell: CellId
    file: str  # its name in repro/, e.g. "catalog.cond.simple.aot.cpu.py"
    targets: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class Repros:
    """Every script and issue text of a report."""

    scripts: tuple[Script, ...] = ()
    issues: Mapping[str, str] = field(default_factory=dict)  # cell id -> issue text (markdown)
    # (target, cell id) -> why that failed cell has no script (e.g. the JUnit lacks the facts)
    absent: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def script_for(self, target: str, cell: CellId) -> Script | None:
        """The script of ``cell`` on ``target``, or None."""
        return self._by_target.get((target, cell))

    def quoted(self, cell: CellId) -> Script | None:
        """The script ``cell``'s issue text quotes: its newest failing target's (the first)."""
        return self._first.get(cell)

    @functools.cached_property
    def _by_target(self) -> dict[tuple[str, CellId], Script]:
        return {(t, s.cell): s for s in self.scripts for t in s.targets}

    @functools.cached_property
    def _first(self) -> dict[CellId, Script]:
        return {s.cell: s for s in reversed(self.scripts)}


# What each mode does, in the script's first line.
MEANING: Mapping[Mode, str] = {
    Mode.AOT: "The aot mode: torch.export.export with its default strictness, then run",
    Mode.STRICT: "The strict mode: torch.export.export(strict=True), then run",
    Mode.NON_STRICT: "The non_strict mode: torch.export.export(strict=False), then run",
    Mode.PRE_DISPATCH: "The pre_dispatch mode: pre-dispatch export, then run",
    Mode.RETRACE: "The retrace mode: pre-dispatch export and run_decompositions, then run",
    Mode.SERIALIZE: "The serialize mode: pre-dispatch export, run_decompositions, save, load, run",
    Mode.DYNAMIC: "The dynamic mode: export with dynamic shapes, run the sample and a second size",
    Mode.AOTI: "The aoti mode: export, AOTInductor compile and package, load, then run",
}
# Every script's imports; a mode, a source and a case's own source add theirs (merged, once).
BASE_IMPORTS = ("import copy", "import torch", "import torch.utils._pytree as pytree")
MODE_IMPORTS: Mapping[Mode, tuple[str, ...]] = {
    Mode.PRE_DISPATCH: ("from torch.export._trace import _export",),
    Mode.RETRACE: ("from torch.export._trace import _export",),
    Mode.SERIALIZE: ("import io", "from torch.export._trace import _export"),
    Mode.DYNAMIC: ("from torch.export import Dim",),
    Mode.AOTI: ("import tempfile", "import torch._inductor"),
}
HOP_DB_IMPORT = "from torch.testing._internal.hop_db import hop_db"
EXPORTDB_IMPORT = "from torch._export.db.examples import all_examples"
# A dynamic cell's mismatch on the second size starts with the suite's label of that size.
_SECOND_LABEL = re.compile(r"^at the second size \((?P<label>.*?)\): ")


class NoScript(Exception):
    """Why a cell's script cannot be made from its properties (one sentence)."""


def script(cell: Cell) -> str:
    """The standalone script that fails as ``cell`` did; NoScript when its facts are absent."""
    props = dict(cell.properties)
    imports = {*BASE_IMPORTS, *MODE_IMPORTS.get(cell.id.mode, ())}
    values: dict[str, object] = {
        "cell": str(cell.id),
        "meaning": MEANING[cell.id.mode],
        "mode": cell.id.mode.value,
        "device": repr(cell.id.device.value),
        "each": Prop.SAMPLE not in props,
        "sample": props.get(Prop.SAMPLE, ""),
        "case_source": "",
        "unpack": "{s}",  # a sample as (args, kwargs)
    }
    if Prop.OP_NAME in props:
        imports.add(HOP_DB_IMPORT)
        values.update(
            kind="hop_db",
            op_name=repr(props[Prop.OP_NAME]),
            op_variant=repr(props.get(Prop.OP_VARIANT, "")),
            op_index=int(props.get(Prop.OP_INDEX, "0")),
        )
    elif Prop.EXAMPLE in props:
        imports.add(EXPORTDB_IMPORT)
        values.update(kind="exportdb", example=repr(props[Prop.EXAMPLE]))
    elif Prop.CASE_SOURCE in props and Prop.CASE_BUILD in props:
        head, source = _split_imports(props[Prop.CASE_SOURCE])
        imports.update(head)
        build = props[Prop.CASE_BUILD]
        build = build if build.isidentifier() else f"({build})"
        values.update(
            kind="source",
            case_source=source,
            case_build=build,
            unpack="{s}.args, dict({s}.kwargs)",
        )
    else:
        raise NoScript(
            "its JUnit records no case facts (a suite from before repro scripts, or another "
            "tool's JUnit): rerun its target to get one"
        )
    if cell.id.mode is Mode.DYNAMIC:
        values.update(_dynamic(cell, props))
    return _template().render(imports=_ordered_imports(imports), **values)


def _dynamic(cell: Cell, props: Mapping[str, str]) -> dict[str, object]:
    """The dynamic mode's values: export's spec, the batch dimension, the second size."""
    shapes = props.get(Prop.DYNAMIC_SHAPES)
    if shapes is None:
        raise NoScript("its JUnit records no dynamic_shapes: rerun its target to get one")
    batch = props.get(Prop.DYNAMIC_BATCH, "")
    second = _second_sizes(props.get(Prop.SECOND_SIZE, ""))
    found = _SECOND_LABEL.match(cell.message or "")
    label = found["label"] if found else props.get(Prop.SECOND_SIZE, "")
    return {
        "dynamic_shapes": shapes,
        "batch": tuple(int(n) for n in batch.split(".")) if batch else None,
        "second": repr(second) if second else "",
        "second_label": repr(f"at the second size ({label}): "),
    }


def _second_sizes(text: str) -> tuple[tuple[int, int, int], ...]:
    """``"0.0=4,1.0=4"`` as ``((0, 0, 4), (1, 0, 4))``."""
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        where, _, size = part.partition("=")
        leaf, _, dim = where.partition(".")
        out.append((int(leaf), int(dim), int(size)))
    return tuple(out)


def _split_imports(source: str) -> tuple[set[str], str]:
    """A case source's leading import lines, and the rest."""
    lines = source.strip("\n").splitlines()
    head: set[str] = set()
    while lines and (lines[0].startswith(("import ", "from ")) or not lines[0].strip()):
        line = lines.pop(0)
        if line.strip():
            head.add(line.strip())
    return head, "\n".join(lines).strip("\n")


def _ordered_imports(imports: set[str]) -> list[str]:
    """``from __future__`` first, then the standard library, then the rest, in one block (a
    repro is short); by module within a group, ``import m`` before ``from m import``."""
    groups: list[list[str]] = [[], [], []]
    for line in imports:
        module = line.split()[1]
        kind = 0 if module == "__future__" else 1 if _top(module) in sys.stdlib_module_names else 2
        groups[kind].append(line)
    return [line for group in groups for line in sorted(group, key=_import_key)]


def _import_key(line: str) -> tuple[str, bool]:
    return line.split()[1], line.startswith("from ")


def _top(module: str) -> str:
    return module.split(".")[0]


@functools.cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("compat", "templates"),
        autoescape=False,  # Python source, not markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.get_template("repro.py.j2")


def build_repros(report: Report) -> Repros:
    """Every failed cell's script (one file per distinct text) and each cell id's issue text."""
    order = {t.id: i for i, t in enumerate(sorted(report.targets, key=_release_order))}
    scripts: list[Script] = []
    issues: dict[str, str] = {}
    absent: dict[tuple[str, str], str] = {}
    for row in report.rows:
        failed = sorted(
            (c for c in row.cells if c.status in REPRO_STATUSES),
            key=lambda c: order[c.target],
            reverse=True,
        )
        texts: dict[str, list[Cell]] = {}  # text -> its cells, newest target first
        for cell in failed:
            try:
                texts.setdefault(script(cell), []).append(cell)
            except NoScript as why:
                absent[cell.target, str(cell.id)] = f"No repro script: {why}."
        stem = cell_file(row.id)
        for n, (text, cells) in enumerate(texts.items()):
            name = f"{stem}.py" if n == 0 else f"{stem}@{cells[0].target}.py"
            scripts.append(Script(row.id, name, tuple(c.target for c in cells), text))
        if texts:
            newest = next(iter(texts.values()))[0]
            issues[str(row.id)] = issue_text(report, row, newest, next(iter(texts)))
    return Repros(tuple(scripts), issues, absent)


def _release_order(target: TargetInfo) -> tuple[object, ...]:
    return (target.version, target.build, target.id)


def issue_text(report: Report, row: Row, cell: Cell, text: str) -> str:
    """A GitHub issue for ``row``: title from ``cell``'s signature, where it fails and last
    passed, ``cell``'s target's environment, the script, the error."""
    by_target = {c.target: c for c in row.cells}
    measured = [t for t in sorted(report.targets, key=_release_order) if t.id in by_target]
    failing = [t.id for t in measured if by_target[t.id].status in REPRO_STATUSES]
    passing = [t.id for t in measured if by_target[t.id].status in (Status.PASS, Status.XPASS)]
    cid = row.id
    title = f"[export] {cid.hop} in the {cid.mode} mode: {cell.signature or cell.status}"
    lines = [
        f"# {title}",
        "",
        f"Found by torch-hop-compat, cell `{cid}`. {MEANING[cid.mode]}.",
        "",
        f"- Fails on: {', '.join(failing)} (first {failing[0]}, last {failing[-1]}).",
        f"- Last passed: {passing[-1] if passing else 'on none of the releases measured'}.",
        "- Every release measured: "
        + ", ".join(f"{t.id} {by_target[t.id].status}" for t in measured)
        + ".",
        "",
        "## Environment",
        "",
        *_environment(next(t for t in report.targets if t.id == cell.target)),
        "",
        "## Repro",
        "",
        f"Standalone: it needs torch{' and hop_db test deps' if 'hop_db' in text else ''}.",
        "",
        "```python",
        text.rstrip("\n"),
        "```",
        "",
        "## Error",
        "",
        "```",
        f"{cell.error_type or cell.status}: {cell.message or ''}".rstrip(": "),
        "```",
        "",
    ]
    return "\n".join(lines)


def _environment(target: TargetInfo) -> list[str]:
    props = dict(target.properties)
    cuda = props.get(SuiteProp.CUDA_VERSION) or props.get(SuiteProp.HIP_VERSION) or "none"
    git = props.get(SuiteProp.TORCH_GIT)
    return [
        f"- torch {target.torch_version}" + (f" (git {git})" if git else ""),
        f"- CUDA/ROCm: {cuda}",
        f"- Python {props.get(SuiteProp.PYTHON, '?')}, {props.get(SuiteProp.PLATFORM, '?')}",
    ]


def repro_files(repros: Repros) -> dict[str, str]:
    """The report folder's ``repro/`` files: scripts, issue texts and ``index.json``; none
    when there is no script."""
    if not repros.scripts:
        return {}
    files = {f"{REPRO_DIR}/{s.file}": s.text for s in repros.scripts}
    targets: dict[str, dict[str, str]] = {}
    for s in repros.scripts:
        targets.setdefault(str(s.cell), {}).update(dict.fromkeys(s.targets, s.file))
    issues = {cell_id: cell_file(CellId.parse(cell_id)) + ".md" for cell_id in repros.issues}
    files.update((f"{REPRO_DIR}/{issues[c]}", text) for c, text in repros.issues.items())
    index = {
        c: {"targets": files_of, "issue": issues.get(c, "")} for c, files_of in targets.items()
    }
    files[f"{REPRO_DIR}/{INDEX_NAME}"] = (
        json.dumps({"cells": index}, indent=1, sort_keys=True) + "\n"
    )
    return files


def find_repro(folder: Path, cell_id: str, target: str | None, issue: bool) -> str:
    """The script (or issue text) of ``cell_id`` in report ``folder``; ReportFileError else."""
    try:
        CellId.parse(cell_id)
    except ValueError as err:
        raise InputError(f"{err}: give a cell id as the report shows it.") from err
    index_path = folder / REPRO_DIR / INDEX_NAME
    if (folder / "report.json").is_file() and not index_path.exists():
        raise InputError(
            f"{folder} has no repro scripts: none of its cells failed, or its JUnit files "
            "record no case facts (rerun the targets with this version of the suite)."
        )
    try:
        cells = json.loads(index_path.read_text(encoding="utf-8"))["cells"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
        raise ReportFileError(
            f"{index_path} cannot be read ({type(err).__name__}): pass --report a report "
            "folder written by `python -m compat report` (it holds repro/index.json)."
        ) from err
    entry = cells.get(cell_id)
    if entry is None:
        raise InputError(
            f"{cell_id} has no repro script in {folder}: only cells that did not pass (fail, "
            f"error, timeout, crash, xfail) have one; {index_path} lists them."
        )
    name: str
    if issue:
        name = str(entry["issue"])
    elif target is None:
        name = cell_file(CellId.parse(cell_id)) + ".py"  # the newest failing target's
    elif target in entry["targets"]:
        name = str(entry["targets"][target])
    else:
        raise InputError(
            f"{cell_id} has no repro script for target {target} in {folder}: it has one for "
            f"{', '.join(entry['targets'])}."
        )
    path = folder / REPRO_DIR / name
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ReportFileError(f"{path} cannot be read ({err}): write the report again.") from err
