"""suites.gaps: which kind of gap makes a cell missing, against the real torch."""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from suites import modes  # noqa: E402
from suites.body import run_cell  # noqa: E402
from suites.cases import Case, requires  # noqa: E402
from suites.catalog import CATALOG  # noqa: E402
from suites.gaps import registered_op, resolve_gap  # noqa: E402
from suites.schema import Device, Gap, Mode, Prop, Status  # noqa: E402

V = torch.__version__
ABSENT = "torch.nn.attention.no_such_module:flex_attention"


def _never_built(device: str) -> Any:
    raise AssertionError("a missing case must not be built")


def _case(hop: str, *specs: str, ops: tuple[str, ...] = ()) -> Case:
    return Case(hop, "v", _never_built, requires(*specs), ops=ops)


@pytest.mark.parametrize(
    ("case", "gap", "reason"),
    [
        (
            _case("flex_attention", ABSENT, "torch:cond"),
            Gap.PUBLIC_API_ABSENT,
            f"the flex_attention HOP is registered in torch {V}, but its public API "
            "torch.nn.attention.no_such_module.flex_attention is absent",
        ),
        (
            _case("map", "torch:no_map", "torch:no_map_either", ops=("map_impl",)),
            Gap.PUBLIC_API_ABSENT,
            f"the map HOP is registered in torch {V} (as map_impl), but its public API "
            "torch.no_map and torch.no_map_either are absent",
        ),
        (
            _case("no_such_hop", "torch:no_such_hop|torch._higher_order_ops:no_such_hop"),
            Gap.HOP_NOT_REGISTERED,
            f"torch {V} does not register the no_such_hop HOP (no_such_hop is not in "
            "torch._ops._higher_order_ops), and has no torch.no_such_hop or "
            "torch._higher_order_ops.no_such_hop",
        ),
    ],
)
def test_an_absent_entry_point_says_whether_the_hop_is_registered(
    case: Case, gap: Gap, reason: str
) -> None:
    for mode in Mode:
        missing = resolve_gap(case, mode)
        assert missing is not None and (missing.gap, missing.reason) == (gap, reason)
    result = run_cell(case, Mode.SERIALIZE, Device.CPU)
    assert result.status is Status.MISSING
    assert (result.prop(Prop.GAP), result.prop(Prop.REASON)) == (gap.value, reason)


def test_a_mode_this_torch_cannot_run_is_a_mode_gap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(modes, "_strict_default", lambda fn: None)  # torch before 2.3
    (cond,) = [c for c in CATALOG if (c.hop, c.variant) == ("cond", "simple")]
    result = run_cell(cond, Mode.STRICT, Device.CPU)
    assert result.status is Status.MISSING
    assert result.prop(Prop.GAP) == Gap.MODE_ABSENT
    assert result.prop(Prop.REASON) == modes.missing_reason(Mode.STRICT)
    assert resolve_gap(cond, Mode.AOT) is None


def test_every_catalogue_case_names_an_operator_this_torch_registers() -> None:
    # torch 2.13 registers every HOP the catalogue runs: a wrong name in `ops` shows here.
    assert {c.id: registered_op(c) for c in CATALOG if registered_op(c) is None} == {}
