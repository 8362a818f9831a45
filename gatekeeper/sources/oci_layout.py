"""OCI image layouts: a directory (`oci:DIR[:tag]`) or a tarball (`oci-archive:X.tar[:tag]`)."""

from __future__ import annotations

import os
import stat
import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO

from gatekeeper.errors import BadArchive, ImageNotFound, SourceError
from gatekeeper.facts.image import ImageFacts, Platform
from gatekeeper.facts.needs import NOTHING, Request
from gatekeeper.sources import ImageRef, SourceOptions
from gatekeeper.sources._oci import (
    INDEX_TYPES,
    MAX_JSON,
    Descriptor,
    assemble,
    check_digest,
    check_size,
    image_config,
    is_attestation,
    load_json,
    parse_index,
    parse_manifest,
    select_platform,
)
from gatekeeper.sources.archive import TAR_ERRORS, open_member
from gatekeeper.sources.layers import IndexBuilder, LayerScan, scan_blob, verify

REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"


def _blob_path(digest: str, what: str) -> str:
    algo, sep, encoded = digest.partition(":")
    if not sep or not algo.isalnum() or not encoded.isalnum():
        raise BadArchive(f"{what}: invalid digest {digest!r}")
    return f"blobs/{algo}/{encoded}"


class _Store:
    """Read access to a layout's files, from a directory or a tarball."""

    def __init__(self, opener: Callable[[str], IO[bytes]], what: str) -> None:
        self._open = opener
        self.what = what

    def read(self, name: str) -> bytes:
        with self._open(name) as handle:
            data = handle.read(MAX_JSON + 1)
        if len(data) > MAX_JSON:
            raise BadArchive(f"{self.what}: {name} is implausibly large")
        return data

    def blob(self, desc: Descriptor) -> bytes:
        what = f"{self.what}: blob {desc.digest}"
        data = self.read(_blob_path(desc.digest, self.what))
        check_digest(data, desc.digest, what)
        check_size(data, desc, what)
        return data

    @contextmanager
    def stream(self, digest: str) -> Iterator[IO[bytes]]:
        with self._open(_blob_path(digest, self.what)) as handle:
            yield handle


def _dir_store(root: str, what: str) -> _Store:
    if os.path.isfile(root):
        raise ImageNotFound(f"{what}: is a file, not an OCI layout directory (for a tar: oci-archive:{root})")
    if not os.path.isdir(root):
        raise ImageNotFound(f"{what}: no such directory")

    def opener(name: str) -> IO[bytes]:
        path = os.path.join(root, name)
        try:
            # A FIFO would block open() for ever, and a link to /dev/zero never ends: a layout
            # holds regular files only (the stat follows links, as open does).
            if not stat.S_ISREG(os.stat(path).st_mode):
                raise BadArchive(f"{what}: {name} is not a regular file")
            return open(path, "rb")
        except FileNotFoundError:
            raise BadArchive(f"{what}: {name} is missing (not an OCI layout?)") from None
        except OSError as exc:
            raise SourceError(f"{what}: cannot read {name}: {exc.strerror or exc}") from exc

    return _Store(opener, what)


@contextmanager
def _tar_store(path: str, what: str) -> Iterator[_Store]:
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the with below
    except FileNotFoundError:
        raise ImageNotFound(f"{what}: no such file") from None
    except OSError as exc:
        raise SourceError(f"{what}: cannot open: {exc.strerror or exc}") from exc
    with handle:
        try:
            tar = tarfile.open(fileobj=handle, mode="r:")  # noqa: SIM115 - lives with handle
            members = {m.name.removeprefix("./"): m for m in tar.getmembers()}
        except TAR_ERRORS as exc:
            raise BadArchive(f"{what}: not a readable tar archive ({exc})") from exc

        def opener(name: str) -> IO[bytes]:
            return open_member(tar, members, name, what)

        yield _Store(opener, what)


def _named(desc: Descriptor, selector: str) -> bool:
    names = (desc.annotation(REF_NAME), desc.annotation(CONTAINERD_NAME))
    return selector in names or any(n and n.endswith(":" + selector) for n in names)


def _pick(store: _Store, ref: ImageRef, options: SourceOptions) -> tuple[Descriptor, tuple[Platform, ...]]:
    what = store.what
    index = parse_index(load_json(store.read("index.json"), f"{what}: index.json"), what)
    if not index:
        raise ImageNotFound(f"{what}: index.json lists no images")
    candidates = list(index)
    if ref.selector:
        candidates = [d for d in index if _named(d, ref.selector)]
        if not candidates:
            tags = ", ".join(sorted({d.annotation(REF_NAME) or "" for d in index} - {""})) or "none"
            raise ImageNotFound(f"{what}: no image named {ref.selector!r} (names: {tags})")
    # Attestation manifests (provenance, SBOM) sit next to images; they are never the image.
    images = [d for d in candidates if not is_attestation(d)]
    available: tuple[Platform, ...] = ()
    if len(images) == 1:
        chosen = images[0]
    elif images and all(d.platform is not None for d in images):
        # One entry per platform (the same name on each, or no names at all).
        chosen, available = select_platform(images, options.platform, what)
    elif not images:
        raise ImageNotFound(f"{what}: index.json lists no images (only attestations)")
    else:
        tags = ", ".join(sorted({d.annotation(REF_NAME) or "?" for d in images}))
        raise SourceError(f"{what}: holds {len(images)} images ({tags}); add :TAG to choose one")
    depth = 0
    while chosen.media_type in INDEX_TYPES:
        depth += 1
        if depth > 4:
            raise BadArchive(f"{what}: indexes nested too deeply")
        nested = parse_index(load_json(store.blob(chosen), f"{what}: index"), what)
        chosen, available = select_platform(nested, options.platform, what)
    return chosen, available


def open_oci(ref: ImageRef, request: Request, options: SourceOptions) -> ImageFacts:
    what = str(ref)
    if ref.transport == "oci":
        return _read(_dir_store(ref.target, what), ref, request, options)
    with _tar_store(ref.target, what) as store:
        return _read(store, ref, request, options)


def _read(store: _Store, ref: ImageRef, request: Request, options: SourceOptions) -> ImageFacts:
    what = store.what
    desc, available = _pick(store, ref, options)
    raw_manifest = store.blob(desc)
    manifest = parse_manifest(load_json(raw_manifest, f"{what}: manifest"), what, desc.media_type)
    config_raw = store.blob(manifest.config)
    parsed = image_config(
        config_raw, what, layers=len(manifest.layers), listed_in="manifest", options=options
    )
    scans: list[LayerScan] | None = None
    files = None
    if request.sizes:
        wanted = request.wanted if request.filesystem else NOTHING
        builder = IndexBuilder()
        scans = []
        for layer, diff_id in zip(manifest.layers, parsed.diff_ids, strict=True):
            name = f"{what}: layer {layer.digest}"
            with store.stream(layer.digest) as handle:
                try:
                    scan = scan_blob(handle, wanted, name=name)
                except TAR_ERRORS as exc:
                    raise BadArchive(f"{name}: unreadable: {exc}") from exc
            verify(scan, digest=layer.digest, diff_id=diff_id, name=name, size=layer.size)
            scans.append(scan)
            if request.filesystem:
                builder.add(scan)
        files = builder.build() if request.filesystem else None
    return assemble(
        reference=what,
        source=ref.transport,
        digest=desc.digest,
        config_digest=manifest.config.digest,
        parsed=parsed,
        descriptors=manifest.layers,
        scans=scans,
        files=files,
        available_platforms=available,
    )
