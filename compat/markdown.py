"""Data as GitHub-flavoured Markdown: escaped text, code spans, tables (report.md, summary.md)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&#!])")
_NEWLINES = re.compile(r"\s*[\r\n]+\s*")


def _one_line(text: str) -> str:
    return _NEWLINES.sub(" ", text).strip()


def md_text(text: str) -> str:
    """Data as Markdown text: one line, every significant character backslash-escaped.

    Text with an ``@`` goes into a code span: GitHub turns ``@name`` in text, never in
    code, into a mention that notifies that person when report.md is pasted into a PR.
    """
    if "@" in text:
        return md_code(text)
    return _MD_SPECIAL.sub(r"\\\1", _one_line(text))


def md_code(text: str, *, table: bool = True) -> str:
    """Data as a code span, fenced past any backticks it holds; pipes escaped in tables."""
    body = _one_line(text)
    if not body:
        return ""
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * (longest + 1)
    if body.startswith("`") or body.endswith("`"):
        body = f" {body} "
    if table:
        body = body.replace("|", "\\|")
    return f"{fence}{body}{fence}"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def md_table(header: Sequence[str], rows: Iterable[Sequence[str]], align: str = "") -> list[str]:
    """A GFM table; ``align`` holds one of l/c per column (default left)."""
    rule = [":-:" if (align[i : i + 1] == "c") else "---" for i in range(len(header))]
    return [_row(header), _row(rule), *(_row(r) for r in rows)]
