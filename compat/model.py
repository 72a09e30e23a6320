"""The report model: targets x cases x modes x devices, and the facts derived from it.

Everything here is a frozen value: ``compat.build`` makes a ``Report`` from
the JUnit read, ``compat.facts`` derives its ``Facts``, the renderers only read.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from packaging.version import Version

from suites.behaviours import Behaviour
from suites.schema import CellId, Status, SuiteProp


def build_family(build: str) -> str:
    """The family of a build tag: ``cuda`` for every ``cuXXX``, ``rocm`` for every ROCm."""
    if re.fullmatch(r"cu\d+", build):
        return "cuda"
    if build.startswith("rocm"):
        return "rocm"
    return build


@dataclass(frozen=True)
class TargetInfo:
    """One column of the report: a torch environment the suite ran in."""

    id: str  # "2.6.0-cu124", "2.13.0-cpu", "local"
    version: Version  # torch version without local part, for ordering
    build: str  # "cpu", "cu124", "rocm6.2", "local", ...
    torch_version: str  # as torch reports it, e.g. "2.13.0+cpu"
    source_file: str  # the JUnit file it came from (as given, relative if possible)
    properties: tuple[tuple[str, str], ...] = ()  # suite-level properties, sorted
    registered_hops: tuple[str, ...] = ()
    env_error: str | None = None  # set when the target could not be installed or imported

    @property
    def family(self) -> str:
        """The build family versions are compared within: ``cuda``, ``rocm``, or the build.

        The default index's wheels move from one CUDA to the next between
        releases (cu124, cu128, ...); comparing only equal tags would never
        compare 2.6.0-cu124 with 2.9.1-cu128.
        """
        return build_family(self.build)

    @property
    def incomplete(self) -> str | None:
        """Why the suite's run did not finish (killed, interrupted), when it did not."""
        return dict(self.properties).get(SuiteProp.INTERRUPTED.value)


@dataclass(frozen=True)
class Cell:
    """One result: (target, case, mode, device) -> status, with its evidence."""

    target: str  # TargetInfo.id
    id: CellId
    status: Status
    behaviours: tuple[str, ...] = ()  # ids of the known behaviours this cell shows
    error_type: str | None = None
    message: str | None = None  # raw message, already free of credentials
    signature: str | None = None
    properties: tuple[tuple[str, str], ...] = ()  # testcase properties, sorted
    time: float = 0.0


@dataclass(frozen=True)
class SkippedInput:
    """An input that was not merged, and why (one sentence, with the fix)."""

    path: str
    reason: str


class Verdict(enum.StrEnum):
    """A known behaviour in one target."""

    REPRODUCED = "reproduced"
    ABSENT = "absent"
    OTHER = "other error"
    NOT_MEASURED = "not measured"  # cells ran, but none records what the behaviour looks at
    NOT_APPLICABLE = "n/a"


class ChangeKind(enum.StrEnum):
    """How a row moved between two consecutive versions of a build family.

    Only a regression or a fix compares the same measurement twice: "new" and
    "gone" are a HOP, case or mode that did not exist on one side, and
    "default changed" a recorded mode parameter (strictness) that differs.
    """

    REGRESSION = "regression"
    FIX = "fix"
    NEW = "new"
    GONE = "gone"
    DEFAULT_CHANGED = "default changed"


@dataclass(frozen=True)
class Change:
    """A row that changed between consecutive targets of one build family."""

    kind: ChangeKind
    build: str
    cell: CellId
    before: str  # target id
    after: str  # target id
    before_status: Status | None  # None: no result there (the case was not in that release)
    after_status: Status | None
    note: str = ""  # what else the two cells say: "strict true → false", a behaviour kept


class Gap(enum.StrEnum):
    """Why a target has no measured result for a row."""

    ENV_ERROR = "target not installed"
    HOP_DB_UNAVAILABLE = "hop_db unavailable"
    EXPORTDB_UNAVAILABLE = "ExportDB unavailable"
    NOT_IN_HOP_DB = "not in this release's hop_db"
    NOT_IN_EXPORTDB = "not in this release's ExportDB"
    HOP_NOT_REGISTERED = "hop not registered"
    API_ABSENT = "public API absent"
    TOO_OLD = "release too old"  # older than the oldest release the case's public API needs
    MODE_ABSENT = "mode absent"
    NOT_RUN = "not run"  # the target's results hold no cell of that mode and device at all
    CUT_SHORT = "run cut short"
    NO_RESULT = "no result"


# Gaps that say the thing did not exist in that torch: a result next to one is new (or gone).
ABSENT_GAPS = frozenset(
    {
        Gap.NOT_IN_HOP_DB,
        Gap.NOT_IN_EXPORTDB,
        Gap.HOP_NOT_REGISTERED,
        Gap.API_ABSENT,
        Gap.TOO_OLD,
        Gap.MODE_ABSENT,
    }
)


@dataclass(frozen=True)
class GapRow:
    """The cells of one target that share a gap and its reason."""

    target: str
    gap: Gap
    reason: str
    cells: tuple[CellId, ...]


@dataclass(frozen=True)
class RowSince:
    """The first target of a build family from which a row passes for good."""

    cell: CellId
    build: str
    since: str | None  # target id, None when it does not pass in the newest target
    at_oldest: bool = False  # it passes in the oldest target that measured it: "≤ since"
    gone: bool = False  # the newest target measured says the case no longer exists


@dataclass(frozen=True)
class BehaviourRow:
    """One known behaviour across all targets."""

    behaviour: Behaviour
    verdicts: tuple[tuple[str, Verdict], ...]  # (target id, verdict) in column order
    first_seen: str | None  # target id
    last_seen: str | None
    absent_since: str | None  # first target from which it is gone for good
    still_present: bool  # reproduced in the newest target where it applies
    cells: tuple[str, ...] = ()  # "target/cell id" strings that reproduce it


@dataclass(frozen=True)
class InventoryRow:
    """A HOP that some target registers, and whether a case covers it."""

    hop: str
    registered_in: tuple[str, ...]  # target ids
    covered: bool


@dataclass(frozen=True)
class SignatureRow:
    """A frequent error signature and the cells it hits."""

    signature: str
    count: int
    cells: tuple[str, ...]  # "target/cell id"


@dataclass(frozen=True)
class ClaimMiss:
    """One exportdb cell whose measurement contradicts the support level ExportDB declares."""

    target: str
    cell: CellId
    declared: str  # "SUPPORTED" or "NOT_SUPPORTED_YET", as that torch's ExportDB says
    status: Status  # a failure where it claims support, a pass where it declares none


@dataclass(frozen=True)
class ClaimRow:
    """An exportdb case whose declared support level the measurement contradicts somewhere."""

    case: str  # "exportdb:cond.cond_branch_class_method"
    misses: tuple[ClaimMiss, ...]  # in column order, then by cell id


@dataclass(frozen=True)
class Facts:
    since: tuple[RowSince, ...] = ()
    changes: tuple[Change, ...] = ()
    behaviours: tuple[BehaviourRow, ...] = ()
    inventory: tuple[InventoryRow, ...] = ()
    signatures: tuple[SignatureRow, ...] = ()
    flaky: frozenset[tuple[str, CellId]] = frozenset()  # (target, cell): two runs disagreed
    gaps: tuple[GapRow, ...] = ()  # per target: cells without a measured result, and why
    claims: tuple[ClaimRow, ...] = ()  # exportdb cases whose declared support level is wrong

    @functools.cached_property
    def gap_of(self) -> Mapping[tuple[str, CellId], GapRow]:
        """(target, cell) -> why it has no measured result: ``gaps`` looked up by cell."""
        return gap_lookup(self.gaps)


def gap_lookup(gaps: Iterable[GapRow]) -> dict[tuple[str, CellId], GapRow]:
    """Each (target, cell) of ``gaps`` -> its gap row."""
    return {(g.target, cell): g for g in gaps for cell in g.cells}


@dataclass(frozen=True)
class Row:
    """One cell id across targets: its cells in column order (targets without one left out)."""

    id: CellId
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Report:
    """Every merged cell, as rows sorted by cell id, and its targets in column order."""

    targets: tuple[TargetInfo, ...]  # builds grouped, versions ascending within a build
    rows: tuple[Row, ...]
    behaviours: tuple[Behaviour, ...]  # built-in and user-declared
    skipped_inputs: tuple[SkippedInput, ...] = ()

    @property
    def cells(self) -> tuple[Cell, ...]:
        """Every cell, by cell id, then target column."""
        return tuple(cell for row in self.rows for cell in row.cells)

    @classmethod
    def from_cells(
        cls,
        targets: tuple[TargetInfo, ...],
        cells: Iterable[Cell],
        behaviours: tuple[Behaviour, ...],
        skipped_inputs: tuple[SkippedInput, ...] = (),
    ) -> Report:
        """A report whose rows are ``cells`` grouped by cell id, each in column order."""
        column = {t.id: i for i, t in enumerate(targets)}
        by_id: dict[CellId, list[Cell]] = {}
        for cell in cells:
            by_id.setdefault(cell.id, []).append(cell)
        rows = tuple(
            Row(cell_id, tuple(sorted(by_id[cell_id], key=lambda c: column.get(c.target, -1))))
            for cell_id in sorted(by_id)
        )
        return cls(targets, rows, behaviours, skipped_inputs)
