"""Image is larger than the size budget.

Every megabyte is pulled on every node that starts the container, scanned on every build and
stored in every registry replica. The largest layers are named so you know where to cut.

Why: the article's checklist item "Image size optimized (< 200MB for most apps)"; multi-stage
builds "reduce image size by 80%+".

How to fix: build in a separate stage and copy only the artefacts into a slim final stage; clean
package caches in the same RUN that fills them; start from a `-slim` or distroless base.

Fails: the uncompressed size (what `docker images` shows) is above `max`; with
`measure: compressed`, the sum of the compressed layer blobs (what a registry stores) is above
`max`.
Passes: the size is within budget; the evidence gives the size and the biggest layers.

Options:
- `max` (default 200MB): the budget, in human units (`200MB`, `1.5GiB`).
- `measure` (default uncompressed): `uncompressed` or `compressed`. `compressed` needs only the
  registry manifest (no layer is downloaded) but is unknown for engine and docker-archive images.
- `top_layers` (default 3): how many of the largest layers to name.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from gatekeeper.facts import Target
from gatekeeper.facts.image import ImageFacts, Layer
from gatekeeper.facts.needs import Need, Request
from gatekeeper.findings import Severity
from gatekeeper.rule import Checklist, Evidence, Item, NotApplicable, Rule, Size, Violation
from gatekeeper.units import format_size


@dataclass(frozen=True)
class Options:
    max: Size = Size(200_000_000)  # noqa: RUF009 - an int subclass, immutable
    measure: Literal["uncompressed", "compressed"] = "uncompressed"
    top_layers: int = 3


def _layer_size(layer: Layer, measure: str) -> int:
    value = layer.size if measure == "uncompressed" else layer.compressed_size
    return value or 0


def _by_size(image: ImageFacts, options: Options) -> list[Layer]:
    return sorted(image.layers, key=lambda la: _layer_size(la, options.measure), reverse=True)


def _largest(target: Target, image: ImageFacts, options: Options) -> str:
    parts = []
    for layer in _by_size(image, options)[: max(options.top_layers, 0)]:
        size = _layer_size(layer, options.measure)
        if size == 0:
            break
        command = target.layer_command(layer.index) or "(unknown instruction)"
        parts.append(f"layer {layer.index} {format_size(size)} `{command}`")
    return "; ".join(parts)


def check(target: Target, options: Options) -> Iterator[Item]:
    image = target.require_image()
    size = image.size if options.measure == "uncompressed" else image.compressed_size
    if size is None:
        raise NotApplicable(f"the {options.measure} size is not known for a {image.source} image")
    largest = _largest(target, image, options)
    text = f"{options.measure} size {format_size(size)}, budget {format_size(options.max)}"
    if size > options.max:
        yield Violation(
            f"The image is {format_size(size)} ({options.measure}), over the "
            f"{format_size(options.max)} budget by {format_size(size - options.max)}.",
            target.layer_location(_by_size(image, options)[0].index, "size"),
            detail=options.measure,
            evidence=f"largest: {largest}" if largest else "",
        )
        return
    yield Evidence(text + (f"; largest: {largest}" if largest else ""))


def needs(options: Options) -> Request:
    return Request(Need.CONFIG | Need.SIZES) if options.measure == "uncompressed" else Request()


RULE = Rule(
    id="GK-IMG-003",
    name="image-size",
    title="Image is larger than the size budget",
    checklist=Checklist.IMAGE_SIZE,
    severity=Severity.MEDIUM,
    check=check,
    fix="Use a multi-stage build with a slim final stage; clean caches in the RUN that fills them.",
    doc=__doc__ or "",
    options=Options,
    needs=needs,
)
