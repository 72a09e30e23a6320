"""compat.behaviours: user entries validated with messages that name the key; tagging."""

from __future__ import annotations

from typing import Any

import pytest

from compat.behaviours import merge_tags, parse_behaviours
from compat.errors import ConfigError, ExitCode
from suites.behaviours import BUILTIN, Behaviour, matching

WHERE = "pyproject.toml [tool.compat]"
GOOD: dict[str, Any] = {
    "id": "scan.serde-unsupported",
    "hop": "scan",
    "mode": "serialize",
    "exception": "SerializeError",
    "message": r"higher-order op scan is not supported",
    "sentence": "torch.export.save cannot serialize scan.",
    "links": ["https://github.com/pytorch/pytorch/issues/1"],
}


def _with(**changes: Any) -> dict[str, Any]:
    entry = {**GOOD, **changes}
    return {k: v for k, v in entry.items() if v is not None}


def test_a_good_entry() -> None:
    (b,) = parse_behaviours([GOOD], WHERE)
    assert b == Behaviour(
        id="scan.serde-unsupported",
        hop="scan",
        mode="serialize",
        sentence="torch.export.save cannot serialize scan.",
        exception="SerializeError",
        message=r"higher-order op scan is not supported",
        links=("https://github.com/pytorch/pytorch/issues/1",),
        origin=WHERE,
    )
    assert not b.expected


def test_properties_only_entry() -> None:
    entry = _with(exception=None, message=None, properties={"carried_inputs_after": "list|dict"})
    (b,) = parse_behaviours([entry], WHERE)
    assert b.properties == (("carried_inputs_after", "list|dict"),)


def test_evidence_decides_before_the_message() -> None:
    evidence = {"carried_inputs_after": "dict", "step": "run"}
    (b,) = parse_behaviours([_with(hop="while_loop", evidence=evidence)], WHERE)
    assert b.evidence == (("carried_inputs_after", "dict"), ("step", "run"))
    props = {"carried_inputs_after": "dict", "step": "run"}
    # The cell records the evidence: the wording of its message no longer matters...
    assert matching((b,), "while_loop", "serialize", "SerializeError", "other words", props)
    # ...and evidence that says otherwise rules the message out.
    wrong = {**props, "carried_inputs_after": "list"}
    message = "higher-order op scan is not supported"
    assert not matching((b,), "while_loop", "serialize", "SerializeError", message, wrong)
    # Without the evidence keys (a foreign file) the message decides.
    assert matching((b,), "while_loop", "serialize", "SerializeError", message, {})


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        (_with(evidence={"carried": "list"}), "evidence.carried is not a testcase property"),
        (_with(evidence="list"), "'evidence' must be a table of property name -> regex"),
        (_with(excepton="X"), "unknown key 'excepton'; did you mean 'exception'?"),
        (_with(sentance="x"), "unknown key 'sentance'; did you mean 'sentence'?"),
        (_with(sentence=None), "key 'sentence' is missing"),
        (_with(hop=None), "key 'hop' is missing"),
        (_with(mode="serialise"), "mode 'serialise' matches no mode; did you mean 'serialize'?"),
        (_with(message="(unclosed"), "message '(unclosed' is not a valid regex"),
        (_with(id="has space"), "id 'has space' must start with a letter or digit"),
        (_with(id=""), "'id' must be a non-empty string"),
        (_with(hop=3), "'hop' must be a non-empty string, not 3"),
        (_with(sentence="  "), "'sentence' is empty"),
        (_with(links="https://x"), "'links' must be an array of strings"),
        (_with(exception=None, message=None), "give at least one of 'exception', 'message'"),
        (
            _with(properties={"carried_input_after": "list"}),
            "properties.carried_input_after is not a testcase property; "
            "did you mean 'carried_inputs_after'?",
        ),
        (_with(properties={"status": "("}), "properties.status '(' is not a valid regex"),
        (_with(properties="status=xfail"), "'properties' must be a table"),
        (_with(id=BUILTIN[0].id), "is already used by the built-in table"),
    ],
)
def test_bad_entries_name_the_key_and_the_fix(entry: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_behaviours([entry], WHERE)
    assert info.value.exit_code is ExitCode.CONFIG
    message = str(info.value)
    assert message.startswith(f"{WHERE} behaviours[0]")
    assert words in message


def test_duplicate_user_ids_and_non_tables() -> None:
    with pytest.raises(
        ConfigError, match=r"behaviours\[1\]: id .*already used by .*behaviours\[0\]"
    ):
        parse_behaviours([GOOD, GOOD], WHERE)
    with pytest.raises(ConfigError, match="expected a table"):
        parse_behaviours(["scan"], WHERE)  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="array of tables"):
        parse_behaviours("scan", WHERE)  # type: ignore[arg-type]


def test_credentials_in_links_and_sentences_are_scrubbed() -> None:
    entry = _with(links=["https://me:tok@tracker.example/1"], sentence="see https://a:b@x.example")
    (b,) = parse_behaviours([entry], WHERE)
    assert b.links == ("https://tracker.example/1",)
    assert b.sentence == "see https://x.example"


@pytest.mark.parametrize(
    ("hop", "mode", "error_type", "message", "props", "tags"),
    [
        (
            "while_loop",
            "serialize",
            "RuntimeError",
            "carried_inputs must be a tuple",
            (),
            (BUILTIN[0].id,),
        ),
        (
            "while_loop",
            "serialize",
            "RuntimeError",
            "carried_inputs must be a tuple",
            (("carried_inputs_after", "list"), ("carried_inputs_before", "tuple")),
            (BUILTIN[0].id, BUILTIN[1].id),
        ),
        ("while_loop", "retrace", "RuntimeError", "carried_inputs must be a tuple", (), ()),
        (  # torch 2.13's check of what while_loop is given: not the round-trip behaviour
            "while_loop",
            "serialize",
            "RuntimeError",
            "carried_inputs must be a tuple or list, got <class 'dict'>",
            (),
            (),
        ),
        (
            "while_loop",
            "serialize",
            "RuntimeError",
            "carried_inputs must be a tuple but got <class 'list'>",
            (),
            (BUILTIN[0].id,),
        ),
        (
            "scan",
            "serialize",
            "torch._export.serde.serialize.SerializeError",
            "op scan is not supported",
            (),
            ("user",),
        ),
        ("scan", "serialize", None, None, (), ()),
    ],
)
def test_table_matching(
    hop: str,
    mode: str,
    error_type: str | None,
    message: str | None,
    props: tuple[tuple[str, str], ...],
    tags: tuple[str, ...],
) -> None:
    user = Behaviour(id="user", hop="scan", mode="*", sentence="s", message="op scan")
    assert matching((*BUILTIN, user), hop, mode, error_type, message, dict(props)) == tags


def test_merge_tags_keeps_table_order() -> None:
    assert merge_tags(BUILTIN, [BUILTIN[1].id], [BUILTIN[0].id, "zz"]) == (
        BUILTIN[0].id,
        BUILTIN[1].id,
        "zz",
    )
