"""Pure parsing of OCI / Docker image JSON: index, manifest, config -> pieces of ImageFacts.

No I/O here; every source (engine, archives, layouts, registry) feeds bytes in.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gatekeeper.errors import BadArchive, DigestMismatch, SourceError
from gatekeeper.facts.image import (
    FileIndex,
    Healthcheck,
    HistoryEntry,
    ImageConfig,
    ImageFacts,
    Layer,
    Platform,
)
from gatekeeper.sources import SourceOptions, check_platform, platform_matches
from gatekeeper.sources.layers import LayerScan
from gatekeeper.text import loads_json

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_SCHEMA1 = (
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
ACCEPT = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))
MAX_JSON = 32 << 20
"""The largest JSON document (index, manifest, config) any source reads."""
DIGEST_RE = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
"""`algorithm:encoded`, the OCI image-spec digest grammar (any algorithm)."""


@dataclass(frozen=True, slots=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: Platform | None = None
    annotations: tuple[tuple[str, str], ...] = ()

    def annotation(self, key: str) -> str | None:
        return dict(self.annotations).get(key)


@dataclass(frozen=True, slots=True)
class Manifest:
    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]


@dataclass(frozen=True, slots=True)
class ParsedConfig:
    config: ImageConfig
    history: tuple[HistoryEntry, ...]
    diff_ids: tuple[str, ...]
    platform: Platform
    created: str


def parse_json(raw: bytes, what: str) -> Any:
    """`raw` parsed as JSON, or a one-line BadArchive naming `what`."""
    try:
        return loads_json(raw)
    except ValueError as exc:  # UnicodeDecodeError is one too
        raise BadArchive(f"{what} is not valid JSON: {exc}") from exc


def load_json(raw: bytes, what: str) -> dict[str, Any]:
    value = parse_json(raw, what)
    if not isinstance(value, dict):
        raise BadArchive(f"{what} is not a JSON object")
    return value


def sha256(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


_HASHES = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}


def check_digest(raw: bytes, digest: str, what: str) -> None:
    """`raw` hashes to `digest` (sha256 or sha512, the algorithms the OCI image spec registers).
    Any other algorithm is refused: a digest that cannot be checked must not switch the check
    off (one `md5:` in an index would have left manifest, config and layers unverified)."""
    algo, _, _ = digest.partition(":")
    hasher = _HASHES.get(algo)
    if hasher is None:
        raise DigestMismatch(
            f"{what}: cannot verify a {algo or 'malformed'} digest (sha256 and sha512 are checked)"
        )
    actual = f"{algo}:{hasher(raw).hexdigest()}"
    if actual != digest:
        raise DigestMismatch(f"{what} hashes to {actual}, expected {digest}")


def check_size(raw: bytes, desc: Descriptor, what: str) -> None:
    """A descriptor's size must match (the image spec's MUST); 0 means the descriptor has none.
    With the digest verified the bytes are the right ones: a wrong size is a broken descriptor."""
    if desc.size and len(raw) != desc.size:
        raise BadArchive(f"{what} is {len(raw)} bytes, the descriptor says {desc.size}")


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def descriptor(obj: Any, what: str) -> Descriptor:
    if not isinstance(obj, dict) or not isinstance(obj.get("digest"), str):
        raise BadArchive(f"{what}: descriptor without a digest")
    platform = None
    plat = obj.get("platform")
    if isinstance(plat, dict):
        platform = Platform(_str(plat.get("os")), _str(plat.get("architecture")), _str(plat.get("variant")))
    annotations = obj.get("annotations")
    notes = (
        tuple(sorted((str(k), str(v)) for k, v in annotations.items()))
        if isinstance(annotations, dict)
        else ()
    )
    return Descriptor(_str(obj.get("mediaType")), obj["digest"], _int(obj.get("size")), platform, notes)


def parse_index(doc: dict[str, Any], what: str) -> tuple[Descriptor, ...]:
    manifests = doc.get("manifests")
    if not isinstance(manifests, list):
        raise BadArchive(f"{what}: index without a manifests list")
    return tuple(descriptor(m, what) for m in manifests)


def parse_manifest(doc: dict[str, Any], what: str, media_type: str = "") -> Manifest:
    mtype = _str(doc.get("mediaType")) or media_type
    version = doc.get("schemaVersion")
    if mtype in DOCKER_SCHEMA1 or (type(version) is int and version == 1):  # `true == 1` in Python
        raise SourceError(f"{what}: Docker schema 1 manifests are not supported (deprecated)")
    if "config" not in doc or not isinstance(doc.get("layers"), list):
        raise BadArchive(f"{what}: manifest without config or layers")
    config = descriptor(doc["config"], what)
    layers = tuple(descriptor(layer, what) for layer in doc["layers"])
    return Manifest(mtype or OCI_MANIFEST, config, layers)


def is_attestation(desc: Descriptor) -> bool:
    return desc.annotation("vnd.docker.reference.type") == "attestation-manifest" or (
        desc.platform is not None and desc.platform.os == "unknown"
    )


def select_platform(
    candidates: Sequence[Descriptor], wanted: Platform, what: str
) -> tuple[Descriptor, tuple[Platform, ...]]:
    """Pick the first manifest matching os/arch (and variant, when asked); skip attestations."""
    images = [d for d in candidates if not is_attestation(d)]
    available = tuple(d.platform for d in images if d.platform is not None)
    for desc in images:
        if desc.platform is not None and platform_matches(desc.platform, wanted):
            return desc, available
    if len(images) == 1 and images[0].platform is None:
        return images[0], available
    listed = ", ".join(str(p) for p in available) or "none"
    raise SourceError(f"{what}: no image for platform {wanted} (available: {listed})")


def _strings(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return None


def _healthcheck(value: Any) -> Healthcheck | None:
    if not isinstance(value, dict):
        return None
    test = _strings(value.get("Test")) or ()
    return Healthcheck(
        test=test,
        interval_ns=_int(value.get("Interval")),
        timeout_ns=_int(value.get("Timeout")),
        start_period_ns=_int(value.get("StartPeriod")),
        retries=_int(value.get("Retries")),
    )


def _env(value: Any) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    if isinstance(value, list):
        for item in value:
            key, _, val = str(item).partition("=")
            pairs.append((key, val))
    return tuple(pairs)


def parse_config(raw: bytes, what: str = "image config") -> ParsedConfig:
    doc = load_json(raw, what)
    # `container_config` is the build container's (`#(nop) ...` commands), never the image's
    # runtime config; it is only a stand-in when an ancient config has no `config` at all.
    cfg = doc.get("config") if "config" in doc else doc.get("container_config")
    if not isinstance(cfg, dict):
        cfg = {}
    labels = cfg.get("Labels") or {}
    ports = cfg.get("ExposedPorts") or {}
    volumes = cfg.get("Volumes") or {}
    config = ImageConfig(
        user=_str(cfg.get("User")),
        env=_env(cfg.get("Env")),
        labels=tuple(sorted((str(k), str(v)) for k, v in labels.items())) if isinstance(labels, dict) else (),
        entrypoint=_strings(cfg.get("Entrypoint")),
        cmd=_strings(cfg.get("Cmd")),
        workdir=_str(cfg.get("WorkingDir")),
        exposed_ports=tuple(sorted(ports)) if isinstance(ports, dict) else (),
        volumes=tuple(sorted(volumes)) if isinstance(volumes, dict) else (),
        healthcheck=_healthcheck(cfg.get("Healthcheck")),
        stop_signal=_str(cfg.get("StopSignal")),
    )
    rootfs = doc.get("rootfs") or {}
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, list) or not all(isinstance(d, str) for d in diff_ids):
        raise BadArchive(f"{what}: no rootfs.diff_ids")
    for i, value in enumerate(diff_ids):
        # Refused here, with the config, so even a config-only check names it; verify() would
        # refuse it too, when the layer is read (it checks sha256 only).
        if not DIGEST_RE.fullmatch(value):
            raise BadArchive(f"{what}: rootfs.diff_ids[{i}] is not a digest: {value!r}")
    history = _history(doc.get("history"), len(diff_ids))
    platform = Platform(
        _str(doc.get("os")) or "linux", _str(doc.get("architecture")), _str(doc.get("variant"))
    )
    return ParsedConfig(config, history, tuple(diff_ids), platform, _str(doc.get("created")))


def _history(value: Any, layer_count: int) -> tuple[HistoryEntry, ...]:
    if not isinstance(value, list):
        return ()
    entries: list[HistoryEntry] = []
    next_layer = 0
    for item in value:
        if not isinstance(item, dict):
            continue
        empty = item.get("empty_layer") is True  # a JSON boolean ("false" as a string is not true)
        index = None
        if not empty and next_layer < layer_count:
            index = next_layer
            next_layer += 1
        entries.append(
            HistoryEntry(
                created_by=_str(item.get("created_by")),
                empty_layer=empty,
                created=_str(item.get("created")),
                comment=_str(item.get("comment")),
                layer_index=index,
            )
        )
    return tuple(entries)


def image_config(
    raw: bytes, what: str, *, layers: int, listed_in: str, options: SourceOptions
) -> ParsedConfig:
    """The config of the chosen image, checked before any layer is read: one diff_id per layer
    the manifest lists, and the platform the user named (--platform), if any."""
    parsed = parse_config(raw, f"{what}: config")
    if layers != len(parsed.diff_ids):
        raise BadArchive(
            f"{what}: {listed_in} lists {layers} layers, config has {len(parsed.diff_ids)} diff_ids"
        )
    check_platform(parsed.platform, options, what)
    return parsed


def layer_commands(history: Sequence[HistoryEntry], count: int) -> list[str]:
    commands = [""] * count
    for entry in history:
        if entry.layer_index is not None:
            commands[entry.layer_index] = entry.created_by
    return commands


def assemble(
    *,
    reference: str,
    source: str,
    digest: str,
    config_digest: str,
    parsed: ParsedConfig,
    descriptors: Sequence[Descriptor] | None = None,
    scans: Sequence[LayerScan] | None = None,
    sizes: Sequence[int | None] | None = None,
    files: FileIndex | None = None,
    repo_tags: Sequence[str] = (),
    available_platforms: Sequence[Platform] = (),
) -> ImageFacts:
    """Put the pieces together; `descriptors` come from a manifest, `scans` from a layer pass."""
    count = len(parsed.diff_ids)
    commands = layer_commands(parsed.history, count)
    layers = []
    for i, diff_id in enumerate(parsed.diff_ids):
        desc = descriptors[i] if descriptors is not None else None
        scan = scans[i] if scans is not None else None
        size = scan.size if scan is not None else (sizes[i] if sizes is not None else None)
        compressed = desc.size if desc is not None else None
        layers.append(
            Layer(
                index=i,
                diff_id=diff_id,
                digest=desc.digest if desc is not None else diff_id,
                media_type=desc.media_type if desc is not None else "",
                compressed_size=compressed,
                size=size,
                created_by=commands[i],
            )
        )
    return ImageFacts(
        reference=reference,
        source=source,
        digest=digest,
        config_digest=config_digest,
        platform=parsed.platform,
        config=parsed.config,
        history=parsed.history,
        layers=tuple(layers),
        files=files,
        created=parsed.created,
        repo_tags=tuple(repo_tags),
        available_platforms=tuple(available_platforms),
    )
