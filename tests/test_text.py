"""gatekeeper.text.shorten: one line, cut with an ellipsis."""

from __future__ import annotations

import pytest

from gatekeeper.text import shorten


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        ("RUN  apt-get\n\tinstall -y curl", 60, "RUN apt-get install -y curl"),
        ("  \n ", 10, ""),
        ("abcdefghij", 10, "abcdefghij"),
        ("abcdefghijk", 10, "abcdefg..."),
        ("a\nb\nc " * 50, 12, "a b c a b..."),
    ],
)
def test_shorten(text: str, width: int, expected: str) -> None:
    assert shorten(text, width) == expected
    assert len(shorten(text, width)) <= width
