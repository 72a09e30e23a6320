"""The real pytest JUnit files in ../shared/reference/junit, next to the repository.

``seed-2.6.0.xml``: pytest's JUnit of the seed test file on torch 2.6.0;
``upstream-2.15.0.xml``: of upstream's test/export/test_hop.py on torch 2.15.0
(CPU). Tests that need one skip, naming it, where the folder is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REFERENCE_JUNIT = Path(__file__).resolve().parent.parent.parent / "shared/reference/junit"


def reference_junit(name: str) -> Path:
    """The path of a reference JUnit file, or a skip that names it."""
    path = REFERENCE_JUNIT / name
    if not path.is_file():
        pytest.skip(f"{path} is not here (the shared reference files sit next to the repository)")
    return path
