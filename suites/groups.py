"""Which cells one child process runs: those that share one export, and nothing else.

Standard library only: the parent (``suites.runner``) plans children with it,
and ``suites.modes`` derives the shared modes in the order written here.
"""

from __future__ import annotations

from collections.abc import Sequence

from suites.schema import CellId, Mode

# pre_dispatch, retrace and serialize of one case and device share one pre-dispatch export
# (see suites.modes); every other mode exports on its own, in a child of its own.
SHARED_EXPORT: tuple[Mode, ...] = (Mode.PRE_DISPATCH, Mode.RETRACE, Mode.SERIALIZE)

Unit = tuple[CellId, ...]


def units(cells: Sequence[CellId]) -> tuple[Unit, ...]:
    """``cells`` of one case split into children: per device, the shared modes together."""
    out: dict[tuple[str, str], list[CellId]] = {}
    for cell in cells:
        group = "shared" if cell.mode in SHARED_EXPORT else cell.mode.value
        out.setdefault((cell.device.value, group), []).append(cell)
    return tuple(tuple(unit) for unit in out.values())
