"""Write small, exact images for tests: docker-archive tarballs, OCI layouts and oci-archives.

Stdlib only (plus zstandard for zstd layers). Nothing binary is committed: tests build what they
need at run time, so every byte of a fixture is visible in the test that uses it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["file", "dir", "symlink", "hardlink", "whiteout", "opaque"]
Compression = Literal["none", "gzip", "zstd"]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_TYPES = {
    "none": "application/vnd.oci.image.layer.v1.tar",
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}


@dataclass(frozen=True)
class F:
    """One tar entry."""

    path: str
    data: bytes = b""
    kind: Kind = "file"
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    target: str = ""


def file(path: str, data: bytes | str = b"", mode: int = 0o644, uid: int = 0, gid: int = 0) -> F:
    return F(path, data.encode() if isinstance(data, str) else data, "file", mode, uid, gid)


def exe(path: str, data: bytes | str = b"#!/bin/sh\n") -> F:
    return file(path, data, 0o755)


def directory(path: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> F:
    return F(path, b"", "dir", mode, uid, gid)


def symlink(path: str, target: str) -> F:
    return F(path, b"", "symlink", 0o777, target=target)


def hardlink(path: str, target: str) -> F:
    return F(path, b"", "hardlink", 0o644, target=target)


def whiteout(path: str) -> F:
    return F(path, kind="whiteout")


def opaque(directory_path: str) -> F:
    return F(directory_path, kind="opaque")


def _tarinfo(entry: F) -> tarfile.TarInfo:
    path = entry.path.lstrip("/")
    if entry.kind == "whiteout":
        head, _, tail = path.rpartition("/")
        path = f"{head}/.wh.{tail}" if head else f".wh.{tail}"
    elif entry.kind == "opaque":
        path = f"{path.rstrip('/')}/.wh..wh..opq"
    info = tarfile.TarInfo(path)
    info.mode = entry.mode
    info.uid, info.gid = entry.uid, entry.gid
    info.mtime = 1_700_000_000
    if entry.kind == "dir":
        info.type = tarfile.DIRTYPE
    elif entry.kind == "symlink":
        info.type, info.linkname = tarfile.SYMTYPE, entry.target
    elif entry.kind == "hardlink":
        info.type, info.linkname = tarfile.LNKTYPE, entry.target.lstrip("/")
    else:
        info.size = len(entry.data)
    return info


def layer_tar(entries: Sequence[F]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            info = _tarinfo(entry)
            tar.addfile(info, io.BytesIO(entry.data) if info.isfile() else None)
    return buf.getvalue()


def compress(data: bytes, how: Compression) -> bytes:
    if how == "gzip":
        return gzip.compress(data, compresslevel=1, mtime=0)
    if how == "zstd":
        import zstandard

        return bytes(zstandard.ZstdCompressor().compress(data))
    return data


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Image:
    """An image to write: layers (lists of entries), config fields, optional explicit history."""

    layers: list[list[F]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] | None = None
    architecture: str = "amd64"
    os: str = "linux"
    raw_layers: list[bytes] | None = None
    """Pre-built layer tars (used instead of `layers` when given)."""

    def layer_tars(self) -> list[bytes]:
        return (
            list(self.raw_layers)
            if self.raw_layers is not None
            else [layer_tar(entries) for entries in self.layers]
        )

    def config_json(self, diff_ids: Sequence[str]) -> bytes:
        history = self.history
        if history is None:
            history = [{"created_by": f"layer {i}"} for i in range(len(diff_ids))]
        doc = {
            "architecture": self.architecture,
            "os": self.os,
            "created": "2026-01-01T00:00:00Z",
            "config": self.config,
            "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
            "history": history,
        }
        return json.dumps(doc, sort_keys=True).encode()


def write_docker_archive(
    path: str | os.PathLike[str], image: Image, tags: Sequence[str] = ("app:test",)
) -> str:
    """A legacy-format `docker save` tarball: <hex>.json config, <id>/layer.tar layers."""
    tars = image.layer_tars()
    diff_ids = [sha256(t) for t in tars]
    config = image.config_json(diff_ids)
    config_name = sha256(config).split(":")[1] + ".json"
    members: list[tuple[str, bytes]] = []
    layer_names = []
    for i, data in enumerate(tars):
        name = f"{i:02d}{diff_ids[i].split(':')[1][:20]}/layer.tar"
        layer_names.append(name)
        members.append((name, data))
    members.append((config_name, config))
    manifest = [{"Config": config_name, "RepoTags": list(tags), "Layers": layer_names}]
    members.append(("manifest.json", json.dumps(manifest).encode()))
    _write_tar(path, members)
    return sha256(config)


def _write_tar(path: str | os.PathLike[str], members: Sequence[tuple[str, bytes]]) -> None:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(data))


@dataclass
class Written:
    manifest_digest: str
    config_digest: str
    blobs: dict[str, bytes]


def oci_blobs(image: Image, compression: Compression = "gzip") -> Written:
    """Config, layers and manifest of one image as content-addressed blobs."""
    tars = image.layer_tars()
    diff_ids = [sha256(t) for t in tars]
    blobs: dict[str, bytes] = {}
    layers = []
    for data in tars:
        stored = compress(data, compression)
        digest = sha256(stored)
        blobs[digest] = stored
        layers.append({"mediaType": LAYER_TYPES[compression], "digest": digest, "size": len(stored)})
    config = image.config_json(diff_ids)
    blobs[sha256(config)] = config
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
            "layers": layers,
        },
        sort_keys=True,
    ).encode()
    blobs[sha256(manifest)] = manifest
    return Written(sha256(manifest), sha256(config), blobs)


def write_oci_layout(
    root: str | os.PathLike[str],
    images: Image | Sequence[tuple[str, Image]],
    compression: Compression = "gzip",
    *,
    platforms: Sequence[tuple[str, str]] | None = None,
) -> dict[str, Written]:
    """An OCI layout. `images` is one image (tagged `latest`) or (tag, image) pairs.

    With `platforms`, the images are wrapped in one multi-platform index tagged `latest`,
    `platforms[i]` = (os, arch) of `images[i]`.
    """
    pairs = [("latest", images)] if isinstance(images, Image) else list(images)
    os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
    written: dict[str, Written] = {}
    index_entries = []
    all_blobs: dict[str, bytes] = {}
    for tag, image in pairs:
        w = oci_blobs(image, compression)
        written[tag] = w
        all_blobs.update(w.blobs)
        entry: dict[str, Any] = {
            "mediaType": OCI_MANIFEST,
            "digest": w.manifest_digest,
            "size": len(w.blobs[w.manifest_digest]),
        }
        if platforms is None:
            entry["annotations"] = {"org.opencontainers.image.ref.name": tag}
        index_entries.append(entry)
    if platforms is not None:
        for entry, (os_name, arch) in zip(index_entries, platforms, strict=True):
            entry["platform"] = {"os": os_name, "architecture": arch}
        nested = json.dumps(
            {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": index_entries}, sort_keys=True
        ).encode()
        all_blobs[sha256(nested)] = nested
        index_entries = [
            {
                "mediaType": OCI_INDEX,
                "digest": sha256(nested),
                "size": len(nested),
                "annotations": {"org.opencontainers.image.ref.name": "latest"},
            }
        ]
    for digest, data in all_blobs.items():
        with open(os.path.join(root, "blobs", "sha256", digest.split(":")[1]), "wb") as out:
            out.write(data)
    with open(os.path.join(root, "oci-layout"), "w") as out:
        out.write('{"imageLayoutVersion": "1.0.0"}')
    with open(os.path.join(root, "index.json"), "w") as out:
        json.dump({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": index_entries}, out)
    return written


def write_oci_archive(
    path: str | os.PathLike[str],
    image: Image,
    tag: str = "latest",
    compression: Compression = "gzip",
) -> Written:
    w = oci_blobs(image, compression)
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": w.manifest_digest,
                "size": len(w.blobs[w.manifest_digest]),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    members = [
        ("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'),
        ("index.json", json.dumps(index).encode()),
    ]
    members += [(f"blobs/sha256/{d.split(':')[1]}", data) for d, data in w.blobs.items()]
    _write_tar(path, members)
    return w


BUSYBOX_LIKE = Image(
    layers=[
        [
            directory("/bin"),
            exe("/bin/busybox", b"\x7fELF busybox"),
            symlink("/bin/sh", "busybox"),
            directory("/etc"),
            file(
                "/etc/passwd",
                "root:x:0:0:root:/root:/bin/sh\napp:x:10001:10001::/home/app:/bin/sh\n",
            ),
            file("/etc/group", "root:x:0:\napp:x:10001:\n"),
        ]
    ],
    config={
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "Cmd": ["sh"],
    },
)
BUSYBOX_READY = Image(
    layers=BUSYBOX_LIKE.layers,
    config={
        "User": "10001",
        "Healthcheck": {"Test": ["CMD", "/bin/busybox", "true"]},
        "Env": ["PATH=/bin"],
    },
)
"""BUSYBOX_LIKE as the default policy's image rules want it: a non-root UID and a health check
whose program is in the image."""
BUSYBOX_ROOT = Image(layers=BUSYBOX_LIKE.layers, config=dict(BUSYBOX_READY.config, User=""))
"""BUSYBOX_READY, running as root."""


# --- helpers appended for tests/sources (format variants, multi-image archives, Docker 25 save) ---

IN_TOTO = "application/vnd.in-toto+json"


def layer_tar_format(entries: Sequence[F], tar_format: int) -> bytes:
    """Like `layer_tar`, in another tarfile format (tarfile.GNU_FORMAT, USTAR_FORMAT, ...)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tar_format) as tar:
        for entry in entries:
            info = _tarinfo(entry)
            tar.addfile(info, io.BytesIO(entry.data) if info.isfile() else None)
    return buf.getvalue()


def write_members(
    path: str | os.PathLike[str],
    members: Sequence[tuple[str, bytes]],
    symlinks: Sequence[tuple[str, str]] = (),
) -> None:
    """Regular files, then symlinks (name, target), in one PAX tar."""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
        for name, target in symlinks:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            info.mtime = 1_700_000_000
            tar.addfile(info)


def write_docker_archive_multi(
    path: str | os.PathLike[str], images: Sequence[tuple[Image, Sequence[str]]]
) -> list[str]:
    """A legacy `docker save` of several images (one manifest.json entry each); config digests."""
    members: dict[str, bytes] = {}
    manifest = []
    digests = []
    for image, tags in images:
        tars = image.layer_tars()
        diff_ids = [sha256(t) for t in tars]
        config = image.config_json(diff_ids)
        config_name = sha256(config).split(":")[1] + ".json"
        names = []
        for diff_id, data in zip(diff_ids, tars, strict=True):
            name = f"{diff_id.split(':')[1][:24]}/layer.tar"
            names.append(name)
            members[name] = data
        members[config_name] = config
        manifest.append({"Config": config_name, "RepoTags": list(tags), "Layers": names})
        digests.append(sha256(config))
    members["manifest.json"] = json.dumps(manifest).encode()
    write_members(path, list(members.items()))
    return digests


def write_docker_save_oci(
    path: str | os.PathLike[str],
    image: Image,
    tags: Sequence[str] = ("app:test",),
    compression: Compression = "none",
    *,
    layer_links: bool = False,
) -> Written:
    """A Docker 25+ `docker save`: an OCI layout plus manifest.json naming `blobs/sha256/<hex>`.

    With `layer_links`, manifest.json names legacy `<id>/layer.tar` paths that are symlinks to
    the blobs (as Docker writes for older readers).
    """
    w = oci_blobs(image, compression)
    manifest_doc = json.loads(w.blobs[w.manifest_digest])
    layer_blobs = [f"blobs/sha256/{d['digest'].split(':')[1]}" for d in manifest_doc["layers"]]
    links = [(f"{p.rsplit('/', 1)[1][:32]}/layer.tar", p) for p in layer_blobs]
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": w.manifest_digest,
                "size": len(w.blobs[w.manifest_digest]),
                "annotations": {
                    "io.containerd.image.name": f"docker.io/library/{tag}",
                    "org.opencontainers.image.ref.name": tag.rpartition(":")[2],
                },
            }
            for tag in tags
        ],
    }
    save_manifest = [
        {
            "Config": f"blobs/sha256/{w.config_digest.split(':')[1]}",
            "RepoTags": list(tags),
            "Layers": [name for name, _ in links] if layer_links else layer_blobs,
        }
    ]
    members = [(f"blobs/sha256/{d.split(':')[1]}", data) for d, data in w.blobs.items()]
    members += [
        ("index.json", json.dumps(index).encode()),
        ("manifest.json", json.dumps(save_manifest).encode()),
        ("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'),
    ]
    symlinks = [(name, f"../{target}") for name, target in links] if layer_links else []
    write_members(path, members, symlinks)
    return w


def write_blob(root: str | os.PathLike[str], data: bytes) -> str:
    """Store one blob in an OCI layout; its digest."""
    digest = sha256(data)
    os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(root, "blobs", "sha256", digest.split(":")[1]), "wb") as out:
        out.write(data)
    return digest


def attestation_manifest(root: str | os.PathLike[str], subject: str) -> dict[str, Any]:
    """A BuildKit-style attestation manifest (blobs written to `root`); its index descriptor.

    Its "layer" is in-toto JSON, not a tar: reading it as an image fails loudly.
    """
    statement = json.dumps({"_type": "https://in-toto.io/Statement/v0.1"}).encode()
    config = json.dumps(
        {
            "architecture": "unknown",
            "os": "unknown",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [sha256(statement)]},
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
            "layers": [{"mediaType": IN_TOTO, "digest": sha256(statement), "size": len(statement)}],
        }
    ).encode()
    for data in (statement, config, manifest):
        write_blob(root, data)
    return {
        "mediaType": OCI_MANIFEST,
        "digest": sha256(manifest),
        "size": len(manifest),
        "platform": {"os": "unknown", "architecture": "unknown"},
        "annotations": {
            "vnd.docker.reference.digest": subject,
            "vnd.docker.reference.type": "attestation-manifest",
        },
    }


def write_oci_platforms(
    root: str | os.PathLike[str],
    images: Sequence[tuple[str, Image]],
    *,
    nested: bool = True,
    attestations: bool = True,
    ref_name: str = "latest",
    compression: Compression = "gzip",
) -> dict[str, Written]:
    """A multi-platform OCI layout, keyed by platform text (`linux/arm64/v8`).

    `nested`: index.json -> one index (named `ref_name`) -> per-platform manifests, as buildx
    writes. Otherwise the per-platform manifests sit in index.json itself, each named `ref_name`
    (as containerd exports). With `attestations`, each image gets an attestation manifest.
    """
    written: dict[str, Written] = {}
    entries: list[dict[str, Any]] = []
    for text, image in images:
        w = oci_blobs(image, compression)
        for data in w.blobs.values():
            write_blob(root, data)
        written[text] = w
        parts = text.split("/")
        platform = {"os": parts[0], "architecture": parts[1]}
        if len(parts) > 2:
            platform["variant"] = parts[2]
        entry: dict[str, Any] = {
            "mediaType": OCI_MANIFEST,
            "digest": w.manifest_digest,
            "size": len(w.blobs[w.manifest_digest]),
            "platform": platform,
        }
        entries.append(entry)
    if attestations:
        entries += [attestation_manifest(root, e["digest"]) for e in list(entries)]
    if nested:
        nested_index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
        top = [
            {
                "mediaType": OCI_INDEX,
                "digest": write_blob(root, nested_index),
                "size": len(nested_index),
                "annotations": {"org.opencontainers.image.ref.name": ref_name},
            }
        ]
    else:
        top = [
            {
                **e,
                "annotations": {
                    "org.opencontainers.image.ref.name": ref_name,
                    **e.get("annotations", {}),
                },
            }
            for e in entries
        ]
    with open(os.path.join(root, "oci-layout"), "w") as out:
        out.write('{"imageLayoutVersion": "1.0.0"}')
    with open(os.path.join(root, "index.json"), "w") as out:
        json.dump({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": top}, out)
    return written
