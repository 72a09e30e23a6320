"""Which cells one child process runs: those that can share an export, and nothing else.

Standard library only: the parent (``suites.runner``) plans children with it,
and ``suites.modes`` derives the shared modes in the order written here.
"""

from __future__ import annotations

from collections.abc import Sequence

from suites.schema import CellId, Mode

# aot, strict and non_strict of one case and device all call torch.export.export; two of them
# always make the same call (aot is strict through 2.7, non-strict from 2.8), so they share
# one export for those two. Which two is known only inside torch, hence all three together.
PUBLIC_EXPORT: tuple[Mode, ...] = (Mode.AOT, Mode.STRICT, Mode.NON_STRICT)
# pre_dispatch, retrace and serialize of one case and device share one pre-dispatch export.
SHARED_EXPORT: tuple[Mode, ...] = (Mode.PRE_DISPATCH, Mode.RETRACE, Mode.SERIALIZE)

Unit = tuple[CellId, ...]


def _group(mode: Mode) -> str:
    if mode in PUBLIC_EXPORT:
        return "public"
    if mode in SHARED_EXPORT:
        return "shared"
    return mode.value  # a mode that shares nothing runs in a child of its own


def units(cells: Sequence[CellId]) -> tuple[Unit, ...]:
    """``cells`` of one case split into children: per device, the modes that share an export."""
    out: dict[tuple[str, str], list[CellId]] = {}
    for cell in cells:
        out.setdefault((cell.device.value, _group(cell.mode)), []).append(cell)
    return tuple(tuple(unit) for unit in out.values())
