"""Package-manager caches are left in the image.

`apt-get update`, `apk update`, `pip install`, `npm ci`, `yarn install`, `dnf install` and
`go build` all leave indexes, downloaded archives or build caches behind. The container never uses
them, yet every node pulls them. A cache removed by a later RUN still ships in the earlier layer,
so cleanup has to happen in the same RUN that filled it.

Why: the article's checklist item "Image size optimized (< 200MB for most apps)" and its example
`RUN apt-get update && apt-get install -y gcc && rm -rf /var/lib/apt/lists/*` and
`pip install --no-cache-dir`; Dockle's DKL-DI-0005 "Clear apt-get caches".

How to fix: clean up in the same RUN, or keep the cache out of the layer:

    RUN apt-get update && apt-get install -y --no-install-recommends curl \\
        && rm -rf /var/lib/apt/lists/*
    RUN apk add --no-cache curl
    RUN pip install --no-cache-dir -r requirements.txt
    RUN npm ci && npm cache clean --force
    RUN --mount=type=cache,target=/root/.cache/go-build go build ./...

Fails: one finding per cache holding at least `min_bytes` in the final filesystem: apt lists
(`/var/lib/apt/lists`, except `lock` and `partial/`), apt's `*.bin` caches and downloaded `.deb`s,
`/var/cache/apk`, pip (`~/.cache/pip` of any home), npm (`~/.npm/_cacache`), yarn
(`/usr/local/share/.cache/yarn`, `~/.cache/yarn`, `~/.yarn/berry/cache`), `/var/cache/dnf`,
`/var/cache/yum` and the Go build cache (`~/.cache/go-build`). The finding points at the layer
that left the most bytes.
Passes: no cache reaches `min_bytes`; the evidence names what was checked.

Options:
- `min_bytes` (default 100kB): smaller caches are ignored. Empty cache directories, lock files and
  pip's self-check stamp stay below it; one `apt-get update` leaves megabytes.
- `caches` (default all): which caches to look for, by name: apt-lists, apt-cache, apk, pip, npm,
  yarn, dnf, yum, go-build.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, get_args

from gatekeeper.facts import Target
from gatekeeper.facts.image import FileIndex, FileType
from gatekeeper.facts.needs import Need, Request
from gatekeeper.findings import Severity
from gatekeeper.rule import Checklist, Evidence, Item, Rule, Size, Violation
from gatekeeper.text import any_of
from gatekeeper.units import format_size

CacheName = Literal["apt-lists", "apt-cache", "apk", "pip", "npm", "yarn", "dnf", "yum", "go-build"]


@dataclass(frozen=True, slots=True)
class Cache:
    name: str
    title: str
    pattern: re.Pattern[str]
    """Matches a file of the cache; group `root` is the cache directory."""
    fix: str


CACHES = (
    Cache(
        "apt-lists",
        "apt package lists",
        re.compile(r"^(?P<root>/var/lib/apt/lists)/(?!lock$)(?!partial/)."),
        "`rm -rf /var/lib/apt/lists/*` in the RUN that ran `apt-get update`",
    ),
    Cache(
        "apt-cache",
        "apt package cache",
        re.compile(r"^(?P<root>/var/cache/apt)/(?:[^/]+\.bin|archives/[^/]+\.deb)$"),
        "`apt-get clean` in the RUN that installed the packages",
    ),
    Cache(
        "apk",
        "apk cache",
        re.compile(r"^(?P<root>/var/cache/apk)/."),
        "`apk add --no-cache` instead of `apk update` / `apk add`",
    ),
    Cache(
        "pip",
        "pip cache",
        re.compile(r"^(?P<root>(?:/[^/]+)*?/\.cache/pip)/."),
        "`pip install --no-cache-dir` (or `PIP_NO_CACHE_DIR=1`)",
    ),
    Cache(
        "npm",
        "npm cache",
        re.compile(r"^(?P<root>(?:/[^/]+)*?/\.npm/_cacache)/."),
        "`npm cache clean --force` in the RUN that ran `npm ci`",
    ),
    Cache(
        "yarn",
        "yarn cache",
        re.compile(r"^(?P<root>(?:/[^/]+)*?/(?:\.cache/yarn|\.yarn/berry/cache))/."),
        "`yarn cache clean` in the RUN that ran `yarn install`",
    ),
    Cache(
        "dnf",
        "dnf cache",
        re.compile(r"^(?P<root>/var/cache/dnf)/."),
        "`dnf clean all` in the RUN that installed the packages",
    ),
    Cache(
        "yum",
        "yum cache",
        re.compile(r"^(?P<root>/var/cache/yum)/."),
        "`yum clean all && rm -rf /var/cache/yum` in the RUN that installed the packages",
    ),
    Cache(
        "go-build",
        "Go build cache",
        re.compile(r"^(?P<root>(?:/[^/]+)*?/\.cache/go-build)/."),
        "a cache mount (`RUN --mount=type=cache,target=/root/.cache/go-build`) or a build stage",
    ),
)
ALL_CACHES: tuple[CacheName, ...] = get_args(CacheName)

# Every path a cache pattern above matches contains one of these: a path without any cannot be in
# a cache, and one search rejects almost all of an image's files before the patterns are tried.
_CANDIDATE = re.compile(any_of(["/var/lib/apt/lists/", "/var/cache/", "/.cache/", "/.npm/", "/.yarn/"]))


@dataclass(frozen=True)
class Options:
    min_bytes: Size = Size(100_000)  # noqa: RUF009 - an int subclass, immutable
    caches: tuple[CacheName, ...] = ALL_CACHES


@dataclass
class Found:
    """One cache's files in the final filesystem (filled while walking it)."""

    cache: Cache
    size: int = 0
    count: int = 0
    roots: set[str] = field(default_factory=set)
    by_layer: dict[int, int] = field(default_factory=dict)

    def add(self, root: str, size: int, layer: int) -> None:
        self.size += size
        self.count += 1
        self.roots.add(root)
        self.by_layer[layer] = self.by_layer.get(layer, 0) + size

    @property
    def worst_layer(self) -> int:
        return max(self.by_layer, key=lambda layer: (self.by_layer[layer], -layer))


def find_caches(files: FileIndex, caches: tuple[Cache, ...]) -> list[Found]:
    found = {cache.name: Found(cache) for cache in caches}
    candidate = _CANDIDATE.search
    for entry in files.of_type(FileType.FILE):
        if not candidate(entry.path):
            continue
        for cache in caches:
            match = cache.pattern.match(entry.path)
            if match:
                found[cache.name].add(match.group("root"), entry.size, entry.layer)
                break
    return [f for f in found.values() if f.count]


def _violation(target: Target, found: Found) -> Violation:
    roots = ", ".join(sorted(found.roots))
    layer = found.worst_layer
    mostly = "" if len(found.by_layer) == 1 else "mostly "
    return Violation(
        f"{found.cache.title.capitalize()} left in the image: {format_size(found.size)} in "
        f"{found.count} file{'s' if found.count != 1 else ''} under {roots}, {mostly}from "
        f"{target.layer_label(layer)}. Clean it with {found.cache.fix}.",
        target.layer_location(layer, sorted(found.roots)[0]),
        detail=found.cache.name,
    )


def check(target: Target, options: Options) -> Iterator[Item]:
    files = target.require_files()
    caches = tuple(c for c in CACHES if c.name in options.caches)
    found = find_caches(files, caches)
    big = [f for f in found if f.size >= options.min_bytes]
    for item in big:
        yield _violation(target, item)
    if big:
        return
    checked = ", ".join(c.name for c in caches) or "nothing"
    text = f"no package cache of {format_size(options.min_bytes)} or more (checked {checked})"
    if found:
        text += "; smaller: " + ", ".join(f"{f.cache.name} {format_size(f.size)}" for f in found)
    yield Evidence(text)


def needs(options: Options) -> Request:
    return Request(Need.CONFIG | Need.FILESYSTEM)


RULE = Rule(
    id="GK-IMG-005",
    name="package-cache-left",
    title="Package-manager caches are left in the image",
    checklist=Checklist.IMAGE_SIZE,
    severity=Severity.MEDIUM,
    check=check,
    fix="Clean package caches in the same RUN that fills them (or use --no-cache options).",
    doc=__doc__ or "",
    options=Options,
    needs=needs,
)
