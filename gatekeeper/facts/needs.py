"""What the enabled rules need a source to fetch (cf. Dockle's RequiredFiles)."""

from __future__ import annotations

import enum
import fnmatch
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
        return any(fnmatch.fnmatchcase(path, pattern) for pattern in self.patterns)

    def merge(self, other: ContentWanted) -> ContentWanted:
        return ContentWanted(
            self.paths | other.paths,
            tuple(dict.fromkeys(self.patterns + other.patterns)),
            max(self.max_size, other.max_size),
        )


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
