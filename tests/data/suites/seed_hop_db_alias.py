"""pytest plugin (``-p seed_hop_db_alias``): lets the seed file collect on torch >= 2.7.

The seed imports ``hop_that_doesnt_have_opinfo_test_allowlist``, which torch
2.7 renamed with a ``FIXME_`` prefix; before collection, give the module
its old name back. The seed file itself stays untouched.
"""

from __future__ import annotations

from typing import Any

OLD = "hop_that_doesnt_have_opinfo_test_allowlist"
NEW = "FIXME_" + OLD


def pytest_configure(config: Any) -> None:
    from torch.testing._internal import hop_db

    if not hasattr(hop_db, OLD) and hasattr(hop_db, NEW):
        setattr(hop_db, OLD, getattr(hop_db, NEW))
