"""The one scrubber: credentials never leave the process, in any form a URL is written.

Standard library only: the suite scrubs error messages inside each torch env
before it cuts them into signatures, and compat scrubs everything it prints
or writes with the same function.

Forms removed (``user:password@`` or a bare ``token@`` after ``scheme://``):

- plain: ``https://user:tok@host``, also when the password holds ``@`` or ``/``
  (users paste them unencoded; the last ``@`` before a host ends the user-info);
- JSON-escaped: ``https:\\/\\/user:tok@host``;
- percent-encoded: ``https%3A%2F%2Fuser%3Atok%40host`` (a URL inside a query string);
- without a scheme, as pip prints it: ``user:tok@host/simple``;
- cut short by an ellipsis before its ``@``: ``https://user:tok…`` (old suite files).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Not \b: a URL glued to a name by "_" (``test_x_https://u:p@h``) must be found too.
_SCHEME = r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]*"
# What no working URL holds unencoded: where one ends in running text, JSON, XML or HTML.
# ("'" is allowed in a password, so a Python repr's quote does not end one.)
_END = r"\s\"<>"
# Plain or JSON-escaped scheme://. The user-info is either user:password, where the greedy
# password may hold "@" and "/" (the last "@" followed by a host ends it: when in doubt,
# remove more), or one bare token without "/" or "@".
_PLAIN = re.compile(
    rf"(?P<scheme>{_SCHEME}:(?:\\*/){{2}})"
    rf"(?:[^{_END}/:]*:[^{_END}]*|[^{_END}/@]+)@(?=[\w\[])"
)
# The same, percent-encoded: ":" %3A, "/" %2F, "@" %40; "&" ends a query parameter.
_ENCODED = re.compile(
    rf"(?P<scheme>{_SCHEME}%3A%2F%2F)"
    rf"(?:(?:(?!%2F)[^{_END}&/])*?%3A[^{_END}&]*|(?:(?!%2F|%40)[^{_END}&/])+)%40(?=[\w\[])",
    re.IGNORECASE,
)
# user:password@host without a scheme, as in pip's "Looking in indexes: ..." lines.
_BARE = re.compile(
    rf"(?<![\w.+\-:/@%\\])[\w.+\-%]+:(?![/\\])[^{_END}]*@(?=[A-Za-z0-9.\-]+(?:[:/{_END}]|$))"
)
# scheme://user:password cut by an ellipsis before its "@": the host is gone, the token not.
_CUT = re.compile(rf"(?P<scheme>{_SCHEME}:(?:\\*/){{2}})[^{_END}/@:]*:[^{_END}@]*…$")


def _may_hold_credentials(text: str) -> bool:
    """False for almost every string, cheaply: no "@" in any form and no cut text."""
    return "@" in text or "%40" in text or text.endswith("…")


def scrub_credentials(text: str) -> str:
    """``text`` with the user-info part of every URL removed, in every form it is written."""
    if "@" in text:  # each pattern runs only where its "@" is: most strings skip them all
        text = _BARE.sub("", _PLAIN.sub(r"\g<scheme>", text))
    if "%40" in text:
        text = _ENCODED.sub(r"\g<scheme>", text)
    if text.endswith("…"):  # signatures and messages are cut at their end
        text = _scrub_cut_end(text)
    return text


def _scrub_cut_end(text: str) -> str:
    """``text`` without the user-info of a URL cut short at its end."""
    start = max(text.rfind(c) for c in ' \t\n"<>') + 1  # only the last word can be one
    found = _CUT.search(text, start)
    return text if found is None else text[: found.start()] + found["scheme"] + "…"


def scrub_pairs(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Sorted ``(key, value)`` pairs with credentials scrubbed from both sides."""
    pairs = list(pairs)
    if not any(_may_hold_credentials(k) or _may_hold_credentials(v) for k, v in pairs):
        return tuple(sorted(pairs))
    return tuple(sorted((scrub_credentials(k), scrub_credentials(v)) for k, v in pairs))
