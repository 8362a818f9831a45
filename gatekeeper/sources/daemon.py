"""The local Docker engine (`docker-daemon:NAME`, or a bare `NAME`), through the docker SDK.

Config-only and size-only reads cost two API calls (image inspect + history; for classic builds
sometimes one inspect per build step, see below) and never export the image. A filesystem read
streams `docker save` (GET /images/{id}/get) through the same one-pass reader as
`docker-archive:`; nothing is buffered whole or written to disk.

The engine's history API has no `empty_layer` flag, so which history entries made which layers is
rebuilt here (`layer_flags`). What the engines do, observed on dockerd 20.10 (API 1.41, overlay2):

* An entry with Size > 0 always made a layer: the engine reports 0 for empty entries.
* Classic builder (DOCKER_BUILDKIT=0): ENV, LABEL, ARG, EXPOSE, USER, CMD, HEALTHCHECK, ... are
  `#(nop)` entries without a layer. `#(nop) COPY/ADD` always make one. RUN makes one unless it
  changed nothing. WORKDIR makes a layer only when it created the directory (`WORKDIR /app` twice:
  the first is a layer, the second is empty). A layer can have Size 0: `RUN rm file` (only a
  whiteout), WORKDIR (only a directory). Every classic step is a local image, so the history API
  gives each entry an ID: when the Size > 0 rule leaves it open, the layer count of those images
  settles it exactly.
* BuildKit (DOCKER_BUILDKIT=1): RUN, COPY, ADD and every WORKDIR except `WORKDIR /` make a layer,
  even an empty one (a repeated `WORKDIR /app` adds the empty tar, sha256:5f70bf18...); the other
  instructions do not. Entries have no IDs (`<missing>`), so only the instruction names decide.
  BuildKit exporters that drop empty layers (marking their entries empty) leave a guess among the
  size-0 RUN/COPY/ADD/WORKDIR entries (RUN/COPY/ADD first, a repeated WORKDIR last). A wrong guess
  only moves a `created_by` between size-0 layers: the sizes of the layers are exact either way.

Sizes are the engine's per-layer DiffSize, the same numbers `docker history` and `docker images`
print (their sum is inspect's `Size`). They equal `layers.scan_blob` (regular file bytes once per
inode plus symlink target lengths) for classic builds and for pulled or loaded images. Layers that
dockerd 20.10's BuildKit committed itself are counted without symlink target lengths (tar header
sizes only), so there a layer of symlinks is Size 0 here and a few bytes more in a filesystem read.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import itertools
import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from gatekeeper.errors import DaemonUnavailable, GatekeeperError, ImageNotFound, SourceError
from gatekeeper.facts.image import ImageFacts, Platform
from gatekeeper.facts.mapping import nop_step
from gatekeeper.facts.needs import Request
from gatekeeper.sources import ImageRef, SourceOptions, check_platform
from gatekeeper.sources._oci import assemble, parse_config
from gatekeeper.sources.layers import CHUNK
from gatekeeper.text import shorten

DEFAULT_HOST = "unix:///var/run/docker.sock"
MAX_ANCHORS = 512
"""Most parent images inspected to pin the history-to-layer mapping (classic builds)."""

METADATA = frozenset(
    {
        "ARG",
        "CMD",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
    }
)
"""Instructions that only change the config: never a layer, on either builder."""
INSTRUCTIONS = METADATA | {"ADD", "COPY", "FROM", "RUN", "WORKDIR"}
ERROR_WIDTH = 300
"""Engine errors quoted in a message are cut to this many characters."""


# ---------------------------------------------------------------- history -> layers


@dataclass(frozen=True, slots=True)
class Step:
    """One entry of the engine's history, oldest first."""

    created_by: str
    size: int
    image_id: str = ""
    """The local image this step produced (classic builds), or "" (`<missing>`)."""


def instruction(created_by: str) -> str:
    """The Dockerfile instruction behind a history line, or "" when it is not one."""
    text = created_by.strip()
    step = nop_step(text)
    if step is not None:  # classic: `/bin/sh -c #(nop)  ENV ...`, `#(nop) COPY file:... in /`
        return step[0]
    first = text.split(None, 1)[0] if text else ""
    if first in INSTRUCTIONS:  # BuildKit (and kaniko, buildah): `RUN ...`, `ENV ...`
        return first
    # Classic RUN lines are the command itself (`/bin/sh -c ...`, `|1 ARG=v /bin/sh -c ...`);
    # `docker import` and `docker commit` entries name no instruction: both made a layer.
    return "RUN" if text else ""


def _argument(created_by: str) -> str:
    """What follows the instruction keyword of a history line, in whatever case it was written
    (`#(nop) workdir /app` -> `/app`, as instruction() reads the keyword)."""
    step = nop_step(created_by)
    if step is not None:
        return step[1]
    words = created_by.split(None, 1)
    return words[1].strip() if len(words) == 2 else ""


def _rank(step: Step) -> int:
    """How likely a size-0 step made a layer: 0 likely, 1 maybe (WORKDIR), 2 no (metadata)."""
    name = instruction(step.created_by)
    if name in METADATA:
        return 2
    if name == "WORKDIR":
        return 2 if _argument(step.created_by) == "/" else 1
    return 0


def _pick_zero_size(steps: Sequence[Step], candidates: list[int], wanted: int) -> set[int]:
    """Choose `wanted` of the size-0 steps as layers, most likely first."""
    seen_dirs: set[str] = set()
    keys: dict[int, tuple[int, int, int]] = {}
    for i in candidates:
        repeat = 0
        if instruction(steps[i].created_by) == "WORKDIR":
            path = _argument(steps[i].created_by)
            repeat = int(path in seen_dirs)  # classic: a second WORKDIR to a dir changes nothing
            seen_dirs.add(path)
        keys[i] = (_rank(steps[i]), repeat, i)
    return set(sorted(candidates, key=keys.__getitem__)[: max(wanted, 0)])


def _segment(steps: Sequence[Step], start: int, stop: int, layers: int) -> list[bool]:
    """Flags for steps[start:stop], which hold `layers` layers."""
    flags = [steps[i].size > 0 for i in range(start, stop)]
    missing = layers - sum(flags)
    if missing > 0:
        zero = [i for i in range(start, stop) if steps[i].size <= 0]
        for i in _pick_zero_size(steps, zero, missing):
            flags[i - start] = True
    return flags


def layer_flags(
    steps: Sequence[Step],
    layer_count: int,
    layers_of: Callable[[str], int | None] | None = None,
) -> list[bool]:
    """Which steps (oldest first) made a layer, so that exactly `layer_count` of them do.

    `layers_of(image_id)` returns how many layers a parent image has (None: unknown); with it,
    classic builds are mapped exactly. Without anchors the instruction names decide (see above).
    If the history cannot account for every layer, all steps that may have made one are flagged
    and the rest of the layers stay without a step.
    """
    n = len(steps)
    flags = [s.size > 0 for s in steps]
    if sum(flags) == layer_count or n == 0:
        return flags
    nonzero_upto = [0] * (n + 1)  # nonzero_upto[i]: how many of steps[:i] have Size > 0
    for i, flag in enumerate(flags):
        nonzero_upto[i + 1] = nonzero_upto[i] + flag
    anchors: list[tuple[int, int]] = [(-1, 0)]  # (index of a step, layers up to and with it)
    if layers_of is not None:
        asked = 0
        for i, step in enumerate(steps[:-1]):
            if not step.image_id or asked >= MAX_ANCHORS:
                continue
            asked += 1
            count = layers_of(step.image_id)
            if count is None:
                continue
            last, last_count = anchors[-1]
            # keep an anchor only if the steps on both sides of it can hold their layers
            before = count - last_count
            after = layer_count - count
            if (
                nonzero_upto[i + 1] - nonzero_upto[last + 1] <= before <= i - last
                and nonzero_upto[n] - nonzero_upto[i + 1] <= after <= n - 1 - i
            ):
                anchors.append((i, count))
    anchors.append((n - 1, layer_count))
    result: list[bool] = []
    for (before, low), (end, high) in itertools.pairwise(anchors):
        result += _segment(steps, before + 1, end + 1, high - low)
    return result


# ---------------------------------------------------------------- the engine


def _host(environ: dict[str, str]) -> tuple[str, str]:
    env = environ or dict(os.environ)  # the SDK reads os.environ for an empty mapping, too
    configured = env.get("DOCKER_HOST", "")
    return configured or DEFAULT_HOST, configured or "unset"


def _reason(exc: BaseException) -> str:
    """A few words on why a connection failed, from anywhere in the exception chain."""
    texts = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts.append(f"{type(current).__name__} {current}")
        current = current.__cause__ or current.__context__
    text = " ".join(texts)
    for needle, reason in (
        ("No such file or directory", "no such socket"),
        ("Connection refused", "connection refused"),
        ("Permission denied", "permission denied"),
        ("timed out", "timed out"),
        ("Timeout", "timed out"),
        ("Name or service not known", "unknown host"),
        ("SSL", "TLS handshake failed"),
    ):
        if needle in text:
            return reason
    return shorten(str(exc), ERROR_WIDTH)


def _unavailable(environ: dict[str, str], exc: BaseException) -> DaemonUnavailable:
    host, shown = _host(environ)
    return DaemonUnavailable(
        f"cannot reach the Docker engine at {host}: {_reason(exc)} (is dockerd running? DOCKER_HOST={shown})"
    )


class _Errors:
    """Turns docker SDK / requests exceptions into gatekeeper's, for one image."""

    def __init__(self, name: str, options: SourceOptions) -> None:
        self.name = name
        self.options = options

    def translate(self, exc: BaseException, doing: str) -> GatekeeperError:
        if isinstance(exc, GatekeeperError):
            return exc
        import docker.errors
        import requests.exceptions

        if isinstance(exc, docker.errors.NotFound):
            return ImageNotFound(f"{self.name}: no such image in the local Docker engine")
        if isinstance(exc, docker.errors.APIError):
            status = exc.status_code
            detail = shorten(str(exc.explanation or exc), ERROR_WIDTH)
            return SourceError(f"{self.name}: the Docker engine refused to {doing} ({status}): {detail}")
        if isinstance(exc, requests.exceptions.Timeout):
            return SourceError(
                f"{self.name}: the Docker engine did not answer within {self.options.timeout:g}s ({doing})"
            )
        broken = (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)
        if isinstance(exc, (*broken, ConnectionError)):
            if doing.startswith("export"):
                return SourceError(f"{self.name}: the image export broke off: {_reason(exc)}")
            return _unavailable(self.options.environ, exc)
        detail = shorten(str(exc), ERROR_WIDTH) or type(exc).__name__
        return SourceError(f"{self.name}: cannot {doing}: {detail}")


def _client(options: SourceOptions) -> Any:
    try:
        import docker
    except ImportError as exc:  # pragma: no cover - docker is a dependency
        raise SourceError(
            f"docker-daemon: the docker Python SDK is not installed ({exc}); "
            "pip install docker, or read the image with docker-archive: or docker://"
        ) from None
    try:
        return docker.from_env(version="auto", environment=options.environ or None, timeout=options.timeout)
    except Exception as exc:  # DockerException, TLSParameterError, requests errors
        raise _unavailable(options.environ, exc) from None


class _ChunkReader:
    """`read(n)` over the export stream's chunks (short reads allowed, as from a socket)."""

    def __init__(self, chunks: Iterator[bytes], errors: _Errors) -> None:
        self._chunks = chunks
        self._errors = errors
        self._buf = b""
        self._pos = 0

    def read(self, size: int = -1, /) -> bytes:
        if self._pos >= len(self._buf):
            try:
                self._buf = next(self._chunks, b"")
            except Exception as exc:
                # Raised as a GatekeeperError, which the tar readers let through untouched.
                raise self._errors.translate(exc, "export the image") from None
            self._pos = 0
        if size < 0:
            parts = [self._buf[self._pos :], *self._rest()]
            self._buf, self._pos = b"", 0
            return b"".join(parts)
        data = self._buf[self._pos : self._pos + size]
        self._pos += len(data)
        return data

    def _rest(self) -> Iterator[bytes]:
        while True:
            try:
                chunk = next(self._chunks, b"")
            except Exception as exc:
                raise self._errors.translate(exc, "export the image") from None
            if not chunk:
                return
            yield chunk


def _created(seconds: Any) -> str:
    if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds <= 0:
        return ""
    stamp = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def _digest(inspect: dict[str, Any]) -> str:
    for item in inspect.get("RepoDigests") or ():
        if isinstance(item, str) and "@" in item:
            return item.rsplit("@", 1)[1]
    return str(inspect.get("Id") or "")


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _diff_ids(inspect: dict[str, Any]) -> list[str]:
    rootfs = inspect.get("RootFS")
    layers = rootfs.get("Layers") if isinstance(rootfs, dict) else None
    return list(_strings(layers))


_HEX_ID = re.compile(r"^sha256:[0-9a-f]{64}$")


def open_daemon(ref: ImageRef, request: Request, options: SourceOptions) -> ImageFacts:
    """Read `ref.target` from the engine: inspect + history, or the export stream for files."""
    name = ref.target
    errors = _Errors(name, options)
    client = _client(options)
    try:
        try:
            inspect: dict[str, Any] = client.api.inspect_image(name)
        except Exception as exc:
            raise errors.translate(exc, "inspect the image") from None
        # Before any layer is exported: the engine keeps one platform per image.
        check_platform(_platform(inspect), options, str(ref))
        image_id = str(inspect.get("Id") or name)
        digest = _digest(inspect)
        repo_tags = _strings(inspect.get("RepoTags"))
        if request.filesystem:
            facts = _from_export(client, image_id, ref, request, options, errors)
        else:
            try:
                history: list[dict[str, Any]] = client.api.history(image_id)
            except Exception as exc:
                raise errors.translate(exc, "read the image history") from None
            facts = _from_inspect(client, inspect, history, ref, errors)
            if request.sizes and any(layer.size is None for layer in facts.layers):
                # The history does not account for every layer (no history at all, say):
                # only the layers themselves can tell their sizes.
                facts = _from_export(client, image_id, ref, request, options, errors)
        return dataclasses.replace(facts, digest=digest, repo_tags=repo_tags)
    finally:
        with contextlib.suppress(Exception):  # closing the pool must not hide the outcome
            client.close()


def _platform(inspect: dict[str, Any]) -> Platform:
    return Platform(
        str(inspect.get("Os") or "linux"),
        str(inspect.get("Architecture") or ""),
        str(inspect.get("Variant") or ""),
    )


def _from_export(
    client: Any, image_id: str, ref: ImageRef, request: Request, options: SourceOptions, errors: _Errors
) -> ImageFacts:
    from gatekeeper.sources.archive import read_save_stream

    try:
        # By ID, so the export is the image just inspected even if the tag moves meanwhile.
        chunks = client.api.get_image(image_id, chunk_size=CHUNK)
    except Exception as exc:
        raise errors.translate(exc, "export the image") from None
    stream = _ChunkReader(iter(chunks), errors)
    try:
        return read_save_stream(stream, ref, request, source="docker-daemon", options=options)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()  # stops the generator, which releases the HTTP response


def _from_inspect(
    client: Any,
    inspect: dict[str, Any],
    history: list[dict[str, Any]],
    ref: ImageRef,
    errors: _Errors,
) -> ImageFacts:
    diff_ids = _diff_ids(inspect)
    items = [h for h in reversed(history) if isinstance(h, dict)]  # the engine lists newest first
    steps = [
        Step(
            created_by=str(h.get("CreatedBy") or ""),
            size=h["Size"] if isinstance(h.get("Size"), int) else 0,
            image_id=h["Id"] if isinstance(h.get("Id"), str) and _HEX_ID.match(h["Id"]) else "",
        )
        for h in items
    ]

    def layers_of(image_id: str) -> int | None:
        try:
            parent: dict[str, Any] = client.api.inspect_image(image_id)
        except Exception:
            return None  # an anchor is an optimisation; the heuristic still answers
        ids = _diff_ids(parent)
        return len(ids) if ids == diff_ids[: len(ids)] else None

    try:
        flags = layer_flags(steps, len(diff_ids), layers_of)
    except Exception as exc:  # pragma: no cover - layers_of already guards its calls
        raise errors.translate(exc, "inspect parent images") from None
    doc = {
        "architecture": inspect.get("Architecture") or "",
        "os": inspect.get("Os") or "linux",
        "variant": inspect.get("Variant") or "",
        "created": inspect.get("Created") or "",
        "config": inspect.get("Config") or {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [
            {
                "created": _created(h.get("Created")),
                "created_by": step.created_by,
                "comment": str(h.get("Comment") or ""),
                **({} if layer else {"empty_layer": True}),
            }
            for h, step, layer in zip(items, steps, flags, strict=True)
        ],
    }
    parsed = parse_config(json.dumps(doc).encode(), f"{ref}: image config")
    sizes: list[int | None] = [None] * len(diff_ids)
    for entry, step in zip(parsed.history, steps, strict=True):
        if entry.layer_index is not None:
            sizes[entry.layer_index] = step.size
    image_id = str(inspect.get("Id") or "")
    return assemble(
        reference=str(ref),
        source="docker-daemon",
        digest=image_id,
        config_digest=image_id,
        parsed=parsed,
        sizes=sizes,
    )


__all__ = ["Step", "instruction", "layer_flags", "open_daemon"]
