"""suites.scrub: user-info never survives, in any form a URL is written; everything else does."""

from __future__ import annotations

import pytest

from suites.scrub import scrub_credentials, scrub_pairs


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
        # glued to a test name by "_": no word boundary before the scheme
        ("test_aot_export_https://bot:pw@host.example/x", "test_aot_export_https://host.example/x"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
        ("torch 2.6.0+cu124 at 0x7f00", "torch 2.6.0+cu124 at 0x7f00"),
        ("", ""),
    ],
)
def test_scrub_credentials(text: str, expected: str) -> None:
    assert scrub_credentials(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A password with "@" or "/", pasted unencoded: the last "@" before a host ends it.
        ("https://user:p@ss@pypi.example/simple", "https://pypi.example/simple"),
        ("https://user:pa/ss@pypi.example/simple", "https://pypi.example/simple"),
        ("https://me@corp.example:t@k/n@pypi.example:8443/s x", "https://pypi.example:8443/s x"),
        ("https://u:pa'ss@pypi.example/", "https://pypi.example/"),
        (
            "Looking in indexes: user:p@ss@pypi.example/simple",
            "Looking in indexes: pypi.example/simple",
        ),
        # JSON-escaped, as a JSON string inside a message carries it.
        (
            r'{"u": "https:\/\/user:tok@pypi.example\/simple", "m": "dev@example.com"}',
            r'{"u": "https:\/\/pypi.example\/simple", "m": "dev@example.com"}',
        ),
        # Percent-encoded, as a URL inside a query string; "&" ends it.
        (
            "?next=https%3A%2F%2Fuser%3Atok%40pypi.example%2Fsimple&to=a%40b",
            "?next=https%3A%2F%2Fpypi.example%2Fsimple&to=a%40b",
        ),
        ("https%3a%2f%2fuser%3At%2Fo%40k%40pypi.example%2Fs", "https%3a%2f%2fpypi.example%2Fs"),
        ("https%3A%2F%2Ftoken%40pypi.example%2Fsimple", "https%3A%2F%2Fpypi.example%2Fsimple"),
        # Cut short before its "@" (suite files written before signatures were scrubbed first).
        ("RuntimeError: see https://user:SECRE…", "RuntimeError: see https://…"),
        (
            "ConnectionError('https://u:t@pypi.example/s')",
            "ConnectionError('https://pypi.example/s')",
        ),
        ("http://user:TOKEN@127.0.0.1:5000/simple", "http://127.0.0.1:5000/simple"),
    ],
)
def test_every_form_of_user_info_is_removed(text: str, expected: str) -> None:
    assert scrub_credentials(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "git+https://github.com/o/r.git@v1.0",
        "https://host.example/a:b@c",
        "https%3A%2F%2Fpypi.example%2Fpkg%40v1",
        "x https://host.example/a… y",
        "RuntimeError: shapes differ at /usr/lib/torch/x.py line 3 …",
    ],
)
def test_urls_without_user_info_are_left_alone(text: str) -> None:
    assert scrub_credentials(text) == text


def test_scrub_pairs_sorts_and_scrubs_both_sides() -> None:
    assert scrub_pairs([("b", "https://u:p@h.example"), ("a", "x")]) == (
        ("a", "x"),
        ("b", "https://h.example"),
    )
    assert scrub_pairs([("k", "https%3A%2F%2Fu%3Ap%40h.example")]) == (
        ("k", "https%3A%2F%2Fh.example"),
    )
