"""unittest and pytest entry: one generated test method per cell, all one body.

``python -m unittest suites.test_export`` or ``pytest suites/test_export.py``.
It runs in-process, so without the time limit and crash isolation of
``python -m suites``. Narrow it with comma-separated environment variables:
``HOP_SUITE_HOP`` (fnmatch patterns over hop or hop.variant), ``HOP_SUITE_CASE``
(fnmatch patterns over the case id, hop.variant or hop), ``HOP_SUITE_SOURCE``,
``HOP_SUITE_MODE``, ``HOP_SUITE_DEVICE``; add user cases with
``HOP_SUITE_CASE_MODULE`` (module names) and ``HOP_SUITE_CASE_PATH`` (folders).

Outcome mapping: pass passes; xfail (a known behaviour reproduced) is an
expected failure and xpass (one the reference expected, absent) an
unexpected success; skip and missing skip; fail and error fail.
"""

from __future__ import annotations

import os
import unittest
from collections.abc import Callable, Mapping

from suites.body import run_cell
from suites.cases import Case
from suites.collect import identifier, load_source, plan, select
from suites.environment import available_devices
from suites.results import CellResult
from suites.schema import DEFAULT_MODES, CellId, Device, Mode, Source, Status
from suites.worker import default_sources


def _listed(env: Mapping[str, str], key: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in env.get(key, "").split(",") if p.strip())


def load_cells(env: Mapping[str, str]) -> tuple[tuple[Case, CellId], ...]:
    """Every (case, cell) the environment variables select."""
    modules, paths = _listed(env, "HOP_SUITE_CASE_MODULE"), _listed(env, "HOP_SUITE_CASE_PATH")
    sources = tuple(Source(s) for s in _listed(env, "HOP_SUITE_SOURCE"))
    modes = tuple(Mode(m) for m in _listed(env, "HOP_SUITE_MODE")) or DEFAULT_MODES
    devices = tuple(Device(d) for d in _listed(env, "HOP_SUITE_DEVICE")) or available_devices()
    hops, patterns = _listed(env, "HOP_SUITE_HOP"), _listed(env, "HOP_SUITE_CASE")
    cases = [
        c
        for s in sources or default_sources(modules)
        for c in select(load_source(s, env, modules, paths)[0], hops, patterns)
    ]
    return tuple((case, cell) for case, cells in plan(cases, modes, devices) for cell in cells)


class TestHopExport(unittest.TestCase):
    """One method per cell; ``run`` measures the cell first, so unittest knows if it is an xfail."""

    _result: CellResult

    def run(self, result: unittest.TestResult | None = None) -> unittest.TestResult | None:
        method = getattr(self, self._testMethodName)
        case: Case | None = getattr(method, "case", None)
        cell: CellId | None = getattr(method, "cell", None)
        if case is not None and cell is not None:
            self._result = run_cell(case, cell.mode, cell.device)
            # unittest reads this before calling the method; only now is it known.
            expecting = self._result.status in (Status.XFAIL, Status.XPASS)
            self.__unittest_expecting_failure__ = expecting
        return super().run(result)

    def check_cell(self) -> None:
        """The one body: turn the measured CellResult into a unittest outcome."""
        result = self._result
        if result.status in (Status.SKIP, Status.MISSING):
            self.skipTest(f"{result.status}: {result.message}")
        if result.status in (Status.PASS, Status.XPASS):
            return
        self.fail(f"{result.cell}: {result.status}: {result.message}\n{result.detail}")


def _method(case: Case, cell: CellId) -> Callable[[TestHopExport], None]:
    def test(self: TestHopExport) -> None:
        self.check_cell()

    test.__doc__ = str(cell)
    test.case = case  # type: ignore[attr-defined]
    test.cell = cell  # type: ignore[attr-defined]
    return test


for _case, _cell in load_cells(os.environ):
    _name = identifier(_cell)
    while hasattr(TestHopExport, _name):  # names are lossy; never let one cell hide another
        _name += "_"
    setattr(TestHopExport, _name, _method(_case, _cell))
