"""Foreign test names split back into the suite's own case names, against the real torch.

pytest names upstream's tests after an op info's name and variant joined by
``_``; the suite names the same case hop=name, variant=variant_test_name (or
``default``). Every case the installed torch's hop_db and the catalogue have
must come back whole from its pytest name: with the names compat knows, and
with none at all (the rule for HOPs newer than compat).
"""

from __future__ import annotations

import warnings

import pytest

pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from compat.junit import (  # noqa: E402
    DEFAULT_VARIANT,
    HOP_DB_VARIANTS,
    KNOWN_HOPS,
    KnownNames,
    split_hop,
)
from suites.cases import CATALOG  # noqa: E402
from suites.upstream import load_upstream  # noqa: E402


def _pytest_body(hop: str, variant: str) -> str:
    return hop if variant == DEFAULT_VARIANT else f"{hop}_{variant}"


def test_every_catalogue_hop_is_known() -> None:
    assert {case.hop for case in CATALOG} <= KNOWN_HOPS


def test_every_hop_db_case_splits_back_into_its_suite_name() -> None:
    with warnings.catch_warnings():  # hop_db's imports warn (distutils): not this test's
        warnings.simplefilter("ignore", DeprecationWarning)
        upstream = load_upstream()
    if not upstream.cases:
        pytest.skip(f"hop_db is {upstream.status}")
    names = {(c.hop, c.variant) for c in upstream.cases}
    for hop, variant in names:
        body = _pytest_body(hop, variant)
        assert split_hop(body, KnownNames()) == (hop, variant), body
    # Knowing no HOP at all, every case whose variant is hop_db's usual one still splits
    # right (in 2.13 all but flex_attention_backward.explicit_buffers).
    unknown = KnownNames(hops=frozenset())
    wrong = {n for n in names if split_hop(_pytest_body(*n), unknown) != n}
    assert wrong == {n for n in names if n[1] not in HOP_DB_VARIANTS}
