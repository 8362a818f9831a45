"""The build context: its `.dockerignore`, with Docker's matching semantics."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class IgnorePattern:
    text: str
    """The pattern as cleaned (leading `/` and `!` removed)."""
    exclude: bool
    """False for `!exception` lines."""
    line: int
    regex: re.Pattern[str]

    def matches(self, path: str) -> bool:
        """The path itself or one of its parent directories matches (moby/patternmatcher)."""
        if self.regex.fullmatch(path):
            return True
        parts = path.split("/")
        return any(self.regex.fullmatch("/".join(parts[:i])) for i in range(1, len(parts)))


@dataclass(frozen=True)
class DockerIgnore:
    path: str
    patterns: tuple[IgnorePattern, ...]

    def excluded(self, path: str) -> bool:
        """Whether `path` (relative to the context, `/`-separated) stays out of the build."""
        pattern = self.deciding(path)
        return pattern is not None and pattern.exclude

    def deciding(self, path: str) -> IgnorePattern | None:
        """The pattern that decides about `path`: the last one that matches it."""
        path = path.strip("/")
        return next((p for p in reversed(self.patterns) if p.matches(path)), None)


@dataclass(frozen=True)
class BuildContext:
    root: str
    """The context directory as given."""
    dockerignore: DockerIgnore | None
    files: tuple[str, ...] = ()
    """Top-level entries of the context (for `COPY . .` checks), relative names."""
