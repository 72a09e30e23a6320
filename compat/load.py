"""JUnit paths -> the suites they hold: the pipeline's first stage, and its only reads.

A bad input never stops the others: it becomes a ``SkippedInput`` (one
sentence naming the file and what to do), and the rest is read.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from compat.errors import JUnitFileError, TargetError
from compat.junit import Flavour, SuiteDoc, parse_junit
from compat.model import SkippedInput
from compat.targets import TargetId
from suites.scrub import scrub_credentials


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
    """``["2.6.0-cpu=seed.xml", "2.13.0"]`` -> overrides; ``TargetError`` when malformed.

    An id may be a version alone (``2.6.0``) for a file whose build is not known.
    """
    by_path: list[tuple[str, str]] = []
    default: str | None = None
    for arg in args:
        target, sep, path = arg.partition("=")
        if not target or (sep and not path):
            raise TargetError(
                f"--target {arg!r}: expected ID=FILE (e.g. 2.6.0-cpu=seed.xml, or "
                "2.6.0=seed.xml when the build is not known) or ID alone "
                "(applied to foreign files that name no target)."
            )
        # What was checked is what is stored.
        target = str(TargetId.parse(target, build_optional=True))
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
        for f in _files_of(given, skipped):
            if _path_key(f) not in seen:
                seen.add(_path_key(f))
                files.append(f)
    return files


def _files_of(given: str, skipped: list[SkippedInput]) -> list[str]:
    """``given`` itself, or a folder's ``*.xml``; nothing (and why, in ``skipped``) if neither."""
    try:
        is_dir = stat.S_ISDIR(os.stat(given).st_mode)
    except OSError as err:
        skipped.append(SkippedInput(given, _not_found(given, err)))
        return []
    if not is_dir:
        return [given]
    found = sorted(str(p) for p in Path(given).glob("*.xml") if p.is_file())
    if not found:
        skipped.append(
            SkippedInput(
                given,
                f"folder {given} holds no *.xml files: point at the folder the suite "
                "wrote (reports/junit) or at the files themselves.",
            )
        )
    return found


def _not_found(given: str, err: OSError) -> str:
    """Why ``given`` cannot be opened, as a sentence: a loop or a dangling link is no typo."""
    if err.errno == errno.ELOOP:
        return f"{given} is a loop of symbolic links: point the link at a JUnit file, or drop it."
    if os.path.islink(given):
        return f"{given} is a symbolic link to a missing file: fix the link, or drop it."
    if err.errno in (errno.ENOENT, errno.ENOTDIR):
        return f"{given} does not exist: check the path, or drop it."
    return f"{given} cannot be read ({err.strerror}): check its permissions, or drop it."


@dataclass(frozen=True)
class LoadedSuite:
    """One testsuite of one input file, and the target ids the command line gave it."""

    path: str
    doc: SuiteDoc
    target: str | None = None  # --target ID=FILE: wins over what the file says
    fallback: str | None = None  # a bare --target ID: for foreign files that name none


@dataclass(frozen=True)
class Inputs:
    """What ``load_inputs`` read: every testsuite in file order, and the inputs skipped."""

    suites: tuple[LoadedSuite, ...]
    skipped: tuple[SkippedInput, ...]


def load_file(path: str) -> tuple[SuiteDoc, ...] | str:
    """The suites of one JUnit file, or why it cannot be used (a sentence)."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        return f"{path} cannot be read ({err.strerror}): check its permissions, or drop it."
    try:
        return parse_junit(data, path)
    except JUnitFileError as err:
        return str(err)


def load_inputs(paths: Sequence[str], overrides: TargetOverrides | None = None) -> Inputs:
    """Read ``paths`` (files, or folders of ``*.xml``) and the files ``overrides`` name."""
    overrides = overrides or TargetOverrides()
    skipped: list[SkippedInput] = []
    suites: list[LoadedSuite] = []
    for path in expand_inputs([*paths, *(p for p, _ in overrides.by_path)], skipped):
        result = load_file(path)
        if isinstance(result, str):
            skipped.append(SkippedInput(path, scrub_credentials(result)))
            continue
        given = overrides.for_path(path)
        for doc in result:
            fallback = overrides.default if doc.flavour is Flavour.FOREIGN else None
            suites.append(LoadedSuite(path, doc, given, fallback))
    return Inputs(tuple(suites), tuple(skipped))
