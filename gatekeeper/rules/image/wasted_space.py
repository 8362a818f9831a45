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

from collections.abc import Iterator
from dataclasses import dataclass

from gatekeeper.facts import Target
from gatekeeper.facts.image import FileIndex, FileType, ShadowedEntry
from gatekeeper.facts.needs import Need, Request
from gatekeeper.findings import Severity
from gatekeeper.rule import Checklist, Evidence, Item, Percent, Rule, Size, Violation
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


def hidden_files(files: FileIndex) -> list[_Waste]:
    """Regular files hidden by a later layer, per path, biggest first."""
    by_path: dict[str, list[ShadowedEntry]] = {}
    for shadowed in files.shadowed:
        if shadowed.entry.type is FileType.FILE and shadowed.entry.size > 0:
            by_path.setdefault(shadowed.entry.path, []).append(shadowed)
    waste = [
        _Waste(path, sum(s.entry.size for s in versions), tuple(versions))
        for path, versions in by_path.items()
    ]
    return sorted(waste, key=lambda w: (-w.size, w.path))


def _describe(target: Target, waste: _Waste) -> str:
    one = waste.largest
    count = f", {len(waste.versions)} versions" if len(waste.versions) > 1 else ""
    return (
        f"{waste.path} ({format_size(waste.size)}{count}) added in "
        f"{target.layer_label(one.entry.layer)}, {one.how.value} in "
        f"{target.layer_label(one.by_layer)}"
    )


def _worst_remover(waste: list[_Waste]) -> int:
    removed: dict[int, int] = {}
    for item in waste:
        for version in item.versions:
            removed[version.by_layer] = removed.get(version.by_layer, 0) + version.entry.size
    return max(removed, key=lambda layer: (removed[layer], -layer))


def check(target: Target, options: Options) -> Iterator[Item]:
    image = target.require_image()
    files = target.require_files()
    waste = hidden_files(files)
    total = sum(w.size for w in waste)
    size = image.size if image.size is not None else sum(files.layer_sizes)
    percent = 100.0 * total / size if size else 0.0
    amount = f"{format_size(total)} ({percent:.1f}% of {format_size(size)})"
    over = [f"{format_size(options.max_bytes)}"] if total > options.max_bytes else []
    over += [f"{options.max_percent:g}%"] if percent > options.max_percent else []
    if not over:
        paths = f"{len(waste)} overwritten or deleted file{'s' if len(waste) != 1 else ''}"
        yield Evidence(
            f"{amount} hidden by later layers in {paths}; limits "
            f"{format_size(options.max_bytes)} and {options.max_percent:g}%"
        )
        return
    top = waste[: max(options.top_files, 0)]
    worst = "; ".join(_describe(target, w) for w in top)
    yield Violation(
        f"{amount} of the image is wasted, over the {' and '.join(over)} "
        f"limit{'s' if len(over) > 1 else ''}: files added "
        f"in one layer and overwritten or deleted in a later one still ship. Biggest: {worst}.",
        target.layer_location(_worst_remover(waste), "layers"),
        detail="wasted",
        evidence=f"{len(waste)} paths hidden by later layers",
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
