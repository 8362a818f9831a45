"""The Dockerfile is not a multi-stage build.

A single-stage build ships everything the build needed: compilers, dev dependencies, source
files, package caches. Building in one stage and copying only the artefacts into a slim final
stage is the difference between a 1 GB and a 50 MB image.

Why: the article's checklist item "Multi-stage build implemented" and its pitfall "Building from
source in production: don't install dev tools in production images".

How to fix: build in a named stage and start the final stage from a slim base, copying only what
runs:

    FROM node:18-alpine AS builder
    ...
    RUN npm run build
    FROM node:18-alpine
    COPY --from=builder /app/dist ./dist

Fails: the Dockerfile has one stage that runs commands (RUN); the final stage is built FROM a
build stage (it inherits everything in it); the final stage copies nothing from an earlier stage.
Passes: the final stage starts from its own base and copies artefacts with `COPY --from=<stage>`;
or the only stage runs nothing (no RUN: it just puts prebuilt files on a base image).
"""

from __future__ import annotations

from collections.abc import Iterator

from gatekeeper.facts import Target
from gatekeeper.facts.dockerfile import Dockerfile, Stage
from gatekeeper.findings import Location, Severity
from gatekeeper.rule import Checklist, Evidence, Item, NoOptions, Rule, Violation


def _copies_from_stage(dockerfile: Dockerfile, final: Stage) -> list[tuple[int, Stage]]:
    found = []
    for instruction in final.instructions:
        source = instruction.flag("from") if instruction.keyword in ("COPY", "ADD") else None
        if source is None:
            continue
        stage = dockerfile.stage_named(source)
        if stage is not None and stage.index < final.index:
            found.append((instruction.line, stage))
    return found


def check(target: Target, _: NoOptions) -> Iterator[Item]:
    dockerfile = target.require_dockerfile()
    final = dockerfile.final
    if final is None:  # pragma: no cover - the parser refuses files without FROM
        return
    where = Location(dockerfile.path, final.line, "FROM")
    if len(dockerfile.stages) == 1 and not final.find("RUN"):
        yield Evidence(
            f"single stage FROM {final.base} (line {final.line}) with no RUN: it builds nothing, "
            "it only assembles files"
        )
        return
    if len(dockerfile.stages) == 1:
        yield Violation(
            f"The Dockerfile has a single stage (FROM {final.base}): build tools, sources and "
            "dev dependencies all ship in the image.",
            where,
            detail="single",
        )
        return
    if final.base_stage is not None:
        base = dockerfile.stages[final.base_stage]
        yield Violation(
            f"The final stage is built FROM stage {base.label()!r}, so it inherits everything "
            "that stage installed; start it from a slim base image instead.",
            where,
            detail="inherits",
        )
        return
    copies = _copies_from_stage(dockerfile, final)
    if not copies:
        yield Violation(
            f"The final stage (FROM {final.base}, line {final.line}) copies nothing from an "
            "earlier stage; the build stages are not used.",
            where,
            detail="no-copy",
        )
        return
    sources = ", ".join(sorted({f"{s.label()!r} (line {line})" for line, s in copies}))
    yield Evidence(
        f"{len(dockerfile.stages)} stages; final stage FROM {final.base} (line {final.line}) "
        f"copies from stage {sources}"
    )


RULE = Rule(
    id="GK-DF-001",
    name="single-stage-build",
    title="The Dockerfile is not a multi-stage build",
    checklist=Checklist.MULTI_STAGE,
    severity=Severity.MEDIUM,
    check=check,
    fix="Build in a named stage and `COPY --from=<stage>` only the artefacts into a slim final stage.",
    doc=__doc__ or "",
    options=NoOptions,
)
