"""Small text helpers shared by facts, sources and the runtime check."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def one_line(text: object) -> str:
    """Text for one line of a plain-text report or message: whitespace runs (newlines too) become
    one space, other control characters (terminal escapes, BEL) become U+FFFD. Such text comes
    from the image and the repository: it must not start lines of its own (a `::error` line is a
    GitHub workflow command) nor drive the terminal."""
    return " ".join(_CONTROL.sub("\ufffd", str(text)).split())


def quoted(value: object, limit: int = 40) -> str:
    """repr(value) for a message, cut to `limit` characters (a value from the input can be long)."""
    shown = repr(value)
    return shown if len(shown) <= limit else shown[: limit - 4] + "..."


def plural(count: int, noun: str) -> str:
    """`1 file`, `3 files`."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


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


TRIE_DEPTH = 32


def any_of(words: Sequence[str]) -> str:
    r"""A regex matching any of `words` (none empty), with common prefixes factored out:
    `/(?:\.(?:aws/|ssh/)|id_)` rather than `/\.aws/|/\.ssh/|/id_`. re tries the alternatives
    of an alternation one by one at every position; shared prefixes make it try far fewer (a
    third less time on the default policy's secret-file patterns). Words that nest deeper than
    TRIE_DEPTH branchings get the plain alternation."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, Any], depth: int) -> str:
        if depth > TRIE_DEPTH:
            raise RecursionError
        branches = []
        for char, child in sorted(node.items()):
            if not char:
                continue
            text = re.escape(char)
            while len(child) == 1 and "" not in child:  # a run without branches: one literal
                ((char, child),) = child.items()
                text += re.escape(char)
            branches.append(text + emit(child, depth + 1))
        if not branches:
            return ""
        if "" in node:
            return f"(?:{'|'.join(branches)})?"
        return branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"

    try:
        return emit(trie, 0)
    except RecursionError:
        return "|".join(re.escape(word) for word in words)
