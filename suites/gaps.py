"""Why a cell cannot run in this torch: the kind of gap (``schema.Gap``) and a sentence.

A catalogue case is missing when an entry point it calls is absent. That
alone does not say whether the HOP is new or only its public API is: torch
2.4 registers the flex_attention HOP, but has no
``torch.nn.attention.flex_attention``. So the HOP's operators are looked up
in ``torch._ops._higher_order_ops`` too.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from suites import modes
from suites.cases import Case
from suites.environment import registered_hops
from suites.schema import Gap, Mode


@dataclass(frozen=True)
class Missing:
    """A cell that cannot run here: the kind of gap and, in words, which one."""

    gap: Gap
    reason: str


def registered_op(case: Case) -> str | None:
    """The first of the case's HOP operators this torch registers, or None."""
    registered = set(registered_hops())
    return next((op for op in case.hop_ops if op in registered), None)


def resolve_gap(case: Case, mode: Mode) -> Missing | None:
    """Why ``case`` cannot run in ``mode`` in this torch, or None when it can."""
    absent = case.needs.absent()
    if absent:
        return _absent_entry(case, absent)
    if case.too_old(torch.__version__):
        what = f": {case.pattern}" if case.pattern else ""
        return Missing(
            Gap.TOO_OLD,
            f"the case needs torch {case.since} or newer{what}; this is torch {torch.__version__}",
        )
    reason = modes.missing_reason(mode)
    return None if reason is None else Missing(Gap.MODE_ABSENT, reason)


def _absent_entry(case: Case, absent: tuple[str, ...]) -> Missing:
    version, names = torch.__version__, " and ".join(absent)
    op = registered_op(case)
    if op is None:
        ops = " or ".join(case.hop_ops)
        return Missing(
            Gap.HOP_NOT_REGISTERED,
            f"torch {version} does not register the {case.hop} HOP ({ops} is not in "
            f"torch._ops._higher_order_ops), and has no {names}",
        )
    alias = "" if op == case.hop else f" (as {op})"
    verb = "is" if len(absent) == 1 else "are"
    return Missing(
        Gap.PUBLIC_API_ABSENT,
        f"the {case.hop} HOP is registered in torch {version}{alias}, but its public API "
        f"{names} {verb} absent",
    )
