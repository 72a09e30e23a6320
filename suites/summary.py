"""The one-screen text summary printed at the end of a run."""

from __future__ import annotations

from collections.abc import Sequence

from suites.results import CellResult
from suites.runner import RunOutcome
from suites.schema import Mode, Prop, Status

MAX_LISTED = 25


def render_summary(outcome: RunOutcome, junit: str | None = None) -> str:
    """Counts per status and per mode, then the cells that did not pass, briefly."""
    results = outcome.results
    head = f"{outcome.name}: {len(results)} cells in {len(outcome.plan)} cases, "
    head += f"{outcome.seconds:.1f} s" + (f" -> {junit}" if junit else "")
    lines = [head]
    if outcome.interrupted:
        lines.append(f"INTERRUPTED ({outcome.interrupted}): the JUnit holds what finished")
    return "\n".join([*lines, *_counts(results), *_flaky(results), *_not_passing(results)])


def _counts(results: Sequence[CellResult]) -> list[str]:
    """Cells per status, then a table of them per mode."""
    statuses = [s for s in Status if any(r.status is s for r in results)]
    lines = ["  ".join(f"{s.value} {sum(r.status is s for r in results)}" for s in statuses)]
    if not statuses:
        return lines
    width = max(len(m.value) for m in Mode)
    lines.append(" " * width + "".join(f"{s.value:>9}" for s in statuses))
    for mode in Mode:
        row = [r for r in results if r.cell.mode is mode]
        if row:
            counts = "".join(f"{sum(r.status is s for r in row):>9}" for s in statuses)
            lines.append(f"{mode.value:<{width}}{counts}")
    return lines


def _flaky(results: Sequence[CellResult]) -> list[str]:
    flaky = [r for r in results if r.prop(Prop.FLAKY) is not None]
    if not flaky:
        return []
    lines = [f"flaky ({len(flaky)}): two runs disagreed; see the 'flaky' property"]
    return lines + [f"  {r.cell!s:<58} {r.prop(Prop.FLAKY)}"[:140] for r in flaky[:MAX_LISTED]]


def _not_passing(results: Sequence[CellResult]) -> list[str]:
    others = [r for r in results if r.status is not Status.PASS]
    if not others:
        return []
    lines = [f"not pass ({len(others)}):"]
    lines += [f"  {r.cell!s:<58} {r.status.value:<8} {r.message[:70]}" for r in others[:MAX_LISTED]]
    if len(others) > MAX_LISTED:
        lines.append(f"  ... and {len(others) - MAX_LISTED} more in the JUnit file")
    return lines
