"""User-declared known behaviours, and tagging cells with the whole table.

The table itself (``suites.behaviours.BUILTIN``) and the matching rule live
in ``suites``; this module validates users' own entries (from
``[[tool.compat.behaviours]]``) and re-matches every cell against built-in
plus user entries, so a user behaviour tags cells in every output and
removing it removes its tags.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from typing import Any

from compat.errors import ConfigError, did_you_mean
from suites.behaviours import BUILTIN, Behaviour
from suites.schema import Mode, Prop
from suites.scrub import scrub_credentials

ALLOWED_KEYS: tuple[str, ...] = (
    "id",
    "hop",
    "mode",
    "exception",
    "message",
    "properties",
    "evidence",
    "sentence",
    "links",
)
REQUIRED_KEYS: tuple[str, ...] = ("id", "hop", "mode", "sentence")
# Testcase properties a behaviour may test; "dtype" comes from pytest's names.
MATCHABLE_PROPERTIES: tuple[str, ...] = (*(p.value for p in Prop), "dtype")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def parse_behaviours(
    entries: Sequence[Mapping[str, Any]],
    where: str,
    builtin: tuple[Behaviour, ...] = BUILTIN,
) -> tuple[Behaviour, ...]:
    """Validate user entries (``where`` names their file and table) into behaviours."""
    if not isinstance(entries, Sequence) or isinstance(entries, str):
        raise ConfigError(
            f"{where}: behaviours must be an array of tables ([[tool.compat.behaviours]]), "
            f"not {type(entries).__name__}."
        )
    seen = {b.id: "the built-in table" for b in builtin}
    out: list[Behaviour] = []
    for index, entry in enumerate(entries):
        here = f"{where} behaviours[{index}]"
        behaviour = _parse_one(entry, here, where)
        if behaviour.id in seen:
            raise ConfigError(
                f"{here}: id {behaviour.id!r} is already used by {seen[behaviour.id]}; "
                "give this behaviour its own id."
            )
        seen[behaviour.id] = here
        out.append(behaviour)
    return tuple(out)


def _parse_one(entry: Mapping[str, Any], here: str, origin: str) -> Behaviour:
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{here}: expected a table with keys {', '.join(ALLOWED_KEYS)}.")
    if isinstance(entry.get("id"), str):
        here = f"{here} ({entry['id']!r})"
    text = _texts(entry, here)
    properties = _properties(entry.get("properties"), here)
    evidence = _properties(entry.get("evidence"), here, "evidence")
    exception, message = text.get("exception"), text.get("message")
    if exception is None and message is None and not properties:
        raise ConfigError(
            f"{here}: give at least one of 'exception', 'message' or 'properties', "
            "or it would tag every cell of its HOP and mode."
        )
    links = entry.get("links", [])
    if not isinstance(links, list) or not all(isinstance(x, str) for x in links):
        raise ConfigError(f"{here}: 'links' must be an array of strings (URLs or paths).")
    return Behaviour(
        id=text["id"],
        hop=text["hop"],
        mode=text["mode"],
        sentence=scrub_credentials(text["sentence"].strip()),
        exception=exception,
        message=message,
        properties=properties,
        evidence=evidence,
        links=tuple(scrub_credentials(x) for x in links),
        origin=origin,
    )


def _texts(entry: Mapping[str, Any], here: str) -> dict[str, str]:
    """The entry's string keys, each checked: known, present where required, well-formed."""
    for key in entry:
        if key not in ALLOWED_KEYS:
            raise ConfigError(
                f"{here}: unknown key {key!r}{did_you_mean(str(key), ALLOWED_KEYS)} "
                f"Allowed keys: {', '.join(ALLOWED_KEYS)}."
            )
    for key in REQUIRED_KEYS:
        if key not in entry:
            raise ConfigError(f"{here}: key {key!r} is missing; add it.")
    text = {
        key: _string(entry, key, here)
        for key in ALLOWED_KEYS
        if key in entry and key not in ("properties", "evidence", "links")
    }
    if not _ID.match(text["id"]):
        raise ConfigError(
            f"{here}: id {text['id']!r} must start with a letter or digit and hold only "
            "letters, digits, '.', '_' and '-'."
        )
    if not text["sentence"].strip():
        raise ConfigError(f"{here}: 'sentence' is empty; say in one sentence what happens.")
    mode = text["mode"]
    if not any(fnmatch.fnmatchcase(m.value, mode) for m in Mode):
        modes = [m.value for m in Mode]
        raise ConfigError(
            f"{here}: mode {mode!r} matches no mode{did_you_mean(mode, modes)} "
            f"Modes: {', '.join(modes)} (fnmatch patterns such as '*' work)."
        )
    if "message" in text:
        _check_regex(text["message"], "message", here)
    return text


def _string(entry: Mapping[str, Any], key: str, here: str) -> str:
    value = entry[key]
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{here}: {key!r} must be a non-empty string, not {value!r}.")
    return value


def _check_regex(pattern: str, key: str, here: str) -> None:
    try:
        re.compile(pattern)
    except re.error as err:
        raise ConfigError(f"{here}: {key} {pattern!r} is not a valid regex ({err}).") from err


def _properties(value: object, here: str, name: str = "properties") -> tuple[tuple[str, str], ...]:
    """A table of testcase property -> regex (``properties``, or ``evidence``), checked."""
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{here}: '{name}' must be a table of property name -> regex, "
            f'e.g. {name} = {{ carried_inputs_after = "list" }}.'
        )
    out: list[tuple[str, str]] = []
    for key, pattern in value.items():
        if key not in MATCHABLE_PROPERTIES:
            raise ConfigError(
                f"{here}: {name}.{key} is not a testcase property"
                f"{did_you_mean(str(key), MATCHABLE_PROPERTIES)} "
                f"Known: {', '.join(MATCHABLE_PROPERTIES)}."
            )
        if not isinstance(pattern, str):
            raise ConfigError(f"{here}: {name}.{key} must be a regex string.")
        _check_regex(pattern, f"{name}.{key}", here)
        out.append((str(key), pattern))
    return tuple(sorted(out))


def merge_tags(table: tuple[Behaviour, ...], *groups: Sequence[str]) -> tuple[str, ...]:
    """The union of behaviour ids in ``groups``, in table order (unknown ids last)."""
    wanted = {i for group in groups for i in group}
    ordered = [b.id for b in table if b.id in wanted]
    return (*ordered, *sorted(wanted.difference(ordered)))
