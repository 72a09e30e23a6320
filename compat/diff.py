"""Two report JSON files -> the cells whose status changed, regressions first.

Cells are compared target by target where both reports have the target,
and, per build family (cu124 and cu128 are both cuda, as in the report), the
newest target of the old report against the newest of the new one when those
differ ("what regressed since the last release"). Every id read is checked,
so no line of the output can be forged by a report's content.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from packaging.version import InvalidVersion, Version

from compat.errors import ReportFileError, TargetError
from compat.facts import FAILING, MODE_PARAMETERS, PASSING
from compat.junit import plain_cell_id
from compat.model import TargetInfo
from compat.render_json import JSON_SCHEMA_VERSION
from compat.targets import TargetId, is_build_tag
from suites.schema import CellId, Prop, Status


class DiffKind(enum.StrEnum):
    REGRESSION = "regression"  # passed before, fails now
    FIX = "fix"  # failed before, passes now
    DEFAULT_CHANGED = "default changed"  # a recorded mode parameter (strictness) differs
    CHANGED = "changed"  # any other change of status (to or from skip; a flaky cell)
    NEW = "new"  # no result, or missing, before
    GONE = "gone"  # no result, or missing, now


_ORDER = {kind: i for i, kind in enumerate(DiffKind)}
_PLURAL = {
    DiffKind.REGRESSION: "regressions",
    DiffKind.FIX: "fixes",
    DiffKind.DEFAULT_CHANGED: "default changed",
    DiffKind.CHANGED: "changed",
    DiffKind.NEW: "new",
    DiffKind.GONE: "gone",
}


@dataclass(frozen=True)
class ReportData:
    """What ``diff`` needs from one report JSON: targets and every cell's status."""

    where: str
    targets: tuple[TargetInfo, ...]
    statuses: dict[str, dict[str, Status]]  # target id -> cell id -> status
    # target id -> cell id -> (recorded mode parameters, flaky): what else decides a change
    context: dict[str, dict[str, tuple[tuple[str, ...], bool]]] = field(default_factory=dict)


@dataclass(frozen=True)
class CellChange:
    kind: DiffKind
    before_target: str
    after_target: str
    cell: str
    before: Status | None
    after: Status | None

    @property
    def label(self) -> str:
        if self.before_target == self.after_target:
            return self.after_target
        return f"{self.before_target} -> {self.after_target}"


@dataclass(frozen=True)
class ReportDiff:
    changes: tuple[CellChange, ...]  # regressions first
    targets_added: tuple[str, ...]
    targets_removed: tuple[str, ...]

    @property
    def regressions(self) -> tuple[CellChange, ...]:
        return tuple(c for c in self.changes if c.kind is DiffKind.REGRESSION)


def load_report_data(text: str, where: str) -> ReportData:
    """Parse a report JSON written by ``render_json``; ``ReportFileError`` when it is not one."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ReportFileError(
            f"{where} is not JSON ({err.msg} at line {err.lineno}): pass the report.json "
            "of a report folder."
        ) from err
    except RecursionError as err:
        raise ReportFileError(
            f"{where} nests JSON deeper than any report does (too deep to read): pass the "
            "report.json of a report folder."
        ) from err
    if not isinstance(data, dict) or "schema_version" not in data:
        raise ReportFileError(
            f"{where} is JSON but not a torch-hop-compat report (no schema_version): "
            "pass the report.json of a report folder."
        )
    if data["schema_version"] != JSON_SCHEMA_VERSION:
        raise ReportFileError(
            f"{where} has report schema {data['schema_version']!r}, this tool reads "
            f"{JSON_SCHEMA_VERSION}: diff it with the torch-hop-compat that wrote it."
        )
    try:
        targets = tuple(_target(t) for t in data["targets"])
        statuses: dict[str, dict[str, Status]] = {t.id: {} for t in targets}
        context: dict[str, dict[str, tuple[tuple[str, ...], bool]]] = {t.id: {} for t in targets}
        for row in data["cells"]:
            cell = _cell_id(row["id"])
            for r in row["results"]:
                # A result's target must be one of the report's (checked) targets.
                statuses[str(r["target"])][cell] = Status(r["status"])
                props = r.get("properties", {})
                context[str(r["target"])][cell] = (
                    tuple(str(props.get(k, "")) for k in MODE_PARAMETERS),
                    Prop.FLAKY.value in props,
                )
    except (KeyError, TypeError, ValueError, InvalidVersion, TargetError) as err:
        raise ReportFileError(
            f"{where} is a damaged report ({type(err).__name__}: {err}): re-create it with "
            "`python -m compat report`."
        ) from err
    return ReportData(where=where, targets=targets, statuses=statuses, context=context)


def _target(t: Any) -> TargetInfo:
    build = str(t["build"])
    if not is_build_tag(build):
        raise ValueError(f"build {build!r} is not a build tag")
    return TargetInfo(
        id=str(TargetId.parse(str(t["id"]), build_optional=True)),
        version=Version(str(t["version"])),
        build=build,
        torch_version="",  # not needed to compare
        source_file="",
    )


def _cell_id(text: object) -> str:
    """A row's cell id as ``CellId`` spells it; ``ValueError`` when it is not a plain one."""
    cell_id = CellId.parse(str(text))
    if not plain_cell_id(cell_id):
        raise ValueError(f"{text!r} is not a plain cell id")
    return str(cell_id)


_Context = tuple[tuple[str, ...], bool]


def _kind(before: Status | None, after: Status | None, a: _Context, b: _Context) -> DiffKind:
    """As the report's changes: missing is no result, and only a like-for-like flip counts."""
    absent = (None, Status.MISSING)
    if before in absent or after in absent:
        if before in absent and after in absent:
            return DiffKind.CHANGED
        return DiffKind.NEW if before in absent else DiffKind.GONE
    flipped = (before in PASSING and after in FAILING) or (before in FAILING and after in PASSING)
    if not flipped or a[1] or b[1]:  # a flaky cell is never a regression or a fix
        return DiffKind.CHANGED
    if any(x and y and x != y for x, y in zip(a[0], b[0], strict=True)):
        return DiffKind.DEFAULT_CHANGED
    return DiffKind.REGRESSION if before in PASSING else DiffKind.FIX


def _compare(old: ReportData, new: ReportData, before: str, after: str) -> Iterable[CellChange]:
    cells_before = old.statuses.get(before, {})
    cells_after = new.statuses.get(after, {})
    none: _Context = (("",) * len(MODE_PARAMETERS), False)
    for cell in sorted(cells_before.keys() | cells_after.keys()):
        a, b = cells_before.get(cell), cells_after.get(cell)
        if a != b:
            ctx_a = old.context.get(before, {}).get(cell, none)
            ctx_b = new.context.get(after, {}).get(cell, none)
            yield CellChange(_kind(a, b, ctx_a, ctx_b), before, after, cell, a, b)


def _newest(targets: Iterable[TargetInfo]) -> dict[str, TargetInfo]:
    """The newest target of each build family."""
    out: dict[str, TargetInfo] = {}
    for t in targets:
        if t.family not in out or t.version > out[t.family].version:
            out[t.family] = t
    return out


def resolve_diff(old: ReportData, new: ReportData) -> ReportDiff:
    """Changed cells between two reports, regressions first."""
    old_ids = {t.id for t in old.targets}
    new_ids = {t.id for t in new.targets}
    changes = [c for t in sorted(old_ids & new_ids) for c in _compare(old, new, t, t)]
    newest_old, newest_new = _newest(old.targets), _newest(new.targets)
    for family in sorted(newest_old.keys() & newest_new.keys()):
        a, b = newest_old[family], newest_new[family]
        if a.id != b.id and b.version > a.version:
            changes.extend(_compare(old, new, a.id, b.id))
    changes.sort(key=lambda c: (_ORDER[c.kind], c.label, c.cell))
    return ReportDiff(
        changes=tuple(changes),
        targets_added=tuple(t.id for t in _by_version(new.targets) if t.id not in old_ids),
        targets_removed=tuple(t.id for t in _by_version(old.targets) if t.id not in new_ids),
    )


def _by_version(targets: Iterable[TargetInfo]) -> list[TargetInfo]:
    return sorted(targets, key=lambda t: (t.version, t.build, t.id))


def render_diff(diff: ReportDiff) -> str:
    """One line per changed cell, then a summary line."""
    lines = [
        f"{c.kind.value:<10}  {c.label}  {c.cell}  "
        f"{c.before.value if c.before else '-'} -> {c.after.value if c.after else '-'}"
        for c in diff.changes
    ]
    counts = {kind: sum(c.kind is kind for c in diff.changes) for kind in DiffKind}
    summary = ", ".join(f"{n} {_PLURAL[kind]}" for kind, n in counts.items() if n) or "no changes"
    if diff.targets_added:
        summary += f"; targets added: {', '.join(diff.targets_added)}"
    if diff.targets_removed:
        summary += f"; targets removed: {', '.join(diff.targets_removed)}"
    lines.append(summary)
    return "\n".join(lines) + "\n"
