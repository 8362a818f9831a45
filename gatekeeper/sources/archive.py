"""`docker save` tarballs (docker-archive:PATH[:ref]), on disk or streamed from the engine.

A plain tar on disk is read with random access: headers first (seeks only), then the config, then
each layer in order, parsed in place while child processes hash it (see layers.scan_tar_range).
A compressed tarball, or the engine's export stream, is read in one forward pass: layers are
scanned as they come and put in order afterwards by their diff_ids.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import tarfile
import zlib
from contextlib import ExitStack
from dataclasses import dataclass
from typing import IO

from gatekeeper.errors import BadArchive, ImageNotFound, SourceError
from gatekeeper.facts.image import ImageFacts
from gatekeeper.facts.needs import NOTHING, Request
from gatekeeper.imagenames import familiar
from gatekeeper.sources import ImageRef, SourceOptions
from gatekeeper.sources._oci import (
    MAX_JSON,
    ParsedConfig,
    assemble,
    check_digest,
    image_config,
    parse_json,
    sha256,
)
from gatekeeper.sources.layers import (
    CHUNK,
    GzipReader,
    IndexBuilder,
    LayerScan,
    PendingDigests,
    RangeHasher,
    Readable,
    compression_at,
    compression_of,
    scan_blob,
    scan_tar_range,
    verify,
    zstd_reader,
)

_CONTENT_ADDRESSED = re.compile(r"(?:^|/)(?:blobs/sha256/)?([0-9a-f]{64})(?:\.json)?$")

_BLOB = re.compile(r"(?:^|/)blobs/sha256/([0-9a-f]{64})$")

TAR_ERRORS = (tarfile.TarError, EOFError, OSError, ValueError)


def _named_digest(path: str) -> str | None:
    """The digest a content-addressed layer path names (`blobs/sha256/<hex>`, Docker 25+ and
    OCI-style saves): the stored bytes must hash to it. None for other paths (`<id>/layer.tar`)."""
    match = _BLOB.search(path)
    return f"sha256:{match.group(1)}" if match else None


@dataclass(frozen=True)
class ManifestEntry:
    config: str
    layers: tuple[str, ...]
    repo_tags: tuple[str, ...]


def _familiar(name: str) -> str:
    """`docker.io/library/app`, `library/app` -> `app:latest`: the form to compare names in (as
    `docker images` shows them: Docker Hub's host and `library/` left out)."""
    name = familiar(name)
    if "@" not in name and ":" not in name.rpartition("/")[2]:
        name += ":latest"
    return name


def open_member(tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo], name: str, what: str) -> IO[bytes]:
    """A member of a seekable tar as a file object, or a one-line BadArchive."""
    member = members.get(name)
    if member is None:
        raise BadArchive(f"{what}: {name} is missing")
    try:
        fileobj = tar.extractfile(member)
    except KeyError:  # a symlink or hardlink member whose target is not in the archive
        raise BadArchive(f"{what}: {name} links to a missing member") from None
    except RecursionError:  # tarfile follows links by recursion: a loop never ends
        raise BadArchive(f"{what}: {name} is a link loop") from None
    except TAR_ERRORS as exc:
        raise BadArchive(f"{what}: cannot read {name}: {exc}") from exc
    if fileobj is None:
        raise BadArchive(f"{what}: {name} is not a file")
    return fileobj


def select_entry(raw: bytes, selector: str, what: str) -> ManifestEntry:
    """Pick the image in manifest.json: the only one, or the one tagged `selector`."""
    doc = parse_json(raw, f"{what}: manifest.json")
    if not isinstance(doc, list) or not doc:
        raise BadArchive(f"{what}: manifest.json lists no images")
    entries = []
    for item in doc:
        if not isinstance(item, dict) or not isinstance(item.get("Config"), str):
            raise BadArchive(f"{what}: manifest.json entry without Config")
        layers = item.get("Layers") or []
        tags = item.get("RepoTags") or []
        if not isinstance(layers, list) or not all(isinstance(x, str) for x in layers):
            raise BadArchive(f"{what}: manifest.json Layers is not a list of paths")
        if not isinstance(tags, list) or not all(isinstance(x, str) for x in tags):
            raise BadArchive(f"{what}: manifest.json RepoTags is not a list of names")
        # member names are matched without a leading `./` (tar's `./x` is `x`): so are these
        config, paths = item["Config"].removeprefix("./"), tuple(x.removeprefix("./") for x in layers)
        entries.append(ManifestEntry(config, paths, tuple(tags)))
    if selector:
        wanted = _familiar(selector)
        for entry in entries:
            if any(_familiar(tag) == wanted for tag in entry.repo_tags):
                return entry
        tags = ", ".join(t for e in entries for t in e.repo_tags) or "none"
        raise ImageNotFound(f"{what}: no image tagged {selector!r} (tags: {tags})")
    if len(entries) > 1:
        tags = ", ".join(t for e in entries for t in e.repo_tags) or "untagged"
        raise SourceError(f"{what}: holds {len(entries)} images ({tags}); add :TAG to choose one")
    return entries[0]


def _config_digest(name: str, raw: bytes, what: str) -> str:
    match = _CONTENT_ADDRESSED.search(name)
    if match:
        digest = "sha256:" + match.group(1)
        check_digest(raw, digest, f"{what}: config {name}")
        return digest
    return sha256(raw)


def _config(
    entry: ManifestEntry, config_raw: bytes, what: str, options: SourceOptions
) -> tuple[str, ParsedConfig]:
    """The config digest (checked where the name is content-addressed) and the checked config."""
    config_digest = _config_digest(entry.config, config_raw, what)
    layers = len(entry.layers)
    parsed = image_config(config_raw, what, layers=layers, listed_in="manifest.json", options=options)
    return config_digest, parsed


def _finish(
    *,
    what: str,
    source: str,
    entry: ManifestEntry,
    config_digest: str,
    parsed: ParsedConfig,
    scans: list[LayerScan] | None,
    request: Request,
) -> ImageFacts:
    """The facts from a parsed config and the layer scans (in manifest order, verified)."""
    files = None
    if scans is not None and request.filesystem:
        builder = IndexBuilder()
        for scan in scans:
            builder.add(scan)
        files = builder.build()
    return assemble(
        reference=what,
        source=source,
        digest=config_digest,
        config_digest=config_digest,
        parsed=parsed,
        scans=scans,
        files=files,
        repo_tags=entry.repo_tags,
    )


def open_docker_archive(
    ref: ImageRef, request: Request, options: SourceOptions, *, defer: ExitStack | None = None
) -> ImageFacts:
    """Read a `docker save` tarball. See open_image for `defer`."""
    path = ref.target
    what = str(ref)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, after the stream is consumed
    except FileNotFoundError:
        raise ImageNotFound(f"{what}: no such file") from None
    except OSError as exc:
        raise SourceError(f"{what}: cannot open: {exc.strerror or exc}") from exc
    with handle:
        compression = compression_of(handle.read(4))
        handle.seek(0)
        if compression == "gzip":
            # zlib directly, not tarfile's gzip: it reads concatenated members (as gzip -d and
            # docker load do), which tarfile's stream mode stops at.
            try:
                return read_save_stream(
                    GzipReader(handle), ref, request, source="docker-archive", options=options
                )
            except zlib.error as exc:
                raise BadArchive(f"{what}: cannot decompress (gzip): {exc}") from exc
        if compression == "zstd":  # tarfile cannot read zstd itself (before Python 3.14)
            import zstandard

            unzstd, frames = zstd_reader(handle)
            try:
                facts = read_save_stream(unzstd, ref, request, source="docker-archive", options=options)
            except zstandard.ZstdError as exc:
                raise BadArchive(f"{what}: cannot decompress (zstd): {exc}") from exc
            except BadArchive:
                # a short or empty tar at the end of the file may be a cut-off last frame
                if frames.complete or handle.tell() < os.fstat(handle.fileno()).st_size:
                    raise
            if not frames.complete:
                raise BadArchive(f"{what}: cannot decompress (zstd): data ends inside a frame (truncated?)")
            return facts
        try:
            tar = tarfile.open(fileobj=handle, mode="r:")  # noqa: SIM115 - lives with handle
            members = {m.name.removeprefix("./"): m for m in tar.getmembers()}
        except TAR_ERRORS as exc:
            raise BadArchive(f"{what}: not a readable tar archive ({exc})") from exc
        return _read_seekable(handle.fileno(), tar, members, ref, request, options, defer)


def _read_seekable(
    fd: int,
    tar: tarfile.TarFile,
    members: dict[str, tarfile.TarInfo],
    ref: ImageRef,
    request: Request,
    options: SourceOptions,
    defer: ExitStack | None,
) -> ImageFacts:
    what = str(ref)

    def read(name: str, limit: int = MAX_JSON) -> bytes:
        # Through open_member, so a member stored as a link reads as its target (whose size is
        # not the link's 0); tarfile itself raises when the data ends early.
        fileobj = open_member(tar, members, name, what)
        try:
            data = fileobj.read(limit + 1)
        except TAR_ERRORS as exc:
            raise BadArchive(f"{what}: cannot read {name}: {exc}") from exc
        if len(data) > limit:
            raise BadArchive(f"{what}: {name} is implausibly large (more than {limit} bytes)")
        return data

    if "manifest.json" not in members:
        raise BadArchive(f"{what}: manifest.json is missing (not a docker save archive?)")
    entry = select_entry(read("manifest.json"), ref.selector, what)
    config_digest, parsed = _config(entry, read(entry.config), what, options)
    scans = None
    if request.sizes:
        scans = _scan_seekable(fd, tar, members, entry, parsed.diff_ids, request, what, defer)
    return _finish(
        what=what,
        source="docker-archive",
        entry=entry,
        config_digest=config_digest,
        parsed=parsed,
        scans=scans,
        request=request,
    )


def _scan_seekable(
    fd: int,
    tar: tarfile.TarFile,
    members: dict[str, tarfile.TarInfo],
    entry: ManifestEntry,
    diff_ids: tuple[str, ...],
    request: Request,
    what: str,
    defer: ExitStack | None,
) -> list[LayerScan]:
    """Every layer of the chosen image, scanned, in manifest order.

    A plain layer tar (what `docker save` writes) is parsed in place, seeking from header to
    header, while a child process hashes the same bytes for the diff_id check (RangeHasher): that
    check completes here, or, given `defer`, when `defer` is closed. Anything else (a compressed
    layer, a layer stored as a link to another member) is read through as a stream and checked
    here.
    """
    wanted = request.wanted if request.filesystem else NOTHING
    try:
        file_size = os.fstat(fd).st_size
    except OSError as exc:
        raise BadArchive(f"{what}: cannot read: {exc.strerror or exc}") from exc
    in_place: dict[str, tuple[int, int]] = {}
    for name in dict.fromkeys(entry.layers):
        member = members.get(name)
        if member is None or not member.isreg() or member.sparse is not None:
            continue
        if member.offset_data + member.size > file_size:
            raise BadArchive(f"{what}: layer {name} is truncated (the file ends inside it)")
        if compression_at(fd, member.offset_data) == "":
            in_place[name] = (member.offset_data, member.size)
    checks = PendingDigests(RangeHasher(fd, list(in_place.values())))
    with ExitStack() as cleanup:
        cleanup.push(checks)
        scans: dict[str, LayerScan] = {}
        for name in dict.fromkeys(entry.layers):
            label = f"{what}: layer {name}"
            if name in in_place:
                scans[name] = scan_tar_range(fd, *in_place[name], wanted, name=label)
                continue
            stream = open_member(tar, members, name, f"{what}: layer")
            try:
                scans[name] = scan_blob(stream, wanted, name=label)
            except TAR_ERRORS as exc:
                raise BadArchive(f"{label} is unreadable: {exc}") from exc
        hashed = {name: index for index, name in enumerate(in_place)}
        for name, diff_id in zip(entry.layers, diff_ids, strict=True):
            label = f"{what}: layer {name}"
            digest = _named_digest(name)
            if name in hashed:
                checks.expect(hashed[name], scans[name], diff_id=diff_id, name=label, digest=digest)
            else:
                verify(scans[name], digest=digest, diff_id=diff_id, name=label)
        if defer is not None:
            defer.push(cleanup.pop_all())
    return [scans[name] for name in entry.layers]


def read_save_stream(
    stream: Readable, ref: ImageRef, request: Request, *, source: str, options: SourceOptions
) -> ImageFacts:
    """One forward pass over a `docker save` stream (maybe gzip-compressed).

    What each member is shows only at the end, in manifest.json: until then a member that looks
    like JSON is kept (up to MAX_JSON), and any other is scanned as a layer when sizes are
    wanted. A member that fails to scan fails the image only if the manifest names it as a layer
    (a README or a stale file in the archive is no reason to reject the image).
    """
    what = str(ref)
    jsons: dict[str, bytes] = {}
    too_large: set[str] = set()
    scans: dict[str, LayerScan] = {}
    failed: dict[str, BadArchive] = {}
    aliases: dict[str, str] = {}
    wanted = request.wanted if request.filesystem else NOTHING
    try:
        tar = tarfile.open(fileobj=stream, mode="r|*")  # type: ignore[call-overload]  # noqa: SIM115
        for member in tar:
            name = member.name.removeprefix("./")
            if member.issym():
                aliases[name] = posixpath.normpath(posixpath.join(posixpath.dirname(name), member.linkname))
                continue
            if member.islnk():
                aliases[name] = member.linkname.removeprefix("./")
                continue
            if not member.isfile():
                continue
            fileobj = tar.extractfile(member)
            if fileobj is None:
                continue
            head = fileobj.read(64)
            looks_json = head.lstrip(b" \t\r\n\xef\xbb\xbf")[:1] in (b"{", b"[")
            if looks_json or name in ("repositories", "oci-layout"):
                if member.size <= MAX_JSON:
                    jsons[name] = head + fileobj.read()
                    continue
                too_large.add(name)
            if name.endswith("VERSION") or not request.sizes:
                continue
            try:
                scans[name] = scan_blob(fileobj, wanted, name=f"{what}: layer {name}", head=head)
            except BadArchive as exc:
                failed[name] = exc
        # Read on past the end-of-archive blocks, so that a compressed stream reaches its end and
        # is checked there (gzip's CRC and length trailer; a truncated or garbage tail).
        while stream.read(CHUNK):
            pass
    except TAR_ERRORS as exc:
        raise BadArchive(f"{what}: not a readable tar archive ({exc})") from exc

    def resolve(name: str) -> str:
        seen = set()
        while name in aliases and name not in seen:
            seen.add(name)
            name = aliases[name]
        return name

    def document(name: str, missing: str) -> bytes:
        found = resolve(name)
        if found in too_large:
            raise BadArchive(f"{what}: {name} is implausibly large")
        if found not in jsons:
            raise BadArchive(f"{what}: {missing}")
        return jsons[found]

    manifest = document("manifest.json", "manifest.json is missing (not a docker save archive?)")
    entry = select_entry(manifest, ref.selector, what)
    config_raw = document(entry.config, f"config {entry.config} is missing")
    config_digest, parsed = _config(entry, config_raw, what, options)

    def scan_of(name: str) -> LayerScan:
        found = resolve(name)
        if found in failed:
            raise failed[found]
        if found not in scans and found in jsons:  # a layer whose bytes happen to start with {
            scans[found] = scan_blob(io.BytesIO(jsons[found]), wanted, name=f"{what}: layer {name}")
        scan = scans.get(found)
        if scan is None:
            raise BadArchive(f"{what}: layer {found} is missing")  # a link: the member it names
        return scan

    ordered = None
    if request.sizes:
        ordered = []
        for name, diff_id in zip(entry.layers, parsed.diff_ids, strict=True):
            scan = scan_of(name)
            verify(scan, digest=_named_digest(name), diff_id=diff_id, name=f"{what}: layer {name}")
            ordered.append(scan)
    return _finish(
        what=what,
        source=source,
        entry=entry,
        config_digest=config_digest,
        parsed=parsed,
        scans=ordered,
        request=request,
    )


__all__ = ["open_docker_archive", "read_save_stream", "select_entry"]
