"""Credentials never reach a report: ``user:password@`` is cut out of every string."""

from __future__ import annotations

import re
from collections.abc import Iterable

# scheme://userinfo@host -> scheme://host (userinfo may be a bare token).
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)[^\s/@]+@")
# user:password@host without a scheme, as in pip's "Looking in indexes: ..." lines.
_BARE_USERINFO = re.compile(r"(?<![\w.+\-:/@])[\w.+\-%]+:[^\s/@]+@(?=[A-Za-z0-9.\-]+[:/\s]|$)")


def scrub_credentials(text: str) -> str:
    """``text`` with the user-info part of every URL removed."""
    if "@" not in text:  # the fast path: almost every string
        return text
    text = _URL_USERINFO.sub(r"\g<scheme>", text)
    return _BARE_USERINFO.sub("", text)


def scrub_pairs(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Sorted ``(key, value)`` pairs with credentials scrubbed from both sides."""
    pairs = list(pairs)
    if not any("@" in k or "@" in v for k, v in pairs):  # almost every testcase's
        return tuple(sorted(pairs))
    return tuple(sorted((scrub_credentials(k), scrub_credentials(v)) for k, v in pairs))
