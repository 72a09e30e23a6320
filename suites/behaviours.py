"""Known behaviours: named, reproducible outcomes of a HOP in a mode.

The built-in table is the one place expectations live. The suite uses it to
turn a reproduced behaviour into ``xfail`` (and its absence, where the
reference suite expected it, into ``xpass``); the report matches the same
table, plus users' own entries, against every cell to tag it.

Evidence first: a behaviour may name ``evidence``, cell properties that show
its cause (while_loop's carried inputs before and after save/load, and the
``step`` that raised). Where a cell records every evidence key, the evidence
and the exception type decide, whatever the message says: torch words one
cause differently across releases. Only a cell without them (a foreign
pytest file: messages only) is matched by its message. ``judgeable`` says
whether a cell can tell at all, so that a report can say "not measured"
instead of "absent".
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass

from suites.schema import Prop, Status


@dataclass(frozen=True)
class Behaviour:
    """One known behaviour; matches an exception, cell properties, or both."""

    id: str
    hop: str  # fnmatch pattern over HOP names
    mode: str  # fnmatch pattern over mode names
    sentence: str
    exception: str | None = None  # exception class name, bare or qualified
    message: str | None = None  # regex searched in the exception message
    properties: tuple[tuple[str, str], ...] = ()  # cell property -> regex (full match)
    links: tuple[str, ...] = ()
    # The reference suite expects it: where it is absent the cell is ``xpass``.
    expected: bool = False
    origin: str = "builtin"
    # Cell property -> regex (full match): where a cell records every key, these and
    # ``exception`` decide, not ``message`` (an exception behaviour's; see the module docstring).
    evidence: tuple[tuple[str, str], ...] = ()

    def applies_to(self, hop: str, mode: str) -> bool:
        return fnmatch.fnmatchcase(hop, self.hop) and fnmatch.fnmatchcase(mode, self.mode)

    @property
    def is_exception(self) -> bool:
        return self.exception is not None or self.message is not None

    def has_evidence(self, properties: Mapping[str, str]) -> bool:
        """Whether a cell with these properties records every evidence key of this behaviour."""
        return bool(self.evidence) and all(key in properties for key, _ in self.evidence)

    def matches(
        self,
        hop: str,
        mode: str,
        error_type: str | None,
        error_message: str | None,
        properties: Mapping[str, str],
    ) -> bool:
        """Whether a cell with these facts shows this behaviour."""
        if not self.applies_to(hop, mode):
            return False
        if self.is_exception and not self._raised(error_type, error_message, properties):
            return False
        return _all_match(self.properties, properties)

    def _raised(
        self, error_type: str | None, error_message: str | None, properties: Mapping[str, str]
    ) -> bool:
        """Whether the cell's exception is this behaviour's: by evidence, else by message."""
        if error_type is None:
            return False
        if self.exception is not None and not _same_exception(self.exception, error_type):
            return False
        if self.has_evidence(properties):
            return _all_match(self.evidence, properties)
        return self.message is None or re.search(self.message, error_message or "") is not None


def _all_match(patterns: tuple[tuple[str, str], ...], properties: Mapping[str, str]) -> bool:
    """Whether every ``(key, regex)`` of ``patterns`` fully matches the cell's property."""
    for key, pattern in patterns:
        value = properties.get(key)
        if value is None or re.fullmatch(pattern, value) is None:
            return False
    return True


def _same_exception(wanted: str, actual: str) -> bool:
    if "." in wanted:
        return wanted == actual
    return actual.rsplit(".", 1)[-1] == wanted


BUILTIN: tuple[Behaviour, ...] = (
    Behaviour(
        id="while_loop.serde-carried-inputs",
        hop="while_loop*",
        mode="serialize",
        exception="RuntimeError",
        # The cause, as the suite records it: a tuple saved, a list loaded, the run raised.
        # The program ran before save/load (torch 2.3's while_loop with a closure fails
        # there too: the round trip is not its cause).
        evidence=(
            (Prop.CARRIED_BEFORE.value, "tuple"),
            (Prop.CARRIED_AFTER.value, "list"),
            (Prop.STEP.value, "run"),
            (Prop.BEFORE_SAVE.value, "pass"),
        ),
        # For cells without the evidence. torch 2.3 says "operands must be a tuple but got
        # <class 'list'>"; later torch checks for "a tuple or list": another error, not this.
        message=(
            r"carried_inputs must be a tuple(?! or list)"
            r"|operands must be a tuple but got <class 'list'>"
        ),
        sentence=(
            "After torch.export save/load, running while_loop raises "
            "'carried_inputs must be a tuple' (torch 2.3: 'operands must be a tuple')."
        ),
        links=("shared/reference/test_hop_seed.py (test_serialize_export)",),
        expected=True,
    ),
    Behaviour(
        id="while_loop.serde-tuple-to-list",
        hop="while_loop*",
        mode="serialize",
        properties=(("carried_inputs_before", "tuple"), ("carried_inputs_after", "list")),
        sentence=(
            "The while_loop node's carried inputs go into torch.export.save as a "
            "tuple and come out of torch.export.load as a list."
        ),
    ),
)


def matching(
    behaviours: tuple[Behaviour, ...],
    hop: str,
    mode: str,
    error_type: str | None,
    error_message: str | None,
    properties: Mapping[str, str],
) -> tuple[str, ...]:
    """Ids of the behaviours a cell shows, in table order."""
    return tuple(
        b.id for b in behaviours if b.matches(hop, mode, error_type, error_message, properties)
    )


def judgeable(
    behaviour: Behaviour, status: Status, error_type: str | None, properties: Mapping[str, str]
) -> bool:
    """Whether a cell's facts can say if it shows ``behaviour``, one way or the other.

    True where the cell records the behaviour's evidence, or the properties it
    tests; for an exception behaviour also where the cell raised (its message
    can be matched) or passed (nothing was raised). False for a cell that was
    not measured (missing, skipped, timed out, crashed): it can neither
    reproduce the behaviour nor show it gone. Whether the behaviour applies to
    the cell's HOP and mode is ``Behaviour.applies_to``'s question, not this one.
    """
    if behaviour.has_evidence(properties):
        return True
    if behaviour.is_exception:
        return error_type is not None or status in (Status.PASS, Status.XPASS)
    return all(key in properties for key, _ in behaviour.properties)


def resolve_status(
    raw: Status,
    hop: str,
    mode: str,
    error_type: str | None,
    error_message: str | None,
    properties: Mapping[str, str],
    behaviours: tuple[Behaviour, ...] = BUILTIN,
) -> tuple[Status, tuple[str, ...]]:
    """Raw outcome (pass/fail/error) -> final status and matching behaviour ids.

    An error that reproduces a known exception behaviour is ``xfail``; a pass
    where the reference expected such an exception is ``xpass``.
    """
    ids = matching(behaviours, hop, mode, error_type, error_message, properties)
    by_id = {b.id: b for b in behaviours}
    if raw is Status.ERROR and any(by_id[i].is_exception for i in ids):
        return Status.XFAIL, ids
    if raw is Status.PASS and any(
        b.expected and b.is_exception and b.applies_to(hop, mode) for b in behaviours
    ):
        return Status.XPASS, ids
    return raw, ids
