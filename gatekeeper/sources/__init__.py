"""Where image facts come from. All image I/O (engine, tarballs, layouts, registries) lives here.

References use skopeo's transports so users' habits carry over:

    docker-daemon:app:prod        the local Docker engine (a bare `app:prod` means the same)
    docker-archive:app.tar[:ref]  `docker save` output (also gzip-compressed)
    oci:dir[:tag]                 an OCI image layout directory
    oci-archive:x.tar[:tag]       an OCI image layout in a tarball
    docker://host/repo:tag        a registry, read over HTTP without pulling
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass, field

from gatekeeper.errors import SourceError, UsageError
from gatekeeper.facts.image import ImageFacts, Platform
from gatekeeper.facts.needs import Request

TRANSPORTS = ("docker-daemon", "docker-archive", "oci", "oci-archive", "docker")


@dataclass(frozen=True)
class ImageRef:
    transport: str
    target: str
    """Daemon image name, file or directory path, or `host/repo:tag` for registries."""
    selector: str = ""
    """Tag/ref inside an archive or layout (`oci:dir:tag`)."""

    def __str__(self) -> str:
        if self.transport == "docker":
            return f"docker://{self.target}"
        text = f"{self.transport}:{self.target}"
        return f"{text}:{self.selector}" if self.selector else text

    @property
    def display_name(self) -> str:
        """What waivers and profiles match against: the image name as people write it."""
        if self.transport in ("docker", "docker-daemon"):
            return self.target
        return self.selector or self.target


@dataclass(frozen=True)
class SourceOptions:
    platform: Platform = field(default_factory=Platform)
    """Which image of a multi-platform index to read (default linux/amd64)."""
    platform_requested: bool = False
    """The user named `platform` (--platform): an image for another platform is then an error,
    from a single-platform source (engine, docker-archive, a plain manifest) too, as with
    `docker run --platform`."""
    insecure_registries: tuple[str, ...] = ()
    timeout: float = 60.0
    environ: dict[str, str] = field(default_factory=dict)
    """Where DOCKER_HOST / DOCKER_CONFIG / HOME come from (the CLI passes os.environ)."""


def _split_path_selector(rest: str) -> tuple[str, str]:
    """`path:sel` where path itself may contain ':'; the longest existing path wins."""
    if os.path.exists(rest) or ":" not in rest:
        return rest, ""
    cut = rest.rfind(":")
    while cut > 0:
        if os.path.exists(rest[:cut]):
            return rest[:cut], rest[cut + 1 :]
        cut = rest.rfind(":", 0, cut)
    # Nothing exists: split at the first ':' so the error names the path the user meant.
    path, _, selector = rest.partition(":")
    return path, selector


def parse_reference(text: str) -> ImageRef:
    if not text:  # `gatekeeper check "$IMAGE"` with IMAGE unset: not "no image"
        raise UsageError("the image reference is empty (is the variable that names it set?)")
    if text.strip() != text:
        raise UsageError(f"invalid image reference {text!r}")
    if text.startswith("docker://"):
        target = text[len("docker://") :]
        if not target:
            raise UsageError("docker:// needs a registry reference, e.g. docker://host/repo:tag")
        return ImageRef("docker", target)
    transport, sep, rest = text.partition(":")
    if sep and transport in TRANSPORTS and transport != "docker":
        if not rest:
            raise UsageError(f"{transport}: needs a {'name' if transport == 'docker-daemon' else 'path'}")
        if transport == "docker-daemon":
            return ImageRef(transport, rest)
        path, selector = _split_path_selector(rest)
        return ImageRef(transport, path, selector)
    if sep and transport == "docker":
        raise UsageError(f"registry references start with docker:// (got {text!r})")
    return ImageRef("docker-daemon", text)


def open_image(
    ref: ImageRef, request: Request, options: SourceOptions, *, defer: ExitStack | None = None
) -> ImageFacts:
    """Read the image, fetching only what `request` needs.

    Without `defer`, every integrity check has passed when this returns. With it, a source may
    leave checks running in the background (the diff_id hashes of a docker-archive) and push them
    on `defer`: closing it normally waits for them and raises DigestMismatch when one fails, so
    nothing judged from these facts may be reported before `defer` is closed. Closing it after an
    exception stops them.
    """
    if ref.transport == "docker-daemon":
        from gatekeeper.sources import daemon

        facts = daemon.open_daemon(ref, request, options)
    elif ref.transport == "docker-archive":
        from gatekeeper.sources import archive

        facts = archive.open_docker_archive(ref, request, options, defer=defer)
    elif ref.transport in ("oci", "oci-archive"):
        from gatekeeper.sources import oci_layout

        facts = oci_layout.open_oci(ref, request, options)
    elif ref.transport == "docker":
        from gatekeeper.sources import registry

        facts = registry.open_registry(ref, request, options)
    else:  # pragma: no cover
        raise UsageError(f"unknown transport {ref.transport!r}")
    return facts


def platform_matches(actual: Platform, wanted: Platform) -> bool:
    """Same os and architecture; the variant too when `wanted` names one."""
    return (
        actual.os == wanted.os
        and actual.architecture == wanted.architecture
        and (not wanted.variant or actual.variant == wanted.variant)
    )


def check_platform(actual: Platform, options: SourceOptions, what: str) -> None:
    """With an explicit --platform, an image for another platform is a SourceError."""
    if options.platform_requested and not platform_matches(actual, options.platform):
        raise SourceError(f"{what}: the image is for {actual}, not {options.platform} (--platform)")
