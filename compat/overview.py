"""Which HOPs work where, at a glance: per HOP and target the modes in which it passes,
and per mode and target the share of cells that pass.

Pure: a ``Report`` in, values out. A cell *ran* when it has an outcome (pass,
xpass, fail, error, xfail, timeout, crash) that neither upstream nor ExportDB
declares to fail: skipped and missing cells and expected failures are left out, so
that a CUDA-only op info run on a CPU never hides whether the HOP works. A HOP
*passes in a mode* on a target when at least one of its cells ran in that
mode and every one that ran passes (on every device).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from compat.facts import PASSING, build_families, expected_reason
from compat.model import Cell, Report
from compat.timeline import Span, resolve_spans
from suites.schema import Mode, Status

RAN = frozenset(Status) - {Status.SKIP, Status.MISSING, Status.ENV_ERROR}
NONE_RAN = "—"


def ran(cell: Cell) -> bool:
    """The cell has an outcome, and it is not a failure upstream or ExportDB declares."""
    return cell.status in RAN and expected_reason(cell) is None


@dataclass(frozen=True)
class HopPoint:
    """One HOP on one target: in how many of the modes that ran every cell passes."""

    target: str
    passing: int
    ran: int

    @property
    def state(self) -> str:
        """``4/6``, or ``—`` where no cell of the HOP ran."""
        return f"{self.passing}/{self.ran}" if self.ran else NONE_RAN

    @property
    def all_pass(self) -> bool:
        return self.ran > 0 and self.passing == self.ran

    @property
    def grade(self) -> str:
        """``all`` modes pass, ``some``, ``none``, or ``idle``: no cell ran."""
        if not self.ran:
            return "idle"
        return "all" if self.all_pass else "some" if self.passing else "none"


@dataclass(frozen=True)
class FamilyLine:
    """One HOP across one build family: its states as spans, and since when all modes pass."""

    family: str
    spans: tuple[Span, ...]
    since: str | None  # the target from which every mode passes in every later one
    at_oldest: bool  # ... and it is the oldest target in which the HOP ran: "≤ since"


@dataclass(frozen=True)
class HopOverview:
    hop: str
    cases: int
    points: tuple[HopPoint, ...]  # per report target, in column order
    families: tuple[FamilyLine, ...]  # in column order


@dataclass(frozen=True)
class ModeRate:
    """One mode's cells that pass, of those that ran, per report target (column order)."""

    mode: Mode
    points: tuple[tuple[str, int, int], ...]  # (target, passing, ran)


def resolve_hop_overview(report: Report) -> tuple[HopOverview, ...]:
    """Per HOP (sorted by name): its point on every target and its line per build family."""
    # (hop, target, mode) -> [cells that passed, cells that ran]
    tally: dict[tuple[str, str, Mode], list[int]] = defaultdict(lambda: [0, 0])
    cases: dict[str, set[str]] = defaultdict(set)
    for row in report.rows:
        cases[row.id.hop].add(row.id.case)
        for cell in row.cells:
            if ran(cell):
                counts = tally[row.id.hop, cell.target, row.id.mode]
                counts[0] += cell.status in PASSING
                counts[1] += 1
    families = build_families(report.targets)
    out = []
    for hop in sorted(cases):
        points = tuple(_point(hop, t.id, tally) for t in report.targets)
        by_target = {p.target: p for p in points}
        lines = tuple(_family_line(f, [by_target[t] for t in ids]) for f, ids in families.items())
        out.append(HopOverview(hop, len(cases[hop]), points, tuple(x for x in lines if x)))
    return tuple(out)


def _point(hop: str, target: str, tally: dict[tuple[str, str, Mode], list[int]]) -> HopPoint:
    modes = [tally[hop, target, m] for m in Mode if (hop, target, m) in tally]
    return HopPoint(target, sum(p == n for p, n in modes), len(modes))


def _family_line(family: str, points: Sequence[HopPoint]) -> FamilyLine | None:
    if not points:
        return None
    since = None
    for point in reversed(points):
        if not point.all_pass:
            break
        since = point.target
    first_ran = next((p.target for p in points if p.ran), None)
    spans = resolve_spans([(p.target, p.state, False) for p in points])
    return FamilyLine(family, spans, since, since is not None and since == first_ran)


def resolve_pass_rates(report: Report) -> tuple[ModeRate, ...]:
    """Per mode the report has (in ``Mode`` order): passing and ran cells on each target."""
    tally: dict[tuple[Mode, str], list[int]] = defaultdict(lambda: [0, 0])
    modes = set()
    for row in report.rows:
        modes.add(row.id.mode)
        for cell in row.cells:
            if ran(cell):
                counts = tally[row.id.mode, cell.target]
                counts[0] += cell.status in PASSING
                counts[1] += 1
    return tuple(
        ModeRate(m, tuple((t.id, *tally.get((m, t.id), (0, 0))) for t in report.targets))
        for m in Mode
        if m in modes
    )
