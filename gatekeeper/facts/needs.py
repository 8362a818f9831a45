"""What the enabled rules need a source to fetch (cf. Dockle's RequiredFiles)."""

from __future__ import annotations

import enum
import fnmatch
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from gatekeeper.text import any_of


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
        return self.test(path, size)

    @functools.cached_property
    def test(self) -> Callable[[str, int], bool]:
        """The same test as a plain function over local names, for the layer scan to call once
        per file: 0.77 us a path where calling the instance takes 0.91 us."""
        plan, max_size = _Plan.of(self.patterns, self.paths), self.max_size
        exact, tail, by_tail, search = plan.exact, plan.tail, plan.by_tail, plan.search
        prefixes, by_prefix, by_literal = plan.prefixes, plan.by_prefix, plan.by_literal

        def test(path: str, size: int) -> bool:
            if size > max_size:
                return False
            if path in exact:
                return True
            if tail:
                for suffix, match in by_tail.get(path[-tail:], ()):
                    if path.endswith(suffix) and (match is None or match(path)):
                        return True
            if prefixes and path.startswith(prefixes):
                for prefix, match in by_prefix:
                    if path.startswith(prefix) and match(path):
                        return True
            if search is not None and search(path):
                return any(literal in path and match(path) for literal, match in by_literal)
            return False

        return test

    def merge(self, other: ContentWanted) -> ContentWanted:
        return ContentWanted(
            self.paths | other.paths,
            tuple(dict.fromkeys(self.patterns + other.patterns)),
            max(self.max_size, other.max_size),
        )


Match = Callable[[str], object]


@dataclass(frozen=True)
class _Plan:
    """The patterns sorted by the cheapest test that rejects paths which cannot match.

    This runs for every file of every layer, and nearly every path matches nothing: a dict
    lookup or a C-level `startswith` on a tuple rules most out before a regex runs. A pattern
    with literal text after its last wildcard (`*/.npmrc`, `*[-_]key.json`) is tried only on
    paths ending with it (found by the path's last `tail` characters), and needs no regex at all
    when it is `*` + text; one starting with literal text only on paths starting with it; the
    rest only on paths containing their longest literal run.
    """

    exact: frozenset[str]
    tail: int
    """The length of the shortest suffix (0: no pattern ends with literal text)."""
    by_tail: dict[str, tuple[tuple[str, Match | None], ...]]
    """The last `tail` characters of each suffix -> the patterns ending with that suffix."""
    prefixes: tuple[str, ...]
    by_prefix: tuple[tuple[str, Match], ...]
    search: Match | None
    by_literal: tuple[tuple[str, Match], ...]

    @classmethod
    def of(cls, patterns: tuple[str, ...], paths: frozenset[str] = frozenset()) -> _Plan:
        exact: set[str] = set(paths)
        by_suffix: list[tuple[str, Match | None]] = []
        by_prefix: list[tuple[str, Match]] = []
        by_literal: list[tuple[str, Match]] = []
        for pattern in patterns:
            runs, wild = _literal_runs(pattern)
            if not wild:
                exact.add(runs[0])
                continue
            match = re.compile(fnmatch.translate(pattern)).match
            if runs[-1]:
                star_then_text = wild == 1 and pattern.startswith("*")  # endswith says it all
                by_suffix.append(
                    (runs[-1], None if star_then_text else _needing(max(runs[:-1], key=len), match))
                )
            elif runs[0]:
                by_prefix.append((runs[0], match))
            else:
                by_literal.append((max(runs, key=len), match))
        literals = sorted({literal for literal, _ in by_literal})
        search: Match | None = None
        if "" in literals:
            search = re.compile("").search  # a pattern without literal text: every path is a candidate
        elif literals:
            search = re.compile(any_of(literals)).search
        tail = min((len(suffix) for suffix, _ in by_suffix), default=0)
        by_tail: dict[str, list[tuple[str, Match | None]]] = {}
        for suffix, check in by_suffix:
            by_tail.setdefault(suffix[-tail:], []).append((suffix, check))
        return cls(
            frozenset(exact),
            tail,
            {key: tuple(entries) for key, entries in by_tail.items()},
            tuple(dict.fromkeys(prefix for prefix, _ in by_prefix)),
            tuple(by_prefix),
            search,
            tuple(by_literal),
        )


def _needing(needle: str, match: Match) -> Match:
    """`match`, run only on paths that hold `needle` (literal text the pattern needs anyway):
    `*service?account*.json` looks for "service" before its regex runs on a `.json` path."""
    if not needle:
        return match
    return lambda path: needle in path and match(path)


def _literal_runs(pattern: str) -> tuple[list[str], int]:
    """The runs of plain text between wildcards (`*`, `?`, `[...]`, read as fnmatch reads them),
    first and last included even when empty, and how many wildcards there are."""
    runs: list[str] = []
    current: list[str] = []
    wild = 0
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        i += 1
        if char in "*?":
            wild += 1
        elif char == "[":
            j = i
            if j < n and pattern[j] == "!":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:
                current.append(char)  # no closing bracket: a literal `[`, as fnmatch reads it
                continue
            wild += 1
            i = j + 1
        else:
            current.append(char)
            continue
        runs.append("".join(current))
        current = []
    runs.append("".join(current))
    return runs, wild


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
