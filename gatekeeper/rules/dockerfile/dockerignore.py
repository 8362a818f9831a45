"""The .dockerignore is missing or lets secrets and junk into the build.

Without a `.dockerignore`, `COPY . .` sends the whole directory to the builder: the `.git`
history, `.env` files with credentials, local `node_modules`, private keys. They end up in the
image, and anyone who can pull it can read them.

Why: the article's ".dockerignore is critical": "faster builds, smaller contexts, no accidentally
leaking secrets".

How to fix: add a `.dockerignore` next to the Dockerfile, e.g.

    .git
    .env
    *.pem
    *.key
    node_modules
    npm-debug.log

Fails: no `.dockerignore` in the build context; one that does not exclude each of `required`
(and `node_modules` when the context has a package.json); and, when the image filesystem is read,
a file that should have been excluded reached the image through a whole-context `COPY . <dest>`
(the cross-check: names the path in the image and the COPY line).
Passes: the `.dockerignore` excludes every required pattern and nothing it should exclude is in
the image.

Options:
- `required` (default `.git`, `.env`, `*.pem`, `*.key`, `id_rsa`): names that must be excluded,
  tested as paths at the context root.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass

from gatekeeper.facts import Target
from gatekeeper.facts.context import DockerIgnore
from gatekeeper.facts.dockerfile import Dockerfile, Instruction
from gatekeeper.facts.image import FileIndex
from gatekeeper.facts.needs import Need, Request
from gatekeeper.findings import Location, Severity
from gatekeeper.rule import Checklist, Evidence, Item, NotApplicable, Rule, Violation
from gatekeeper.rules.dockerfile.dependencies_after_source import is_whole_context_copy

# Example names to test the patterns with: `*.pem` must exclude `server.pem`.
EXAMPLES = {"*.pem": "server.pem", "*.key": "server.key", "*.p12": "cert.p12"}


@dataclass(frozen=True)
class Options:
    required: tuple[str, ...] = (".git", ".env", "*.pem", "*.key", "id_rsa")


def _missing(ignore: DockerIgnore, required: tuple[str, ...], has_package_json: bool) -> list[str]:
    wanted = list(required) + (["node_modules"] if has_package_json else [])
    return [p for p in wanted if not ignore.excluded(EXAMPLES.get(p, p))]


def _context_copies(dockerfile: Dockerfile) -> Iterator[tuple[Instruction, str]]:
    """Whole-context COPY/ADD of the final stage chain, with their absolute destination."""
    workdir = "/"
    for stage in dockerfile.runtime_chain():
        for instruction in stage.instructions:
            if instruction.keyword == "WORKDIR" and instruction.args:
                workdir = posixpath.join(workdir, instruction.args.strip().strip('"'))
            elif is_whole_context_copy(instruction):
                dest = instruction.words[-1] if instruction.words else "."
                yield instruction, posixpath.normpath(posixpath.join(workdir, dest))


def _leaked(files: FileIndex, dest: str, patterns: list[str]) -> list[str]:
    """The paths right inside `dest` that a pattern names (a name, or a wildcard on names)."""
    root = dest.rstrip("/") + "/"
    names: list[str] | None = None  # the directory's entries, listed once for the wildcards
    found: list[str] = []
    for pattern in patterns:
        if "*" in pattern:
            if names is None:
                names = [entry.path[len(root) :] for entry in files.listdir(root)]
            found.extend(root + name for name in names if fnmatch.fnmatch(name, pattern))
        elif root + pattern in files.files:
            found.append(root + pattern)
    return sorted(set(found))


def _missing_location(target: Target) -> Location:
    """Where a missing .dockerignore hurts: the first whole-context COPY, else the final FROM."""
    dockerfile = target.dockerfile
    if dockerfile is None:
        root = target.context.root if target.context is not None else "."
        return Location(posixpath.join(root, ".dockerignore"), None, ".dockerignore")
    copies = list(_context_copies(dockerfile))
    if copies:
        return target.instruction_location(copies[0][0])
    return Location(dockerfile.path, dockerfile.stages[-1].line, ".dockerignore")


def check(target: Target, options: Options) -> Iterator[Item]:
    if target.context is None:
        raise NotApplicable("no build context given or found (use --context or --dockerfile)")
    dockerfile = target.dockerfile
    where = _missing_location(target)
    ignore = target.context.dockerignore
    has_package_json = "package.json" in target.context.files
    should = list(options.required) + (["node_modules"] if has_package_json else [])
    if ignore is None:
        yield Violation(
            f"The build context {target.context.root!r} has no .dockerignore: `COPY . .` sends "
            "everything, including .git and any .env or key files.",
            where,
            detail="missing",
        )
    else:
        missing = _missing(ignore, options.required, has_package_json)
        if missing:
            yield Violation(
                f"{ignore.path} does not exclude {', '.join(missing)}.",
                Location(ignore.path, None, ".dockerignore"),
                detail="patterns:" + ",".join(missing),
            )
        else:
            yield Evidence(f"{ignore.path} excludes {', '.join(should)}")
    image = target.image
    if dockerfile is None or image is None or image.files is None:
        return
    for instruction, dest in _context_copies(dockerfile):
        for path in _leaked(image.files, dest, should):
            yield Violation(
                f"{path} reached the image through `{instruction.keyword} {instruction.args}` "
                f"(line {instruction.line}); .dockerignore should keep it out.",
                target.instruction_location(instruction),
                detail=f"leaked:{path}",
            )


def needs(_: Options) -> Request:
    return Request(Need.CONFIG | Need.FILESYSTEM)


RULE = Rule(
    id="GK-DF-004",
    name="dockerignore",
    title="The .dockerignore is missing or lets secrets and junk into the build",
    checklist=Checklist.HYGIENE,
    severity=Severity.MEDIUM,
    check=check,
    fix="Add a .dockerignore excluding .git, .env, keys and node_modules next to the Dockerfile.",
    doc=__doc__ or "",
    options=Options,
    needs=needs,
)
