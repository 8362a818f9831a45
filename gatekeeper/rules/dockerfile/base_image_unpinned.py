"""A base image is not pinned.

`FROM python` and `FROM python:latest` mean "whatever was pushed last": two builds of the same
commit can get different operating systems, and a bad upstream push reaches production
unreviewed. A version tag makes builds predictable; a digest makes them reproducible.

Why: the article's security practice "Use official base images" (`python:3.11-slim`,
`node:18-alpine`): pinned, official, minimal.

How to fix: name a version, and in production a digest too:

    FROM python:3.11-slim@sha256:<digest>

Fails: a FROM without tag or digest (implicitly `latest`) or with the `latest` tag; with
`require_digest`, a FROM without `@sha256:`; with `allowed_registries`, a base from another
registry; with `official_only`, a Docker Hub image outside the official `library/` namespace
(unless its registry is allowed). `scratch` and references to earlier stages are exempt.
Passes: every base image is pinned (the evidence lists them).

Options:
- `require_digest` (default false): demand `@sha256:` digests.
- `allowed_registries` (default empty = any): registries bases may come from (`docker.io`,
  `registry.example.com`).
- `official_only` (default false): Docker Hub bases must be official images.
- `stages` (default `all`): `all`, or `final` to judge only the final stage's chain.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from gatekeeper.facts import Target
from gatekeeper.facts.dockerfile import Stage
from gatekeeper.findings import Location, Severity
from gatekeeper.imagenames import DOCKER_HUB, hub_name, split_domain
from gatekeeper.rule import Checklist, Evidence, Item, Rule, Violation


@dataclass(frozen=True)
class Options:
    require_digest: bool = False
    allowed_registries: tuple[str, ...] = ()
    official_only: bool = False
    stages: Literal["all", "final"] = "all"


@dataclass(frozen=True)
class BaseRef:
    registry: str
    repository: str
    tag: str
    digest: str


def parse_base(text: str) -> BaseRef:
    """`python:3.11` -> docker.io/library/python, tag 3.11; Docker Hub aliases read as docker.io."""
    name, _, digest = text.partition("@")
    head, slash, last = name.rpartition("/")
    last, _, tag = last.partition(":")
    registry, repository = split_domain(head + slash + last)
    return BaseRef(hub_name(registry), repository, tag, digest)


def _problems(base: BaseRef, options: Options) -> list[str]:
    problems = []
    if not base.tag and not base.digest:
        problems.append("has no tag, so it means `latest`")
    elif base.tag == "latest" and not base.digest:
        problems.append("uses the `latest` tag")
    if options.require_digest and not base.digest:
        problems.append("is not pinned by digest (@sha256:...)")
    listed = options.allowed_registries
    allowed = {hub_name(r) for r in listed}
    if allowed and base.registry not in allowed:
        problems.append(f"comes from {base.registry}, not an allowed registry ({', '.join(listed)})")
    elif (
        options.official_only
        and base.registry == DOCKER_HUB
        and not base.repository.startswith("library/")
        and DOCKER_HUB not in allowed
    ):
        problems.append("is not an official Docker Hub image")
    return problems


def _stages(target: Target, options: Options) -> tuple[Stage, ...]:
    dockerfile = target.require_dockerfile()
    return dockerfile.runtime_chain() if options.stages == "final" else dockerfile.stages


def check(target: Target, options: Options) -> Iterator[Item]:
    dockerfile = target.require_dockerfile()
    pinned = []
    for stage in _stages(target, options):
        if stage.base_stage is not None or stage.base.lower() == "scratch":
            continue
        if "$" in stage.base:
            if options.require_digest:
                yield Violation(
                    f"FROM {stage.base} (stage {stage.label()!r}) is set by a build argument without "
                    "a default, so its digest cannot be verified; give the ARG a pinned default.",
                    Location(dockerfile.path, stage.line, "FROM"),
                    detail=stage.base,
                )
            else:
                yield Evidence(f"line {stage.line}: FROM {stage.base} (set by a build argument; not judged)")
            continue
        problems = _problems(parse_base(stage.base), options)
        if problems:
            yield Violation(
                f"FROM {stage.base} (stage {stage.label()!r}) " + "; ".join(problems) + ".",
                Location(dockerfile.path, stage.line, "FROM"),
                detail=stage.base,
            )
        else:
            pinned.append(f"{stage.base} (line {stage.line})")
    if pinned:
        yield Evidence("pinned: " + ", ".join(pinned))


RULE = Rule(
    id="GK-DF-003",
    name="base-image-unpinned",
    title="A base image is not pinned",
    checklist=Checklist.HYGIENE,
    severity=Severity.MEDIUM,
    check=check,
    fix="Pin every FROM to a version tag (and a digest for production): `FROM python:3.11-slim`.",
    doc=__doc__ or "",
    options=Options,
)
