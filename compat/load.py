"""JUnit paths -> ``Report``: read every input, resolve targets, tag and order the cells.

A bad input never stops the others: it becomes a ``SkippedInput`` (one
sentence naming the file and what to do) and the rest is merged. Only when
nothing at all is usable does this raise ``InputError``.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import operator
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, cast

from packaging.version import InvalidVersion, Version

from compat.behaviours import Tagger, merge_tags
from compat.errors import InputError, JUnitFileError, TargetError
from compat.facts import (
    CellIndex,
    Groups,
    ReportCells,
    RowCells,
    cell_order,
    remember_index,
    resolve_facts,
)
from compat.junit import (
    KNOWN_HOPS,
    CellResult,
    Flavour,
    ReadCache,
    SuiteCells,
    SuiteDoc,
    read_suites,
    resolve_foreign,
)
from compat.model import Cell, Report, SkippedInput, TargetInfo
from compat.parallel import Forked, can_fork
from compat.scrub import scrub_credentials, scrub_pairs
from compat.targets import TargetId
from suites.behaviours import BUILTIN, Behaviour
from suites.schema import CellId, Prop, SuiteProp


@dataclass(frozen=True)
class TargetOverrides:
    """``--target ID=FILE`` per file, and ``--target ID`` for foreign files without one."""

    by_path: tuple[tuple[str, str], ...] = ()  # (path as given, target id)
    default: str | None = None

    def for_path(self, path: str) -> str | None:
        key = _path_key(path)
        for given, target in self.by_path:
            if _path_key(given) == key:
                return target
        return None


def parse_target_args(args: Sequence[str]) -> TargetOverrides:
    """``["2.6.0-cpu=seed.xml", "2.13.0-cpu"]`` -> overrides; ``TargetError`` when malformed."""
    by_path: list[tuple[str, str]] = []
    default: str | None = None
    for arg in args:
        target, sep, path = arg.partition("=")
        if not target or (sep and not path):
            raise TargetError(
                f"--target {arg!r}: expected ID=FILE (e.g. 2.6.0-cpu=seed.xml) or ID alone "
                "(applied to foreign files that name no target)."
            )
        TargetId.parse(target)  # TargetError with the expected form when malformed
        if sep:
            by_path.append((path, target))
        elif default is not None:
            raise TargetError(
                f"--target {arg!r}: a bare --target ID was already given ({default!r}); "
                "give each foreign file its own with --target ID=FILE."
            )
        else:
            default = target
    return TargetOverrides(tuple(by_path), default)


def _path_key(path: str) -> str:
    return os.path.normcase(os.path.abspath(path))


def expand_inputs(paths: Iterable[str], skipped: list[SkippedInput]) -> list[str]:
    """Files as given, folders as their ``*.xml`` (sorted); each path once."""
    files: list[str] = []
    seen: set[str] = set()
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(str(p) for p in path.glob("*.xml") if p.is_file())
            if not found:
                skipped.append(
                    SkippedInput(
                        given,
                        f"folder {given} holds no *.xml files: point at the folder the suite "
                        "wrote (reports/junit) or at the files themselves.",
                    )
                )
        elif path.exists():
            found = [given]
        else:
            skipped.append(
                SkippedInput(given, f"{given} does not exist: check the path, or drop it.")
            )
            found = []
        for f in found:
            if _path_key(f) not in seen:
                seen.add(_path_key(f))
                files.append(f)
    return files


Loaded = tuple[SuiteDoc | SuiteCells, ...] | str  # what load_file gives


def load_file(path: str, cache: ReadCache | None = None) -> Loaded:
    """The suites of one JUnit file, or why it cannot be used (a sentence).

    ``cache`` is shared by the files of one report: their testcases repeat.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        return f"{path} cannot be read ({err.strerror}): check its permissions, or drop it."
    try:
        return read_suites(data, path, cache)
    except JUnitFileError as err:
        return str(err)


def read_files(paths: Iterable[str]) -> Iterator[Loaded]:
    """``load_file`` of each path in turn, through one ``ReadCache``."""
    cache = ReadCache()
    for path in paths:
        yield load_file(path, cache)


def _later(helper: Forked[list[Loaded]]) -> Iterator[Loaded]:
    """What the helper read, once this process asks for it."""
    yield from helper.result()


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside: reading, building and rendering a big matrix
    allocate millions of acyclic objects, and each collection would walk every one of
    them again (it halves the time of a big matrix)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def resolve_report(
    paths: Sequence[str],
    behaviours: tuple[Behaviour, ...] = BUILTIN,
    targets_override: TargetOverrides | None = None,
    parallel: bool | None = None,
) -> Report:
    """Read ``paths`` (files or folders) into one report; ``behaviours`` is the whole table.

    ``parallel``: whether a forked process reads part of the files; None: where fork
    and a second CPU exist and the files are big enough to be worth it.

    Files are merged as they are read (a big matrix never holds two forms of all
    its cells). Foreign files come last: their test names are split against the
    HOPs that every suite file registers.
    """
    overrides = targets_override or TargetOverrides()
    skipped: list[SkippedInput] = []
    files = expand_inputs([*paths, *(p for p, _ in overrides.by_path)], skipped)
    builder = _Builder(behaviours)
    known_hops = set(KNOWN_HOPS)
    foreign: list[tuple[str, SuiteDoc]] = []
    if parallel is None:
        parallel = can_fork() and _total_size(files) >= PARALLEL_READ_BYTES
    # A forked process reads the later half of the files while this one reads the
    # first half, then merges everything (merging costs a fifth of reading).
    mine = (len(files) + 1) // 2 if parallel else len(files)
    later = files[mine:]
    with gc_paused():
        helper = Forked(
            lambda: list(read_files(later)),
            f"reading {len(later)} of the JUnit files",
            fork=bool(later),
        )
        try:
            results = itertools.chain(read_files(files[:mine]), _later(helper))
            for path, result in zip(files, results, strict=True):
                if isinstance(result, str):
                    skipped.append(SkippedInput(path, scrub_credentials(result)))
                    continue
                for suite in result:
                    known_hops.update(_registered_hops(dict(suite.properties)))
                    if isinstance(suite, SuiteDoc) and suite.flavour is Flavour.FOREIGN:
                        foreign.append((path, suite))
                    else:
                        _add_suite(builder, path, suite, overrides, known_hops, skipped)
        finally:
            helper.stop()
        for path, suite in foreign:
            _add_suite(builder, path, suite, overrides, known_hops, skipped)
        if not builder.targets:
            reasons = " ".join(s.reason for s in skipped) or "no JUnit input was given."
            raise InputError(f"Nothing to report: {reasons}")
        targets = builder.ordered_targets()
        cells, index = builder.ordered_cells(targets)
        facts = resolve_facts(targets, cells, behaviours, index)
        report = Report(
            targets=targets,
            cells=cells,
            behaviours=behaviours,
            skipped_inputs=tuple(sorted(skipped, key=lambda s: (s.path, s.reason))),
            facts=facts,
        )
        remember_index(report, index)
        del builder
        _age_objects()
    return report


PARALLEL_READ_BYTES = 16 << 20  # below this, forking costs more than it saves


def _total_size(files: Sequence[str]) -> int:
    total = 0
    for path in files:
        with contextlib.suppress(OSError):  # reported when it is read
            total += os.path.getsize(path)
    return total


def _age_objects() -> None:
    """Move every object the collector tracks into its oldest generation, untouched.

    The objects a big report is made of (the reader's results, each row's and
    each target's lists) were all made while no collection ran, so all of them
    are young: the next collections (the youngest run after every 700
    allocations) would walk each of them again. They live as long as the
    report, so they go where a full collection is the only one that looks at
    them. (This ages the caller's young objects too: their cycles are found
    by the next full collection instead of a younger one.)
    """
    gc.freeze()
    gc.unfreeze()


def _registered_hops(props: dict[str, str]) -> tuple[str, ...]:
    value = props.get(SuiteProp.REGISTERED_HOPS, "")
    return tuple(sorted({h.strip() for h in value.split(",") if h.strip()}))


def _add_suite(
    builder: _Builder,
    path: str,
    suite: SuiteDoc | SuiteCells,
    overrides: TargetOverrides,
    known_hops: set[str],
    skipped: list[SkippedInput],
) -> None:
    props = dict(suite.properties)
    file_target = overrides.for_path(path)
    times: Sequence[float] | None = None
    env_error: str | None
    left_out: tuple[str, ...]
    if isinstance(suite, SuiteCells):
        results, times, env_error, left_out = suite.results, suite.times, None, ()
        fallback = None
    elif suite.flavour is Flavour.FOREIGN:
        foreign = resolve_foreign(suite.raw, known_hops, builder.tagger.behaviours)
        results, env_error, left_out = foreign.cells, foreign.env_error, foreign.left_out
        if not results and env_error is None:
            skipped.append(
                SkippedInput(
                    path,
                    f"{path} holds no HOP export results (no test named like "
                    "test_serialize_export_<hop>_<variant>_<device>_<dtype>): pass the "
                    "JUnit of the seed or of test/export/test_hop.py.",
                )
            )
            return
        fallback = overrides.default
    else:
        results, env_error, left_out = suite.cells, suite.env_error, suite.left_out
        fallback = None
    target_id = file_target or props.get(SuiteProp.TARGET) or _derived_id(props) or fallback
    if target_id is None:
        skipped.append(
            SkippedInput(
                path,
                f"{path} does not say which torch it ran on: pass --target ID={path} "
                "(e.g. 2.6.0-cpu), or --target ID for every such file.",
            )
        )
        return
    info = _target_info(target_id, props, path, env_error)
    if isinstance(info, str):
        skipped.append(SkippedInput(path, info))
        return
    earlier = builder.sources.get(info.id)
    if earlier is not None:
        skipped.append(
            SkippedInput(
                path,
                f"{path} claims target {info.id}, already read from {earlier}: give one "
                f"of them another id with --target ID={path}, or drop one.",
            )
        )
        return
    builder.add_target(info)
    builder.add_cells(info.id, results, times)
    left = list(left_out)
    if left:
        shown = "; ".join(left[:3]) + ("; ..." if len(left) > 3 else "")
        skipped.append(
            SkippedInput(
                path,
                scrub_credentials(
                    f"{len(left)} testcase(s) in {path} are not HOP export cells and were "
                    f"left out: {shown}."
                ),
            )
        )


def _derived_id(props: dict[str, str]) -> str | None:
    torch_version = props.get(SuiteProp.TORCH_VERSION)
    if not torch_version:
        return None
    try:
        version = Version(torch_version)
    except InvalidVersion:
        return None
    build = props.get(SuiteProp.BUILD) or version.local or "default"
    return f"{version.public}-{build}"


def _target_info(
    target_id: str, props: dict[str, str], path: str, env_error: str | None
) -> TargetInfo | str:
    """The column for ``target_id``, or why it cannot be placed (a sentence)."""
    torch_version = props.get(SuiteProp.TORCH_VERSION, "")
    try:
        from_id: TargetId | None = TargetId.parse(target_id)
    except TargetError:
        from_id = None
    try:
        reported: Version | None = Version(torch_version) if torch_version else None
    except InvalidVersion:
        reported = None
    version = Version(reported.public) if reported is not None else None
    if version is None and from_id is not None:
        version = from_id.version
    if version is None:
        return (
            f"{path}: target {target_id!r} carries no torch version and the file names "
            f"none: use an id like 2.6.0-cpu (--target 2.6.0-cpu={path})."
        )
    local = reported.local if reported is not None else None
    build = props.get(SuiteProp.BUILD) or (from_id.tag if from_id else "") or local or "default"
    return TargetInfo(
        id=scrub_credentials(target_id),
        version=version,
        build=scrub_credentials(build),
        torch_version=scrub_credentials(torch_version),
        source_file=scrub_credentials(path),
        properties=scrub_pairs(props.items()),
        registered_hops=_registered_hops(props),
        env_error=scrub_credentials(env_error) if env_error is not None else None,
    )


_DROPPED_PROPS = frozenset({Prop.BEHAVIOURS.value})  # re-matched, never copied


class _Row:
    """One cell id across targets: its shared ``CellId`` and the behaviours that may apply
    (compared by identity: one object per cell id)."""

    __slots__ = ("applicable", "id")

    def __init__(self, cell_id: CellId, applicable: tuple[Behaviour, ...]) -> None:
        self.id, self.applicable = cell_id, applicable


class _Payload(NamedTuple):
    """What a result becomes in the report, less its target and time."""

    raw: tuple[tuple[str, str], ...]  # the result's own properties object (kept alive)
    row: _Row
    result: int  # its index in _Builder.results


class _Added(NamedTuple):
    """One target's cells as added: per cell its payload and its time, in file order."""

    target: str
    payloads: list[_Payload]
    times: list[float]


_TIME = operator.attrgetter("time")
_PROPERTIES = operator.itemgetter(6)  # of a CellResult
_ROW = operator.itemgetter(1)  # of a _Payload
_RESULT = operator.itemgetter(2)
_FIRST = operator.itemgetter(0)


class _Builder:
    """Accumulates targets and cells; shares values that repeat across targets."""

    PAYLOADS_LIMIT = 1 << 17

    def __init__(self, behaviours: tuple[Behaviour, ...]) -> None:
        self.behaviours = behaviours
        self.tagger = Tagger(behaviours)
        self.targets: list[TargetInfo] = []
        self.sources: dict[str, str] = {}
        # Keyed by (classname, name): plain strings hash far faster than a CellId.
        self.rows: dict[tuple[str, str], _Row] = {}
        self._props: dict[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]] = {}
        self._strings: dict[str, str] = {}
        # By the address of a result's properties tuple: results that share that object
        # are equal but for their time (compat.junit reads repeated testcases so).
        self._payloads: dict[int, _Payload] = {}
        self._by_value: dict[tuple[object, ...], _Payload] = {}
        self.results: list[Cell] = []  # the first cell of each payload
        self.added: list[_Added] = []

    def add_target(self, info: TargetInfo) -> None:
        self.targets.append(info)
        self.sources[info.id] = info.source_file

    def _text(self, value: str | None) -> str | None:
        if value is None:
            return None
        got = self._strings.get(value)
        if got is None:
            got = self._strings[value] = scrub_credentials(value)
        return got

    def _properties(self, raw: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        got = self._props.get(raw)
        if got is None:
            kept = [(k, v) for k, v in raw if k not in _DROPPED_PROPS]
            if "@" in "".join(itertools.chain.from_iterable(kept)):
                got = scrub_pairs(kept)
            else:  # nothing to scrub (scrub_pairs would only sort them)
                got = tuple(sorted(kept))
            self._props[raw] = got
        return got

    def _payload(self, r: CellResult) -> _Payload:
        # Equal results read into other objects (by a forked reader, or after the read
        # cache filled up) share the payload too, so the distinct results, and the
        # report's text, do not depend on how the files were read.
        value = (r.key, r.status, r.error_type, r.message, r.signature, r.properties, r.asserted)
        same = self._by_value.get(value)
        if same is not None:
            payload = same._replace(raw=r.properties)
            self._payloads[id(r.properties)] = payload
            return payload
        row = self.rows.get(r.key)
        if row is None:
            applicable = self.tagger.applicable(r.id.hop, r.id.mode)
            row = self.rows[r.key] = _Row(r.id, applicable)
        props = self._properties(r.properties)
        error_type, message = self._text(r.error_type), self._text(r.message)
        behaviours: tuple[str, ...] = ()
        if row.applicable:
            behaviours = self.tagger.tags(
                row.applicable, r.id.hop, r.id.mode, error_type, message, props
            )
        if r.asserted:
            behaviours = merge_tags(self.behaviours, r.asserted, behaviours)
        cell = Cell(
            "",  # the result as a cell of no target (see compat.facts.CellIndex)
            row.id,
            r.status,
            behaviours,
            error_type,
            message,
            self._text(r.signature),
            props,
        )
        payload = _Payload(r.properties, row, len(self.results))
        self.results.append(cell)
        if len(self._payloads) >= self.PAYLOADS_LIMIT:
            self._payloads.clear()
        self._payloads[id(r.properties)] = payload  # payload.raw keeps that address its own
        self._by_value[value] = payload
        return payload

    def add_cells(
        self, target: str, results: Sequence[CellResult], times: Iterable[float] | None = None
    ) -> None:
        """Add one target's cells (a file states each cell once); ``times``: theirs, where
        not the results' own.

        The hot loop of a big matrix, as C-level passes over the file's results:
        each cell becomes its payload (its row, its result's index) and its time;
        ``ordered_cells`` turns the targets' columns into rows (``Cell`` objects are
        made only where asked for: ``compat.facts.RowCells``).
        """
        # The payloads hold their properties tuples, so a live address is a match.
        found = list(map(self._payloads.get, map(id, map(_PROPERTIES, results))))
        if None in found:  # the new results of this file, looked for in C
            for i in itertools.compress(range(len(found)), map(operator.not_, found)):
                found[i] = self._payload(results[i])
        payloads = cast(list[_Payload], found)
        self.added.append(
            _Added(target, payloads, list(map(_TIME, results) if times is None else times))
        )

    def ordered_targets(self) -> tuple[TargetInfo, ...]:
        """Build families grouped, oldest family first (``local`` last), versions ascending."""
        oldest: dict[str, Version] = {}
        for t in self.targets:
            oldest[t.family] = min(oldest.get(t.family, t.version), t.version)
        return tuple(
            sorted(
                self.targets,
                key=lambda t: (t.build == "local", oldest[t.family], t.family, t.version, t.id),
            )
        )

    def ordered_cells(self, targets: Sequence[TargetInfo]) -> tuple[ReportCells, CellIndex]:
        """Every cell, sorted by cell id, then target column; and their ``CellIndex``.

        Targets whose files list the same rows in the same order (the usual
        matrix: one suite, one order) are turned from columns into rows in one
        C-level pass (``zip``); a row whose cells come from several such groups
        (a target that misses a case, a foreign file) has them sorted by column.
        """
        column = {t.id: i for i, t in enumerate(targets)}
        ids = [t.id for t in targets]
        by_order: dict[tuple[int, ...], list[_Added]] = {}
        for added in sorted(self.added, key=lambda a: column[a.target]):
            by_order.setdefault(tuple(map(id, map(_ROW, added.payloads))), []).append(added)
        # id(row) -> per group of targets: their columns, and the row's results and times
        parts: dict[int, list[tuple[list[int], tuple[int, ...], tuple[float, ...]]]] = {}
        for group in by_order.values():
            columns = [column[a.target] for a in group]
            results = zip(*(list(map(_RESULT, a.payloads)) for a in group), strict=True)
            times = zip(*(a.times for a in group), strict=True)
            for row, which, seconds in zip(
                map(_ROW, group[0].payloads), results, times, strict=True
            ):
                parts.setdefault(id(row), []).append((columns, which, seconds))
        groups: Groups = {}
        result_of: dict[int, list[int]] = {}
        row_targets: dict[int, list[str]] = {}
        complete: set[int] = set()
        row_times: dict[int, list[float]] = {}
        for row in sorted(self.rows.values(), key=lambda r: cell_order(r.id)):
            key = id(row.id)
            got = parts.get(id(row), [])
            if len(got) == 1 and len(got[0][0]) == len(ids):  # every target, in column order
                _, which, seconds = got[0]
                complete.add(key)
                result_of[key], row_times[key], row_targets[key] = list(which), list(seconds), ids
            else:
                cells = sorted(
                    itertools.chain.from_iterable(zip(c, w, s, strict=True) for c, w, s in got),
                    key=_FIRST,
                )  # stable: a target's cells of one row keep their file order
                result_of[key] = [w for _, w, _ in cells]
                row_times[key] = [s for _, _, s in cells]
                row_targets[key] = [ids[c] for c, _, _ in cells]
            groups[row.id] = RowCells(
                self.results, result_of[key], row_targets[key], row_times[key]
            )
        index = CellIndex(groups, self.results, result_of, complete, row_times, row_targets)
        return ReportCells(groups.values()), index
