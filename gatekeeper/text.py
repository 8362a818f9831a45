"""Small text helpers shared by facts, sources and the runtime check."""

from __future__ import annotations

import json
import re
from typing import Any


def shorten(text: str, width: int) -> str:
    """`text` on one line (runs of whitespace, newlines included, become one space), cut to
    `width` characters with `...` at the end when longer."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 3] + "..."


_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")


def loads_json(text: str | bytes) -> Any:
    """json.loads, with lone surrogates (`"\\ud800"` escapes: valid JSON, not valid Unicode)
    replaced by U+FFFD, so that nothing read from an input can break a UTF-8 report later.

    Whatever it cannot read is a ValueError (json.JSONDecodeError among them): nesting deeper
    than the interpreter follows is "nested too deeply", a number past Python's 4,300 digits is
    said plainly, never a RecursionError.
    """
    try:
        value = json.loads(text)
        escapes = _ESCAPE_BYTES.search(text) if isinstance(text, bytes) else _ESCAPE.search(text)
        return _scrub(value) if escapes else value
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except ValueError as exc:  # int(): Python's own limit, with advice meant for programmers
        if "integer string conversion" in str(exc):
            raise ValueError("a number has more than 4,300 digits") from None
        raise


_SURROGATE = re.compile("[\ud800-\udfff]")


def scrub_surrogates(text: str) -> str:
    """`text` with lone surrogates (from `\\ud800` escapes in JSON or YAML) as U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        # an escaped pair (\ud83d\ude00) is one character already; only lone halves remain
        return scrub_surrogates(value)
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    if isinstance(value, dict):
        return {_scrub(key): _scrub(item) for key, item in value.items()}
    return value
