"""compat.scrub: user-info never survives, everything else does."""

from __future__ import annotations

import pytest

from compat.scrub import scrub_credentials, scrub_pairs


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://user:token@host.example/simple", "https://host.example/simple"),
        ("git+https://ghp_abc@github.com/o/r.git", "git+https://github.com/o/r.git"),
        (
            "see http://a:b@x.example:8080/p and https://c:d@y.example",
            "see http://x.example:8080/p and https://y.example",
        ),
        (
            "Looking in indexes: user:p%40ss@pypi.example/simple",
            "Looking in indexes: pypi.example/simple",
        ),
        ("mail me at dev@example.com", "mail me at dev@example.com"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
        ("torch 2.6.0+cu124 at 0x7f00", "torch 2.6.0+cu124 at 0x7f00"),
        ("", ""),
    ],
)
def test_scrub_credentials(text: str, expected: str) -> None:
    assert scrub_credentials(text) == expected


def test_scrub_pairs_sorts_and_scrubs_both_sides() -> None:
    assert scrub_pairs([("b", "https://u:p@h.example"), ("a", "x")]) == (
        ("a", "x"),
        ("b", "https://h.example"),
    )
