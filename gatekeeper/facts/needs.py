"""What the enabled rules need a source to fetch (cf. Dockle's RequiredFiles)."""

from __future__ import annotations

import enum
import fnmatch
import functools
import re
from dataclasses import dataclass


class Need(enum.Flag):
    """CONFIG is always read. SIZES: uncompressed layer sizes. FILESYSTEM: the full FileIndex."""

    CONFIG = enum.auto()
    SIZES = enum.auto()
    FILESYSTEM = enum.auto()


@dataclass(frozen=True)
class ContentWanted:
    """Which small files' bytes to keep: exact paths or fnmatch patterns on the full path."""

    paths: frozenset[str] = frozenset()
    patterns: tuple[str, ...] = ()
    max_size: int = 4 << 20

    def __call__(self, path: str, size: int) -> bool:
        if size > self.max_size:
            return False
        if path in self.paths:
            return True
        if self._literals is None or not self._literals.search(path):
            return False
        return any(literal in path and regex.match(path) for literal, regex in self._compiled)

    @functools.cached_property
    def _literals(self) -> re.Pattern[str] | None:
        """One pass over the path finds whether any pattern's literal occurs at all."""
        literals = sorted({literal for literal, _ in self._compiled}, key=len, reverse=True)
        if not literals:
            return None
        if "" in literals:
            return re.compile("")  # a pattern with no literal part: every path is a candidate
        return re.compile("|".join(re.escape(literal) for literal in literals))

    @functools.cached_property
    def _compiled(self) -> tuple[tuple[str, re.Pattern[str]], ...]:
        """Each pattern with the longest literal it contains: a cheap `in` test rejects almost
        every path before the regex runs (this is called for every file of every layer)."""
        return tuple((_longest_literal(p), re.compile(fnmatch.translate(p))) for p in self.patterns)

    def merge(self, other: ContentWanted) -> ContentWanted:
        return ContentWanted(
            self.paths | other.paths,
            tuple(dict.fromkeys(self.patterns + other.patterns)),
            max(self.max_size, other.max_size),
        )


def _longest_literal(pattern: str) -> str:
    """The longest run of plain characters in an fnmatch pattern (outside `[...]`)."""
    runs: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char in "*?":
            runs.append("".join(current))
            current = []
        elif char == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                current.append(char)
            else:
                runs.append("".join(current))
                current = []
                i = end
        else:
            current.append(char)
        i += 1
    runs.append("".join(current))
    return max(runs, key=len)


NOTHING = ContentWanted()


@dataclass(frozen=True)
class Request:
    """The union of what the enabled rules need from the image."""

    need: Need = Need.CONFIG
    wanted: ContentWanted = NOTHING

    @property
    def filesystem(self) -> bool:
        return bool(self.need & Need.FILESYSTEM)

    @property
    def sizes(self) -> bool:
        return bool(self.need & (Need.SIZES | Need.FILESYSTEM))
