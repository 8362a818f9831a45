"""Final image contains compilers and build tooling.

Compilers, headers and build systems are needed to build the app, not to run it. In the final
image they add hundreds of megabytes, widen the attack surface and give an intruder a toolchain.
The rule reads the image's package databases (dpkg, apk, rpm) and looks for well-known build
binaries on PATH, and says whether they came from the base image or from your own layers.

Why: the article's checklist item "Multi-stage build implemented" and its first pitfall,
"Building from source in production. Don't: install dev tools in production images. Do: use
multi-stage builds to separate build and runtime."

How to fix: install the toolchain in a build stage and copy only the result into a slim final
stage:

    FROM python:3.11 AS build
    RUN pip wheel --wheel-dir /wheels -r requirements.txt
    FROM python:3.11-slim
    COPY --from=build /wheels /wheels
    RUN pip install --no-cache-dir /wheels/*

When the base image itself ships the tools (`node:18`, `python:3.11`, `golang`), switch the final
stage to its `-slim`, `-alpine` or distroless variant.

Fails: an installed package matches `packages` (build-essential, gcc, make, `*-dev`, `*-devel`,
git, golang, rustc, cargo, a JDK...), or a program matching `binaries` is on the image's PATH
(`gcc`, `cc`, `make`, `go`, `cargo`, `git`...). One finding per layer that brought them in, at
its Dockerfile line when the history maps to the Dockerfile.
Passes: nothing matches; the evidence says how many packages were checked.

Options:
- `packages`: fnmatch patterns for package names (dpkg, apk and rpm alike).
- `binaries`: fnmatch patterns for program names looked up in the PATH directories.
- `allow` (default none): package or program names (or absolute paths) to accept anyway, e.g.
  `git` for an image that clones at run time.
- `max_listed` (default 8): how many offenders a message names.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from gatekeeper.facts import Target
from gatekeeper.facts.image import FileIndex
from gatekeeper.facts.needs import Need, Request
from gatekeeper.facts.packages import PACKAGE_DATABASES, Inventory, read_packages
from gatekeeper.findings import Severity
from gatekeeper.rule import Checklist, Evidence, Item, Rule, Violation
from gatekeeper.units import format_size

DEFAULT_PACKAGES = (
    # C and C++ toolchains
    *("build-essential", "build-base", "alpine-sdk", "gcc", "gcc-*", "g++", "g++-*"),
    *("cpp", "cpp-*", "clang", "clang-[0-9]*", "binutils", "make", "cmake", "ninja-build"),
    *("autoconf", "automake", "libtool", "libtool-bin", "pkg-config", "pkgconf", "bison", "flex"),
    # headers: Debian/Alpine `-dev`, Red Hat/SUSE `-devel`
    *("*-dev", "*-devel", "linux-headers", "linux-headers-*", "kernel-headers"),
    # other languages' toolchains
    *("git", "node-gyp", "golang", "golang-go", "golang-1.*", "golang-bin", "go"),
    *("rustc", "rust", "cargo", "maven", "gradle", "ant", "*-jdk", "*-jdk-headless"),
)
DEFAULT_BINARIES = (
    *("cc", "c++", "gcc", "gcc-[0-9]*", "g++", "g++-[0-9]*", "clang", "clang++", "clang-[0-9]*"),
    *("make", "gmake", "cmake", "ninja", "autoconf", "automake", "libtool", "pkg-config"),
    *("go", "cargo", "rustc", "rustup", "node-gyp", "git", "javac", "mvn", "gradle"),
)
NOT_BUILD_TOOLS = ("gcc-*-base", "gcc-toolset-*-runtime")
"""Look-alikes every Debian or RHEL image needs at run time (`gcc-12-base` holds libgcc's docs)."""


@dataclass(frozen=True)
class Options:
    packages: tuple[str, ...] = DEFAULT_PACKAGES
    binaries: tuple[str, ...] = DEFAULT_BINARIES
    allow: tuple[str, ...] = ()
    max_listed: int = 8


@dataclass(frozen=True, slots=True)
class Offender:
    name: str
    """A package name, or the path of a program."""
    size: int | None
    layer: int
    kind: str
    """`package` or `binary`."""
    where: str
    """The package database, or the program's path."""


def _matches(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _allowed(offender: Offender, options: Options) -> bool:
    names = (offender.name, posixpath.basename(offender.name))
    return any(_matches(n, options.allow) for n in names)


def package_offenders(inventory: Inventory, options: Options) -> list[Offender]:
    return [
        Offender(p.name, p.size, p.layer, "package", p.source_path)
        for p in inventory.packages
        if _matches(p.name, options.packages) and not _matches(p.name, NOT_BUILD_TOOLS)
    ]


def binary_offenders(files: FileIndex, search_path: str, options: Options) -> list[Offender]:
    """Programs on PATH whose name matches; a file's size is counted once (`cc -> gcc-12`)."""
    directories = {d.rstrip("/") or "/" for d in search_path.split(":") if d.startswith("/")}
    on_path = []
    for directory in directories:
        for entry in files.listdir(directory):
            if _matches(entry.path[entry.path.rfind("/") + 1 :], options.binaries):
                on_path.append(entry.path)
    found: dict[str, str] = {}  # path on PATH -> the real file it runs
    for path in sorted(on_path):
        program = files.find_executable(path, "")
        if program is not None:
            found[path] = program.path
    owner: dict[str, str] = {}  # real file -> the PATH entry that carries its size
    for path, real in found.items():
        if path == real or real not in owner:
            owner[real] = path
    return [
        Offender(
            path,
            files.files[real].size if owner[real] == path else None,
            files.files[path].layer,
            "binary",
            path,
        )
        for path, real in found.items()
    ]


def _listing(offenders: Sequence[Offender], limit: int) -> str:
    ranked = sorted(offenders, key=lambda o: (-(o.size or 0), o.name))
    shown = [f"{o.name} {format_size(o.size)}" if o.size else o.name for o in ranked[:limit]]
    rest = len(ranked) - len(shown)
    return ", ".join(shown) + (f" and {rest} more" if rest > 0 else "")


def _source(target: Target, layer: int) -> str:
    """`Your layer 4 (RUN apt-get ...)`, `The base image python:3.11 (layer 2 (...))`."""
    command = target.layer_command(layer)
    where = f"layer {layer}" + (f" ({command})" if command else "")
    origin = target.layer_origin(layer)
    if origin == "base":
        chain = target.dockerfile.runtime_chain() if target.dockerfile is not None else ()
        base = f" {chain[0].base}" if chain and chain[0].base else ""
        return f"The base image{base} ({where})"
    return f"Your {where}" if origin == "own" else "L" + where[1:]


def _violation(target: Target, layer: int, group: list[Offender], options: Options) -> Violation:
    packages = [o for o in group if o.kind == "package"]
    binaries = [o for o in group if o.kind == "binary"]
    total = sum(o.size or 0 for o in (packages or binaries))
    if packages:
        noun = f"{len(packages)} package{'s' if len(packages) != 1 else ''}"
        listed = _listing(packages, options.max_listed)
        if binaries:
            listed += "; on PATH: " + ", ".join(posixpath.basename(o.name) for o in binaries)
    else:
        noun = f"{len(binaries)} program{'s' if len(binaries) != 1 else ''}"
        listed = _listing(binaries, options.max_listed)
    pointer = (packages or binaries)[0].where
    return Violation(
        f"{_source(target, layer)} puts build tools into the final image "
        f"({noun}, {format_size(total)}): {listed}.",
        target.layer_location(layer, pointer),
        detail=f"{'packages' if packages else 'binaries'}:{target.layer_command(layer)}",
        evidence="all: " + ", ".join(sorted(o.name for o in group)),
    )


def _clean(inventory: Inventory) -> str:
    """`no build tools among 92 dpkg packages; none on PATH either`."""
    if inventory.databases:
        return f"no build tools among {inventory.summary()}; none on PATH either"
    return f"{inventory.summary()}; no build tools on PATH"


def check(target: Target, options: Options) -> Iterator[Item]:
    image = target.require_image()
    files = target.require_files()
    inventory = read_packages(files)
    search_path = image.config.search_path
    offenders = [
        o
        for o in package_offenders(inventory, options) + binary_offenders(files, search_path, options)
        if not _allowed(o, options)
    ]
    if not offenders:
        yield Evidence(_clean(inventory))
        return
    by_layer: dict[int, list[Offender]] = {}
    for offender in offenders:
        by_layer.setdefault(offender.layer, []).append(offender)
    for layer in sorted(by_layer):
        yield _violation(target, layer, by_layer[layer], options)


def needs(options: Options) -> Request:
    return Request(Need.CONFIG | Need.FILESYSTEM, PACKAGE_DATABASES)


RULE = Rule(
    id="GK-IMG-004",
    name="build-tools-in-image",
    title="Final image contains compilers and build tooling",
    checklist=Checklist.MULTI_STAGE,
    severity=Severity.HIGH,
    check=check,
    fix="Build in a separate stage and COPY only the artefacts into a slim final stage.",
    doc=__doc__ or "",
    options=Options,
    needs=needs,
)
