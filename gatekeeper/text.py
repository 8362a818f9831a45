"""Small text helpers shared by facts, sources and the runtime check."""

from __future__ import annotations


def shorten(text: str, width: int) -> str:
    """`text` on one line (runs of whitespace, newlines included, become one space), cut to
    `width` characters with `...` at the end when longer."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 3] + "..."
