"""Image ships bytes that a later layer overwrote or deleted.

Layers only add: a file deleted by `RUN rm` or replaced by a later `COPY`, `chmod` or `chown` is
hidden from the container but still downloaded, stored and unpacked with its layer. This is what
Dive reports as wasted bytes; the biggest hidden files are named with the layers that added and
removed them.

Why: the article's checklist item "Image size optimized (< 200MB for most apps)" and its layer
caching advice: cleanup must happen in the layer that made the mess.

How to fix: create and delete temporary files in the same RUN (download, build, remove), copy files
with the right owner and mode (`COPY --chown=10001:10001 --chmod=755`) instead of fixing them in a
later RUN, and build in a separate stage so only the result is copied into the final one.

Fails: the hidden bytes exceed `max_bytes`, or exceed `max_percent` of the image size. Only
regular files count, every hidden version of a path separately. Unlike Dive, the surviving copy of
an overwritten file is not counted as waste.
Passes: the hidden bytes are within both limits; the evidence gives the amount.

Options:
- `max_bytes` (default 20MB): the most hidden bytes allowed.
- `max_percent` (default 10.0): the most hidden bytes allowed, as a percentage of the image size.
- `top_files` (default 5): how many of the biggest hidden files to name.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass

from gatekeeper.facts import Target
from gatekeeper.facts.image import FileIndex, FileType, ShadowedEntry
from gatekeeper.facts.needs import Need, Request
from gatekeeper.findings import Severity
from gatekeeper.rule import Checklist, Evidence, Item, Percent, Rule, Size, Violation
from gatekeeper.text import plural
from gatekeeper.units import format_size


@dataclass(frozen=True)
class Options:
    max_bytes: Size = Size(20_000_000)  # noqa: RUF009 - an int subclass, immutable
    max_percent: Percent = Percent(10.0)  # noqa: RUF009 - a float subclass, immutable
    top_files: int = 5


@dataclass(frozen=True, slots=True)
class _Waste:
    path: str
    size: int
    versions: tuple[ShadowedEntry, ...]

    @property
    def largest(self) -> ShadowedEntry:
        return max(self.versions, key=lambda s: s.entry.size)


@dataclass(frozen=True, slots=True)
class _Hidden:
    """What later layers hide, summed: every hidden regular file counted, the largest kept."""

    paths: int
    by_remover: dict[int, int]
    """Layer that overwrote or deleted -> the bytes it hid."""
    largest: list[_Waste]
    """The `top` paths hiding the most bytes, biggest first."""

    @property
    def size(self) -> int:
        return sum(self.by_remover.values())


def hidden_files(files: FileIndex, top: int) -> _Hidden:
    """Regular files hidden by a later layer: totals over all of them, details for the `top`
    largest paths only (an image can hide tens of thousands)."""
    by_path: dict[str, list[ShadowedEntry]] = {}
    by_remover: dict[int, int] = {}
    file_type = FileType.FILE
    for shadowed in files.shadowed:
        entry = shadowed.entry
        if entry.type is file_type and entry.size > 0:
            versions = by_path.get(entry.path)
            if versions is None:
                by_path[entry.path] = [shadowed]
            else:
                versions.append(shadowed)
            by_remover[shadowed.by_layer] = by_remover.get(shadowed.by_layer, 0) + entry.size
    sizes = {path: sum(s.entry.size for s in versions) for path, versions in by_path.items()}
    largest = heapq.nsmallest(max(top, 0), sizes, key=lambda path: (-sizes[path], path))
    waste = [_Waste(path, sizes[path], tuple(by_path[path])) for path in largest]
    return _Hidden(len(sizes), by_remover, waste)


def _describe(target: Target, waste: _Waste) -> str:
    one = waste.largest
    count = f", {len(waste.versions)} versions" if len(waste.versions) > 1 else ""
    return (
        f"{waste.path} ({format_size(waste.size)}{count}) added in "
        f"{target.layer_label(one.entry.layer)}, {one.how.value} in "
        f"{target.layer_label(one.by_layer)}"
    )


def _worst_remover(hidden: _Hidden) -> int:
    removed = hidden.by_remover
    return max(removed, key=lambda layer: (removed[layer], -layer))


def check(target: Target, options: Options) -> Iterator[Item]:
    image = target.require_image()
    files = target.require_files()
    hidden = hidden_files(files, options.top_files)
    total = hidden.size
    size = image.size if image.size is not None else sum(files.layer_sizes)
    percent = 100.0 * total / size if size else 0.0
    amount = f"{format_size(total)} ({percent:.1f}% of {format_size(size)})"
    over = [f"{format_size(options.max_bytes)}"] if total > options.max_bytes else []
    over += [f"{options.max_percent:g}%"] if percent > options.max_percent else []
    if not over:
        paths = plural(hidden.paths, "overwritten or deleted file")
        yield Evidence(
            f"{amount} hidden by later layers in {paths}; limits "
            f"{format_size(options.max_bytes)} and {options.max_percent:g}%"
        )
        return
    worst = "; ".join(_describe(target, w) for w in hidden.largest)
    yield Violation(
        f"{amount} of the image is wasted, over the {' and '.join(over)} "
        f"limit{'s' if len(over) > 1 else ''}: files added "
        f"in one layer and overwritten or deleted in a later one still ship. Biggest: {worst}.",
        target.layer_location(_worst_remover(hidden), "layers"),
        detail="wasted",
        evidence=f"{hidden.paths} paths hidden by later layers",
    )


def needs(options: Options) -> Request:
    return Request(Need.CONFIG | Need.FILESYSTEM)


RULE = Rule(
    id="GK-IMG-006",
    name="wasted-space",
    title="Image ships bytes that a later layer overwrote or deleted",
    checklist=Checklist.IMAGE_SIZE,
    severity=Severity.MEDIUM,
    check=check,
    fix="Create and delete temporary files in the same RUN; COPY with --chown/--chmod.",
    doc=__doc__ or "",
    options=Options,
    needs=needs,
)
