"""Error signatures: a message with its run-specific details normalised away."""

from __future__ import annotations

import re

from suites.scrub import scrub_credentials

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"0x[0-9a-fA-F]+"), "<addr>"),
    (re.compile(r"(?:[A-Za-z]:)?(?:[\\/][\w.\-+]+){2,}"), "<path>"),
    (re.compile(r"\b(?:line|Line) \d+"), "line <n>"),
    (re.compile(r"\b\d+(?:\.\d+)?(?:e[-+]?\d+)?\b"), "<n>"),
    (re.compile(r"\s+"), " "),
)
MAX_SIGNATURE = 200


def normalise_message(message: str) -> str:
    """First line of ``message`` without credentials, addresses, paths and numbers."""
    # Scrubbed before the rules and the cut: a cut between a password and its "@" hides the URL.
    lines = [line for line in scrub_credentials(message).strip().splitlines() if line.strip()]
    text = lines[0] if lines else ""
    for pattern, repl in _RULES:
        text = pattern.sub(repl, text)
    text = text.strip()
    return text if len(text) <= MAX_SIGNATURE else text[: MAX_SIGNATURE - 1] + "…"


def signature(error_type: str, message: str) -> str:
    """``Type: normalised message``, the key errors are grouped by."""
    short = error_type.rsplit(".", 1)[-1]
    text = normalise_message(message)
    return f"{short}: {text}" if text else short
