"""Foreign test names split back into the suite's own case names, against the real torch.

pytest names upstream's tests after an op info's name and variant joined by
``_``; the suite names the same case hop=name, variant=variant_test_name (or
``default``). Every case the installed torch's hop_db and the catalogue have
must come back whole from its pytest name: with the names compat knows, and
with none at all (the rule for HOPs newer than compat).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
from suites.catalog import CATALOG  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def _pytest_body(hop: str, variant: str) -> str:
    return hop if variant == DEFAULT_VARIANT else f"{hop}_{variant}"


def test_every_catalogue_hop_is_known() -> None:
    assert {case.hop for case in CATALOG} <= KNOWN_HOPS


def _hop_db_cases() -> set[tuple[str, str]]:
    """The suite's upstream case names (hop, variant), read in a fresh interpreter."""
    # In-process, whether hop_db imports depends on what other tests imported before
    # (setuptools' distutils shim asserts on a distutils already loaded); the suite
    # itself imports it in a worker process of its own.
    script = (
        "import json; from suites.upstream import load_upstream; u = load_upstream(); "
        "print(json.dumps([u.status, [[c.hop, c.variant] for c in u.cases]]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True
    )
    status, cases = json.loads(done.stdout.splitlines()[-1])
    if not cases:
        pytest.skip(f"hop_db is {status}")
    return {(hop, variant) for hop, variant in cases}


def test_every_hop_db_case_splits_back_into_its_suite_name() -> None:
    names = _hop_db_cases()
    for hop, variant in names:
        body = _pytest_body(hop, variant)
        assert split_hop(body, KnownNames()) == (hop, variant), body
    # Knowing no HOP at all, every case whose variant is hop_db's usual one still splits
    # right (in 2.13 all but flex_attention_backward.explicit_buffers).
    unknown = KnownNames(hops=frozenset())
    wrong = {n for n in names if split_hop(_pytest_body(*n), unknown) != n}
    assert wrong == {n for n in names if n[1] not in HOP_DB_VARIANTS}
