"""suites.behaviours: evidence first, the message only where a cell records no evidence."""

from __future__ import annotations

import pytest

from suites.behaviours import BUILTIN, Behaviour, judgeable, matching, resolve_status
from suites.schema import Prop, Status

CARRIED, TUPLE_TO_LIST = BUILTIN[0].id, BUILTIN[1].id
OLD = "operands must be a tuple but got <class 'list'>"  # torch 2.3.1
SEED = "carried_inputs must be a tuple but got <class 'list'>"  # the seed's torch
NEW = "carried_inputs must be a tuple or list but got <class 'dict'>"  # later torch's check

# What the suite records for a while_loop serialize cell.
RAN = {Prop.CARRIED_BEFORE.value: "tuple", Prop.CARRIED_AFTER.value: "list"}
RAISED_AT_RUN = {**RAN, Prop.STEP.value: "run", Prop.BEFORE_SAVE.value: "pass"}
KEPT_TUPLE = {**RAISED_AT_RUN, Prop.CARRIED_AFTER.value: "tuple"}
# torch 2.3.1's while_loop with a closure: it fails before save/load too (retrace errors).
FAILED_BEFORE = {**RAISED_AT_RUN, Prop.BEFORE_SAVE.value: "error"}
RAISED_AT_LOAD = {Prop.CARRIED_BEFORE.value: "tuple", Prop.STEP.value: "save/load"}


@pytest.mark.parametrize(
    ("error_type", "message", "props", "tags"),
    [
        # The suite's own cells: the evidence decides, whatever the wording.
        ("RuntimeError", OLD, RAISED_AT_RUN, (CARRIED, TUPLE_TO_LIST)),
        ("RuntimeError", SEED, RAISED_AT_RUN, (CARRIED, TUPLE_TO_LIST)),
        ("RuntimeError", "some wording of a later torch", RAISED_AT_RUN, (CARRIED, TUPLE_TO_LIST)),
        ("RuntimeError", SEED, KEPT_TUPLE, ()),  # the carried inputs stayed a tuple: not it
        # The program failed before the round trip: the round trip is not the cause.
        ("RuntimeError", "body_fn should return the same number", FAILED_BEFORE, (TUPLE_TO_LIST,)),
        ("ValueError", OLD, RAISED_AT_RUN, (TUPLE_TO_LIST,)),  # the exception type still counts
        (None, None, RAN, (TUPLE_TO_LIST,)),  # a pass that still turns the tuple into a list
        # Evidence incomplete (save/load raised): the message decides.
        ("RuntimeError", "cannot serialize node while_loop", RAISED_AT_LOAD, ()),
        ("RuntimeError", SEED, {Prop.STEP.value: "run"}, (CARRIED,)),
        # Foreign files (messages only): the message decides, old and seed wording alike.
        ("RuntimeError", OLD, {}, (CARRIED,)),
        ("RuntimeError", SEED, {}, (CARRIED,)),
        ("RuntimeError", NEW, {}, ()),
        ("RuntimeError", "operands must be a tuple or list but got <class 'dict'>", {}, ()),
        ("RuntimeError", "operands must be a tuple but got <class 'dict'>", {}, ()),
        (None, None, {}, ()),
    ],
)
def test_evidence_first_then_the_message(
    error_type: str | None, message: str | None, props: dict[str, str], tags: tuple[str, ...]
) -> None:
    assert matching(BUILTIN, "while_loop", "serialize", error_type, message, props) == tags


def test_the_2_3_cell_is_xfail_and_a_passing_tuple_to_list_keeps_its_tag() -> None:
    xfail = resolve_status(
        Status.ERROR, "while_loop", "serialize", "RuntimeError", OLD, RAISED_AT_RUN
    )
    assert xfail == (Status.XFAIL, (CARRIED, TUPLE_TO_LIST))
    passed = resolve_status(Status.PASS, "while_loop", "serialize", None, "", RAN)
    assert passed == (Status.XPASS, (TUPLE_TO_LIST,))


def test_a_message_cannot_outvote_the_evidence() -> None:
    # Carried inputs that stayed a tuple did not cause this error, whatever its text says.
    status, tags = resolve_status(
        Status.ERROR, "while_loop", "serialize", "RuntimeError", SEED, KEPT_TUPLE
    )
    assert (status, tags) == (Status.ERROR, ())


CARRIED_BEHAVIOUR, TUPLE_BEHAVIOUR = BUILTIN
BY_MESSAGE = Behaviour(id="m", hop="*", mode="*", sentence="s", message="boom")
BY_PROPERTY = Behaviour(id="p", hop="*", mode="*", sentence="s", properties=(("strict", "true"),))


@pytest.mark.parametrize(
    ("behaviour", "status", "error_type", "props", "expected"),
    [
        (CARRIED_BEHAVIOUR, Status.XFAIL, "RuntimeError", RAISED_AT_RUN, True),
        (CARRIED_BEHAVIOUR, Status.ERROR, "RuntimeError", {}, True),  # the message can tell
        (CARRIED_BEHAVIOUR, Status.PASS, None, {}, True),  # ran, raised nothing: absent
        (CARRIED_BEHAVIOUR, Status.XPASS, None, RAN, True),
        (CARRIED_BEHAVIOUR, Status.MISSING, None, {Prop.REASON.value: "no HOP"}, False),
        (CARRIED_BEHAVIOUR, Status.TIMEOUT, None, {}, False),
        (CARRIED_BEHAVIOUR, Status.CRASH, None, {}, False),
        (CARRIED_BEHAVIOUR, Status.SKIP, None, {}, False),
        (TUPLE_BEHAVIOUR, Status.PASS, None, RAN, True),
        (TUPLE_BEHAVIOUR, Status.ERROR, "RuntimeError", RAISED_AT_LOAD, False),  # never loaded
        (TUPLE_BEHAVIOUR, Status.PASS, None, {}, False),  # a foreign pass records no containers
        (BY_MESSAGE, Status.ERROR, "RuntimeError", {}, True),
        (BY_MESSAGE, Status.FAIL, "AssertionError", {}, True),
        (BY_MESSAGE, Status.MISSING, None, {}, False),
        (BY_PROPERTY, Status.ERROR, "RuntimeError", {}, False),
        (BY_PROPERTY, Status.PASS, None, {"strict": "false"}, True),
    ],
)
def test_judgeable_says_whether_a_cell_was_measured_for_a_behaviour(
    behaviour: Behaviour,
    status: Status,
    error_type: str | None,
    props: dict[str, str],
    expected: bool,
) -> None:
    assert judgeable(behaviour, status, error_type, props) is expected
