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

from collections.abc import Mapping
from dataclasses import dataclass, field

from suites.schema import CellId, Status

REPRO_DIR = "repro"
INDEX_NAME = "index.json"
# The statuses a repro is written for: every failure, and xfail (a known bug, still a bug).
REPRO_STATUSES = frozenset({Status.FAIL, Status.ERROR, Status.TIMEOUT, Status.CRASH, Status.XFAIL})


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
        return next((s for s in self.scripts if s.cell == cell and target in s.targets), None)
