"""One exception class per failure kind, each with its own exit code.

Messages are whole sentences that name the file, key or target and say
what to do. Only ``compat.__main__`` catches these and turns them into exit
codes; a HOP that fails to export is a result, never one of these.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Sequence
from typing import ClassVar


class ExitCode(enum.IntEnum):
    """What ``python -m compat`` exits with."""

    OK = 0
    REGRESSION = 1  # ``diff``: something that passed no longer does
    INPUT = 2  # no usable JUnit input, or a report JSON that cannot be read
    CONFIG = 3  # a user-declared behaviour or [tool.compat] entry is invalid
    TARGET = 4  # a --target argument that cannot be applied
    ARTIFACT = 5  # the report folder cannot be written
    INTERNAL = 70  # a bug of this tool (EX_SOFTWARE): never 1, which means "regressed"


class CompatError(Exception):
    """Base class: a failure the user can fix, with its exit code."""

    exit_code: ClassVar[ExitCode] = ExitCode.INPUT


class InputError(CompatError):
    """Nothing usable was given: every JUnit input was unreadable, or none was found."""

    exit_code = ExitCode.INPUT


class JUnitFileError(InputError):
    """One JUnit file cannot be read (empty, truncated, not JUnit).

    The loader turns it into a skipped input and carries on with the others;
    it only ends the run, as an ``InputError``, when no input is usable.
    """


class ReportFileError(InputError):
    """A report JSON given to ``diff`` cannot be read or has the wrong schema."""


class ConfigError(CompatError):
    """A user-declared behaviour (or other [tool.compat] entry) is invalid."""

    exit_code = ExitCode.CONFIG


class TargetError(CompatError):
    """A ``--target`` argument is malformed or names a file that was not given."""

    exit_code = ExitCode.TARGET


class ArtifactError(CompatError):
    """The report cannot be written under the output root."""

    exit_code = ExitCode.ARTIFACT


def did_you_mean(word: str, options: Sequence[str]) -> str:
    """``"; did you mean 'versions'?"`` or ``""``: the tail of an unknown-name message."""
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
