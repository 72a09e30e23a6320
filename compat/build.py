"""The suites read -> one ``Report``: each suite tied to its target, cells tagged and ordered.

Suite-format files come first, in file order; foreign files come last, since
their test names are split against the HOPs that every suite file registers.
A suite that cannot be placed (no target, a target already read) is skipped
with a sentence; only when nothing at all is usable does this raise.
"""

from __future__ import annotations

from collections.abc import Iterable

from packaging.version import InvalidVersion, Version

from compat.behaviours import merge_tags
from compat.errors import InputError, TargetError
from compat.facts import settle_xpass
from compat.junit import (
    FileCell,
    Flavour,
    KnownNames,
    known_names,
    pytest_outcomes,
    resolve_foreign,
)
from compat.load import Inputs, LoadedSuite
from compat.model import Cell, Report, SkippedInput, TargetInfo
from compat.provenance import (
    FORMAT,
    FROM_COMMAND_LINE,
    FROM_FILE,
    FROM_TORCH_VERSION,
    PYTEST,
    file_properties,
)
from compat.targets import TargetId, is_build_tag
from suites.behaviours import BUILTIN, Behaviour, matching
from suites.schema import Prop, SuiteProp
from suites.scrub import scrub_credentials, scrub_pairs

_DROPPED_PROPS = frozenset({Prop.BEHAVIOURS.value})  # re-matched, never copied


def build_report(inputs: Inputs, behaviours: tuple[Behaviour, ...] = BUILTIN) -> Report:
    """Merge every suite into one report; ``behaviours`` is the whole table."""
    skipped = list(inputs.skipped)
    known = known_names(s.doc for s in inputs.suites)
    ordered = sorted(inputs.suites, key=lambda s: s.doc.flavour is Flavour.FOREIGN)
    targets: dict[str, TargetInfo] = {}
    cells: list[Cell] = []
    # The behaviours whose HOP and mode patterns cover a row: most cover none.
    applicable: dict[tuple[str, str], tuple[Behaviour, ...]] = {}
    for loaded in ordered:
        placed = _place(loaded, known, behaviours, targets, skipped)
        if placed is None:
            continue
        info, results = placed
        targets[info.id] = info
        for r in results:
            key = (r.id.hop, r.id.mode.value)
            if key not in applicable:
                applicable[key] = tuple(b for b in behaviours if b.applies_to(*key))
            cells.append(_cell(info.id, r, applicable[key], behaviours))
    if not targets:
        reasons = " ".join(s.reason for s in skipped) or "no JUnit input was given."
        raise InputError(f"Nothing to report: {reasons}")
    report = Report.from_cells(
        targets=_ordered_targets(targets.values()),
        cells=cells,
        behaviours=behaviours,
        skipped_inputs=tuple(sorted(skipped, key=lambda s: (s.path, s.reason))),
    )
    return settle_xpass(report)


def _place(
    loaded: LoadedSuite,
    known: KnownNames,
    behaviours: tuple[Behaviour, ...],
    targets: dict[str, TargetInfo],
    skipped: list[SkippedInput],
) -> tuple[TargetInfo, tuple[FileCell, ...]] | None:
    """The suite's target and cells, or None (with the reason in ``skipped``)."""
    path, doc = loaded.path, loaded.doc
    props = dict(doc.properties)
    results, env_error, left_out = doc.cells, doc.env_error, doc.left_out
    if doc.flavour is Flavour.FOREIGN:
        foreign = resolve_foreign(doc.raw, known, behaviours)
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
            return None
    target_id, target_from = _target_id(loaded, props)
    if target_id is None:
        skipped.append(
            SkippedInput(
                path,
                f"{path} does not say which torch it ran on: pass --target ID={path} "
                "(e.g. 2.6.0-cpu, or 2.6.0 when the build is not known), or --target ID "
                "for every such file.",
            )
        )
        return None
    try:
        tid = TargetId.parse(target_id, build_optional=True)
    except TargetError:
        skipped.append(
            SkippedInput(
                path,
                f"{path} names target {target_id!r}, which is not a target id (<full torch "
                f"version>-<build> such as 2.6.0-cpu, a version alone such as 2.6.0, or "
                f"local): give it one with --target ID={path}.",
            )
        )
        return None
    outcomes = pytest_outcomes(doc.raw) if doc.flavour is Flavour.FOREIGN else None
    # The file's own properties win (a merged junit.xml keeps where its targets came from),
    # but whatever a pytest file's properties say, it is one.
    props = {**file_properties(dict(doc.attributes), target_from, outcomes), **props}
    if outcomes is not None:
        props[FORMAT] = PYTEST
    info = _target_info(tid, props, path, env_error)
    if isinstance(info, str):
        skipped.append(SkippedInput(path, info))
        return None
    earlier = targets.get(info.id)
    if earlier is not None:
        skipped.append(
            SkippedInput(
                path,
                f"{path} claims target {info.id}, already read from {earlier.source_file}: give "
                f"one of them another id with --target ID={path}, or drop one.",
            )
        )
        return None
    if left_out:
        shown = "; ".join(left_out[:3]) + ("; ..." if len(left_out) > 3 else "")
        skipped.append(
            SkippedInput(
                path,
                scrub_credentials(
                    f"{len(left_out)} testcase(s) in {path} are not HOP export cells and were "
                    f"left out: {shown}."
                ),
            )
        )
    return info, results


def _cell(
    target: str,
    r: FileCell,
    applicable: tuple[Behaviour, ...],
    behaviours: tuple[Behaviour, ...],
) -> Cell:
    """A file's cell in the report: credentials scrubbed, ``applicable`` behaviours matched."""
    props = scrub_pairs((k, v) for k, v in r.properties if k not in _DROPPED_PROPS)
    error_type = _scrubbed(r.error_type)
    message = _scrubbed(r.message)
    tags: tuple[str, ...] = ()
    if applicable:
        tags = matching(applicable, r.id.hop, r.id.mode, error_type, message, dict(props))
    if r.asserted:
        tags = merge_tags(behaviours, r.asserted, tags)
    return Cell(
        target=target,
        id=r.id,
        status=r.status,
        behaviours=tags,
        error_type=error_type,
        message=message,
        signature=_scrubbed(r.signature),
        properties=props,
        time=r.time,
    )


def _scrubbed(text: str | None) -> str | None:
    return None if text is None else scrub_credentials(text)


def _ordered_targets(found: Iterable[TargetInfo]) -> tuple[TargetInfo, ...]:
    """Build families grouped, oldest family first (``local`` last), versions ascending."""
    oldest_first = list(found)
    oldest: dict[str, Version] = {}
    for t in oldest_first:
        oldest[t.family] = min(oldest.get(t.family, t.version), t.version)
    return tuple(
        sorted(
            oldest_first,
            key=lambda t: (t.build == "local", oldest[t.family], t.family, t.version, t.id),
        )
    )


def _registered_hops(props: dict[str, str]) -> tuple[str, ...]:
    value = props.get(SuiteProp.REGISTERED_HOPS, "")
    return tuple(sorted({h.strip() for h in value.split(",") if h.strip()}))


def _target_id(loaded: LoadedSuite, props: dict[str, str]) -> tuple[str | None, str]:
    """The id a suite is read as, and where it came from (``compat.provenance``)."""
    if loaded.target:
        return loaded.target, FROM_COMMAND_LINE
    if props.get(SuiteProp.TARGET):
        return props[SuiteProp.TARGET], FROM_FILE
    derived = _derived_id(props)
    if derived is not None:
        return derived, FROM_TORCH_VERSION
    return loaded.fallback, FROM_COMMAND_LINE


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
    tid: TargetId, props: dict[str, str], path: str, env_error: str | None
) -> TargetInfo | str:
    """The column for ``tid``, or why it cannot be placed (a sentence)."""
    torch_version = props.get(SuiteProp.TORCH_VERSION, "")
    try:
        reported: Version | None = Version(torch_version) if torch_version else None
    except InvalidVersion:
        reported = None
    version = Version(reported.public) if reported is not None else tid.version
    if version is None:
        return (
            f"{path}: target {str(tid)!r} carries no torch version and the file names "
            f"none: use an id like 2.6.0-cpu (--target 2.6.0-cpu={path})."
        )
    # The build groups columns into families: a malformed one falls back to the id's tag.
    stated = props.get(SuiteProp.BUILD, "")
    build = stated if is_build_tag(stated) else tid.tag
    return TargetInfo(
        id=str(tid),
        version=version,
        build=build,
        torch_version=scrub_credentials(torch_version),
        source_file=scrub_credentials(path),
        properties=scrub_pairs(props.items()),
        registered_hops=_registered_hops(props),
        env_error=scrub_credentials(env_error) if env_error is not None else None,
    )
