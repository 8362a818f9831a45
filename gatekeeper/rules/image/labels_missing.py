"""Required image labels are missing.

Labels answer "where does this image come from?" when it is running at 3 a.m.: the source
repository, the commit, the version. Registries, scanners and dashboards read the OCI
annotation keys.

Why: traceability from a running container back to the code; a platform team's inventory.

How to fix: set the labels at build time, e.g. with build arguments from CI:

    ARG GIT_SHA
    LABEL org.opencontainers.image.source="https://github.com/acme/app" \\
          org.opencontainers.image.revision="$GIT_SHA"

Fails: a label in `required` is absent or empty.
Passes: every required label is set (the evidence lists them).

Options:
- `required` (default `org.opencontainers.image.source`, `org.opencontainers.image.revision`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from gatekeeper.facts import Target
from gatekeeper.findings import Severity
from gatekeeper.rule import Checklist, Evidence, Item, Rule, Violation


@dataclass(frozen=True)
class Options:
    required: tuple[str, ...] = (
        "org.opencontainers.image.source",
        "org.opencontainers.image.revision",
    )


def check(target: Target, options: Options) -> Iterator[Item]:
    image = target.require_image()
    labels = image.config.label_map
    missing = [key for key in options.required if not labels.get(key, "").strip()]
    if missing:
        yield Violation(
            f"Missing image label(s): {', '.join(missing)}.",
            target.config_location("LABEL", "config.Labels"),
            detail=",".join(missing),
        )
        return
    if options.required:
        yield Evidence("labels set: " + ", ".join(options.required))
    else:
        yield Evidence("no labels required")


RULE = Rule(
    id="GK-IMG-011",
    name="labels-missing",
    title="Required image labels are missing",
    checklist=Checklist.HYGIENE,
    severity=Severity.LOW,
    check=check,
    fix="Add `LABEL org.opencontainers.image.source=... org.opencontainers.image.revision=...`.",
    doc=__doc__ or "",
    options=Options,
)
