#!/usr/bin/env python3
"""Benchmark gatekeeper's single streaming pass over layers on a large synthetic image.

    python benchmarks/run.py [--size-gb 1.2] [--files 60000] [--repeat 3] [--workdir DIR] [--keep]

Generates (once) a synthetic 8-layer image of about --size-gb GB and --files regular files as a
`docker save` tarball and as an OCI layout with gzip layers, then times, interleaved and repeated:
the raw-read baselines (tar, gzip), `gatekeeper check` with the default policy (full filesystem
scan) and with a config-only policy, and, when a registry answers on 127.0.0.1:5000, both checks of
the image pushed there. Prints a table against the targets; `--json FILE` saves it all.

Everything is written under --workdir (default benchmarks/out/, gitignored). See
benchmarks/README.md. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import io
import json
import math
import os
import platform
import pstats
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, cast

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
GENERATOR_VERSION = 3
CHUNK = 1 << 20
MTIME = 1_700_000_000
APP_UID = 10001
N_LAYERS = 8
MiB = 1 << 20

TARGET_SCAN_RATIO = 1.5
TARGET_RSS_MIB = 150.0
TARGET_REGISTRY_CONFIG_S = 0.5

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"

CONFIG_ONLY_POLICY = """\
# benchmarks/run.py: a config-only policy. runs-as-root without check_passwd reads only the image
# config, so no layer is opened (or downloaded).
version: 1
rules:
  runs-as-root:
    options: {check_passwd: false}
"""


class BenchError(Exception):
    """A step of the benchmark failed; the message says which and why."""


def log(message: str) -> None:
    print(message, flush=True)


# --------------------------------------------------------------------------------------------
# Synthetic content: partly compressible bytes, generated chunk by chunk from two pools.
# --------------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


KEYWORDS = _words(
    "def return const function import from self if else for in while class async await try "
    "catch throw let var new this null true false None module exports require console.log "
    "logger.debug = == === != ( ) { } [ ] : ; , . => + - * / && || ! 0 1 2 10 100 "
    '\'use strict\'; // TODO # """ value result data config options error index length items '
    "map filter reduce request response user id name path buffer stream string number object"
)
SYLLABLES = _words(
    "ba be bi bo bu ca ce ci co cu da de di do du fa fe fi fo ga ge gi go ha he hi ka ke ki ko "
    "la le li lo lu ma me mi mo mu na ne ni no nu pa pe pi po pu ra re ri ro ru sa se si so su "
    "ta te ti to tu va ve vi vo za ze zi zo tr st pr gr fl cl sh ch th qu x y z"
)


@dataclass
class Pools:
    """Text (compresses roughly 3-4x with gzip) and noise (incompressible) to slice from."""

    text: bytes
    noise: bytes

    @classmethod
    def make(cls, rng: random.Random, size: int = 4 * MiB) -> Pools:
        idents = ["".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))) for _ in range(4000)]
        vocab = KEYWORDS + idents
        weights = [12.0] * len(KEYWORDS) + [1.0] * len(idents)
        lines: list[str] = []
        total = 0
        while total < size:
            words = rng.choices(vocab, weights=weights, k=rng.randint(2, 14))
            line = "    " * rng.randint(0, 4) + " ".join(words)
            lines.append(line)
            total += len(line) + 1
        text = "\n".join(lines).encode()[:size]
        return cls(text=text, noise=rng.randbytes(2 * size))


class Content:
    """A file's bytes, produced on demand: segments of text and noise, `noise` the noise share."""

    def __init__(self, pools: Pools, rng: random.Random, size: int, noise: float) -> None:
        self._pools = pools
        self._rng = rng
        self._left = size
        self._noise = noise

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        n = self._left if size < 0 else min(size, self._left)
        rng, parts, got = self._rng, [], 0
        while got < n:
            take = min(n - got, rng.randint(512, 16384))
            pool = self._pools.noise if rng.random() < self._noise else self._pools.text
            start = rng.randrange(len(pool) - take)
            parts.append(pool[start : start + take])
            got += take
        self._left -= n
        return b"".join(parts)


# --------------------------------------------------------------------------------------------
# The image plan: which entries each layer holds.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    path: str
    """Tar member name, no leading slash (whiteouts already carry their .wh. prefix)."""
    kind: str  # file | dir | symlink | hardlink
    size: int = 0
    mode: int = 0o644
    uid: int = 0
    target: str = ""
    noise: float = 0.0
    data: bytes | None = None


@dataclass(frozen=True)
class Tree:
    """Where a layer's small files go: a root of package-like directories."""

    root: str
    weight: float
    exts: tuple[str, ...]
    noise: float = 0.05
    mode: int = 0o644
    uid: int = 0
    subdirs: tuple[str, ...] = ("", "lib", "src", "dist", "lib/internal", "test", "docs")
    nested: float = 0.0
    """Chance that a package sits in its parent's nested node_modules (long paths)."""


@dataclass
class LayerPlan:
    name: str
    created_by: str
    entries: list[Entry] = field(default_factory=list)
    hardlinks: list[Entry] = field(default_factory=list)


@dataclass(frozen=True)
class Spec:
    """Everything the generated image depends on; a recorded image is reused only if equal."""

    size_bytes: int
    files: int
    seed: int
    gzip_level: int
    layers: int = N_LAYERS
    generator: int = GENERATOR_VERSION


def _word(rng: random.Random) -> str:
    return "".join(rng.choices(SYLLABLES, k=rng.randint(2, 4)))


def _log_uniform(rng: random.Random, low: float, high: float) -> int:
    return int(math.exp(rng.uniform(math.log(low), math.log(high))))


def _split(total: int, weights: Sequence[float]) -> list[int]:
    """Integer shares of `total` proportional to `weights`, summing exactly to `total`."""
    scale = sum(weights)
    shares = [int(total * w / scale) for w in weights]
    for i in range(total - sum(shares)):
        shares[i % len(shares)] += 1
    return shares


class Planner:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.layers = [
            LayerPlan("debian-base", "/bin/sh -c #(nop) ADD file:rootfs.tar.xz in / "),
            LayerPlan("apt-packages", "RUN apt-get update && apt-get install -y ..."),
            LayerPlan("python-runtime", "COPY --from=python /usr/local /usr/local"),
            LayerPlan("build-deps", "RUN make -C /tmp/build && pip install ..."),
            LayerPlan("node-modules", "RUN npm ci"),
            LayerPlan("app", "COPY . /app"),
            LayerPlan("cleanup", "RUN rm -rf /tmp/build /root/.cache /var/lib/apt/lists/* ..."),
            LayerPlan("config", "COPY etc/ /etc/ && COPY config/ /app/config/"),
        ]
        self._paths: list[set[str]] = [set() for _ in self.layers]

    # -- helpers ----------------------------------------------------------------------------

    def _add(self, layer: int, entry: Entry) -> Entry:
        path = entry.path
        if path in self._paths[layer]:
            stem, dot, ext = path.rpartition(".")
            n = 1
            while (candidate := f"{stem}-{n}.{ext}" if dot else f"{path}-{n}") in self._paths[layer]:
                n += 1
            entry = Entry(
                candidate,
                entry.kind,
                entry.size,
                entry.mode,
                entry.uid,
                entry.target,
                entry.noise,
                entry.data,
            )
        self._paths[layer].add(entry.path)
        if entry.kind == "hardlink":
            self.layers[layer].hardlinks.append(entry)
        else:
            self.layers[layer].entries.append(entry)
        return entry

    def file(self, layer: int, path: str, size: int, noise: float, mode: int = 0o644, uid: int = 0) -> Entry:
        return self._add(layer, Entry(path, "file", size, mode, uid, noise=noise))

    def data(self, layer: int, path: str, data: bytes, mode: int = 0o644, uid: int = 0) -> None:
        self._add(layer, Entry(path, "file", len(data), mode, uid, data=data))

    def symlink(self, layer: int, path: str, target: str) -> None:
        self._add(layer, Entry(path, "symlink", 0, 0o777, target=target))

    def hardlink(self, layer: int, path: str, target: str) -> None:
        self._add(layer, Entry(path, "hardlink", 0, 0o755, target=target))

    def whiteout(self, layer: int, path: str) -> None:
        head, _, tail = path.rpartition("/")
        self._add(layer, Entry(f"{head}/.wh.{tail}" if head else f".wh.{tail}", "file"))

    def opaque(self, layer: int, directory: str) -> None:
        self._add(layer, Entry(f"{directory}/.wh..wh..opq", "file"))

    def small_files(self, layer: int, count: int, trees: Sequence[Tree]) -> list[Entry]:
        made: list[Entry] = []
        for tree, n in zip(trees, _split(count, [t.weight for t in trees]), strict=True):
            made += self._tree(layer, tree, n)
        return made

    def _tree(self, layer: int, tree: Tree, count: int) -> list[Entry]:
        rng = self.rng
        made: list[Entry] = []
        packages: list[str] = []
        while len(made) < count:
            name = f"{_word(rng)}-{_word(rng)}" if rng.random() < 0.5 else _word(rng)
            if rng.random() < 0.1:
                name = f"@{_word(rng)}/{name}"
            if packages and rng.random() < tree.nested:
                root = f"{rng.choice(packages)}/node_modules/{name}"
            else:
                root = f"{tree.root}/{name}"
            packages.append(root)
            in_package = min(count - len(made), int(rng.lognormvariate(2.8, 0.9)) + 1)
            dirs = [rng.choice(tree.subdirs) for _ in range(3)]
            for _ in range(in_package):
                sub = rng.choice(dirs)
                base = f"{_word(rng)}{rng.choice(tree.exts)}"
                path = f"{root}/{sub}/{base}" if sub else f"{root}/{base}"
                size = _log_uniform(rng, 100, 20_000)
                entry = self.file(layer, path, size, tree.noise, tree.mode, tree.uid)
                made.append(entry)
                luck = rng.random()
                if luck < 0.02:  # index.js -> lib/x.js, README -> docs/README.md, ...
                    alias = f"{root}/{_word(rng)}{rng.choice(tree.exts)}"
                    self.symlink(layer, alias, os.path.relpath(entry.path, root))
                elif luck < 0.025:  # pnpm-style or deduplicated files
                    self.hardlink(layer, f"{root}/{_word(rng)}.dedup", entry.path)
        return made

    def medium_files(
        self, layer: int, count: int, where: Sequence[tuple[str, str, float, int]]
    ) -> list[Entry]:
        """`where`: (directory, name pattern with {w}, noise, mode), used round-robin."""
        made = []
        for i in range(count):
            directory, pattern, noise, mode = where[i % len(where)]
            path = f"{directory}/{pattern.format(w=_word(self.rng), n=i)}"
            size = _log_uniform(self.rng, 100_000, 5_000_000)
            made.append(self.file(layer, path, size, noise, mode))
        return made

    # -- the image --------------------------------------------------------------------------

    def plan(self) -> list[LayerPlan]:
        spec, rng = self.spec, self.rng
        n_medium = max(8, spec.files // 400)
        small_mean = (20_000 - 100) / math.log(20_000 / 100)
        medium_mean = (5_000_000 - 100_000) / math.log(50)
        specials = 40
        n_small = max(0, spec.files - n_medium - specials - 8)
        budget = spec.size_bytes - n_small * small_mean - n_medium * medium_mean
        n_large = max(3, round(budget / 125e6)) if budget > 150e6 else 3
        weights = [rng.uniform(0.4, 1.6) for _ in range(n_large)]
        large = [max(1_000, int(max(budget, 3e6) * w / sum(weights))) for w in weights]
        small = _split(n_small, [12, 8, 15, 5, 45, 12, 0, 3])
        medium = _split(n_medium, [35, 20, 10, 0, 10, 25, 0, 0])

        # 0: a Debian-like base: merged /usr, libraries with version symlinks, hardlinked tools.
        for link in ("bin", "lib", "lib64", "sbin"):
            self.symlink(0, link, f"usr/{link}")
        passwd = b"root:x:0:0:root:/root:/bin/bash\n" + b"".join(
            f"{u}:x:{i}:{i}:{u}:/usr/sbin:/usr/sbin/nologin\n".encode()
            for i, u in enumerate(("daemon", "bin", "sys", "sync", "games", "man", "lp"), 1)
        )
        self.data(0, "etc/passwd", passwd)
        self.data(0, "etc/group", b"root:x:0:\ndaemon:x:1:\nbin:x:2:\nsys:x:3:\n")
        self.data(0, "etc/os-release", b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n')
        self.symlink(0, "usr/bin/sh", "dash")
        self.small_files(
            0,
            small[0],
            [
                Tree("usr/share/doc", 4, ("", ".txt", ".Debian.gz", ".md"), 0.05),
                Tree("usr/share/zoneinfo", 2, ("",), 0.6, subdirs=("", "America", "Europe", "Asia")),
                Tree("usr/share/locale", 2, (".mo",), 0.3, subdirs=("LC_MESSAGES",)),
                Tree("usr/share/perl/5.36", 1, (".pm", ".pl"), 0.02),
                Tree("etc", 1, ("", ".conf", ".d"), 0.02, subdirs=("", "default", "init.d")),
            ],
        )
        bins = self.medium_files(
            0,
            medium[0],
            [
                ("usr/bin", "{w}", 0.1, 0o755),
                ("usr/lib/x86_64-linux-gnu", "lib{w}.so.1.{n}.0", 0.1, 0o644),
            ],
        )
        for entry in bins:
            if entry.path.endswith(".0"):
                so_major = entry.path.rsplit(".", 2)[0]
                self.symlink(0, so_major, entry.path.rsplit("/", 1)[1])
                self.symlink(0, so_major.rsplit(".", 1)[0], so_major.rsplit("/", 1)[1])
            elif rng.random() < 0.3:
                self.hardlink(0, f"{entry.path}-1.{rng.randint(0, 9)}", entry.path)

        # 1: packages, apt lists (deleted in layer 6), one big library.
        lists = self.small_files(
            1,
            small[1],
            [
                Tree("usr/share/doc", 3, ("", ".txt", ".gz"), 0.05),
                Tree("var/lib/apt/lists", 3, ("_Packages", "_InRelease"), 0.02, subdirs=("",)),
                Tree("usr/share/man", 2, (".1.gz", ".5.gz"), 0.1, subdirs=("man1", "man5")),
            ],
        )
        self.medium_files(
            1,
            medium[1],
            [
                ("usr/lib/x86_64-linux-gnu", "lib{w}.so.2.{n}", 0.1, 0o644),
                ("usr/bin", "{w}", 0.1, 0o755),
            ],
        )
        self.file(1, "usr/lib/x86_64-linux-gnu/libLLVM-15.so.1", large[0], 0.1)

        # 2: a Python runtime: many small .py, compiled .pyc, some extension modules.
        site = "usr/local/lib/python3.11"
        self.small_files(
            2,
            small[2],
            [
                Tree(site, 3, (".py",), 0.02, subdirs=("", "tests", "_vendor")),
                Tree(f"{site}/site-packages", 3, (".py", ".pyi", ".txt"), 0.02),
                Tree(f"{site}/__pycache__", 1, (".cpython-311.pyc",), 0.35, subdirs=("",)),
            ],
        )
        self.medium_files(
            2,
            medium[2],
            [
                (f"{site}/lib-dynload", "{w}.cpython-311-x86_64-linux-gnu.so", 0.1, 0o755),
            ],
        )
        self.file(2, "usr/local/bin/python3.11", 6_000_000, 0.1, 0o755)
        self.hardlink(2, "usr/local/bin/python3", "usr/local/bin/python3.11")
        self.symlink(2, "usr/local/bin/python", "python3")

        # 3: build leftovers, deleted again in layer 6 (the classic bloat).
        self.small_files(
            3,
            small[3],
            [
                Tree("tmp/build", 2, (".c", ".h", ".o"), 0.3),
                Tree("root/.cache/pip/http", 1, ("",), 0.8, subdirs=("", "a", "b", "c")),
            ],
        )
        self.file(3, "tmp/build/toolchain.tar", large[1], 0.3)

        # 4: node_modules: most of the files, nested packages with long paths, .bin symlinks.
        modules = self.small_files(
            4,
            small[4],
            [
                Tree(
                    "app/node_modules",
                    20,
                    (".js", ".js", ".d.ts", ".json", ".md", ".map"),
                    0.02,
                    uid=APP_UID,
                    nested=0.25,
                    subdirs=("", "lib", "dist", "dist/esm", "dist/cjs/internal", "src", "test"),
                ),
                Tree("app/node_modules/.cache", 1, ("",), 0.5, uid=APP_UID, subdirs=("",)),
            ],
        )
        packages = sorted({e.path.split("/node_modules/")[-1].split("/")[0] for e in modules})
        for name in packages[: max(1, len(packages) // 10)]:
            if not name.startswith((".", "@")):
                self.symlink(4, f"app/node_modules/.bin/{name}", f"../{name}/bin/cli.js")
        self.medium_files(
            4,
            medium[4],
            [
                ("app/node_modules/esbuild/bin", "{w}-{n}.node", 0.1, 0o755),
                ("app/node_modules/typescript/lib", "{w}.js", 0.02, 0o644),
            ],
        )

        # 5: the application: sources, static assets, bundles, models and media (the big ones).
        self.small_files(
            5,
            small[5],
            [
                Tree(
                    "app/src",
                    3,
                    (".ts", ".tsx", ".py", ".json"),
                    0.02,
                    uid=APP_UID,
                    subdirs=("", "api", "models", "services/internal", "utils"),
                ),
                Tree(
                    "app/static",
                    1,
                    (".png", ".woff2", ".svg"),
                    0.8,
                    uid=APP_UID,
                    subdirs=("img", "fonts", "icons"),
                ),
            ],
        )
        self.medium_files(
            5,
            medium[5],
            [
                ("app/static/js", "{w}.bundle.js", 0.05, 0o644),
                ("app/static/img", "{w}-{n}.jpg", 0.95, 0o644),
            ],
        )
        for i, size in enumerate(large[2:]):
            where = "app/models/{}-{}.bin" if i else "app/static/media/{}-{}.mp4"
            self.file(5, where.format(_word(rng), i), size, 0.3 if i else 0.95, 0o644)
        self.data(
            5,
            "app/healthcheck",
            b"#!/bin/sh\nexec wget -qO- http://127.0.0.1/ready\n",
            0o755,
            APP_UID,
        )

        # 6: cleanup: whiteouts for whole trees and single files, an opaque directory.
        self.whiteout(6, "tmp/build")
        self.whiteout(6, "root/.cache")
        for entry in [e for e in lists if e.path.startswith("var/lib/apt/lists/")][:2000]:
            self.whiteout(6, entry.path)
        for entry in [e for e in modules if "/test/" in e.path][:1000]:
            self.whiteout(6, entry.path)
        self.opaque(6, "app/node_modules/.cache")
        for i in range(20):
            self.file(6, f"app/node_modules/.cache/fresh-{i}", 2_000, 0.5, 0o644, APP_UID)

        # 7: configuration: /etc/passwd with the app user (overwrites layer 0's), app config.
        self.data(7, "etc/passwd", passwd + b"app:x:10001:10001::/app:/usr/sbin/nologin\n")
        self.data(7, "etc/group", b"root:x:0:\napp:x:10001:\n")
        self.small_files(
            7,
            small[7],
            [
                Tree(
                    "app/config",
                    1,
                    (".json", ".yaml"),
                    0.02,
                    uid=APP_UID,
                    subdirs=("", "locales", "env"),
                ),
            ],
        )

        for layer in self.layers:
            self._add_parents(layer)
        return self.layers

    @staticmethod
    def _add_parents(layer: LayerPlan) -> None:
        """Parent directory entries, then everything sorted (parents before children)."""
        have = {e.path for e in layer.entries}
        dirs: set[str] = set()
        for entry in layer.entries + layer.hardlinks:
            parent = entry.path.rpartition("/")[0]
            while parent and parent not in dirs:
                dirs.add(parent)
                parent = parent.rpartition("/")[0]
        uid_of = {e.path.rpartition("/")[0]: e.uid for e in layer.entries}
        layer.entries += [Entry(d, "dir", 0, 0o755, uid_of.get(d, 0)) for d in dirs - have]
        layer.entries.sort(key=lambda e: e.path)


# --------------------------------------------------------------------------------------------
# Writing: layer tars streamed to disk, gzip blobs, the docker-archive and the OCI layout.
# --------------------------------------------------------------------------------------------


class HashingWriter:
    """A write-only file wrapper that hashes and counts what passes (tarfile needs tell())."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self.hasher = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.hasher.update(data)
        self._out.write(data)
        self.size += len(data)
        return len(data)

    def tell(self) -> int:
        return self.size


@dataclass
class LayerStats:
    name: str
    files: int = 0
    dirs: int = 0
    symlinks: int = 0
    hardlinks: int = 0
    whiteouts: int = 0
    file_bytes: int = 0
    tar_bytes: int = 0
    gzip_bytes: int = 0
    diff_id: str = ""
    digest: str = ""
    archive_member: str = ""


def _tarinfo(entry: Entry) -> tarfile.TarInfo:
    info = tarfile.TarInfo(entry.path)
    info.mtime = MTIME
    info.mode = entry.mode
    info.uid = info.gid = entry.uid
    if entry.kind == "dir":
        info.type = tarfile.DIRTYPE
    elif entry.kind == "symlink":
        info.type, info.linkname = tarfile.SYMTYPE, entry.target
    elif entry.kind == "hardlink":
        info.type, info.linkname = tarfile.LNKTYPE, entry.target
    else:
        info.size = entry.size
    return info


def write_layer(plan: LayerPlan, path: Path, pools: Pools, rng: random.Random) -> LayerStats:
    """Stream one layer tar to `path`; file data is generated CHUNK by CHUNK, never whole."""
    stats = LayerStats(plan.name)
    with open(path, "wb") as out:
        writer = HashingWriter(out)
        tar = tarfile.TarFile(
            fileobj=cast(IO[bytes], writer),
            mode="w",
            format=tarfile.PAX_FORMAT,
            copybufsize=CHUNK,
        )
        for entry in plan.entries + plan.hardlinks:
            info = _tarinfo(entry)
            source: Any = None
            if entry.kind == "file":
                if "/.wh." in f"/{entry.path}":
                    stats.whiteouts += 1
                else:
                    stats.files += 1
                    stats.file_bytes += entry.size
                if entry.data is not None:
                    source = io.BytesIO(entry.data)
                elif entry.size:
                    source = Content(pools, rng, entry.size, entry.noise)
            elif entry.kind == "dir":
                stats.dirs += 1
            elif entry.kind == "symlink":
                stats.symlinks += 1
            else:
                stats.hardlinks += 1
            tar.addfile(info, source)
        tar.close()
    stats.tar_bytes = writer.size
    stats.diff_id = "sha256:" + writer.hasher.hexdigest()
    return stats


def gzip_blob(raw: Path, blobs: Path, level: int) -> tuple[str, int]:
    """`gzip -LEVEL -n -c raw` into blobs/<sha256>, hashed while it streams."""
    tmp = blobs / f".partial-{raw.name}"
    hasher, size = hashlib.sha256(), 0
    with (
        open(tmp, "wb") as out,
        subprocess.Popen(["gzip", f"-{level}", "-n", "-c", str(raw)], stdout=subprocess.PIPE) as p,
    ):
        assert p.stdout is not None
        while chunk := p.stdout.read(CHUNK):
            hasher.update(chunk)
            out.write(chunk)
            size += len(chunk)
    if p.returncode != 0:
        raise BenchError(f"gzip failed on {raw} (exit {p.returncode})")
    digest = hasher.hexdigest()
    os.replace(tmp, blobs / digest)
    return "sha256:" + digest, size


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime = len(data), MTIME
    tar.addfile(info, io.BytesIO(data))


def _add_dir(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, MTIME
    tar.addfile(info)


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _json(doc: Any) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


@dataclass
class Generated:
    spec: dict[str, Any]
    generation_s: float
    archive: str
    archive_bytes: int
    oci_dir: str
    config_digest: str
    manifest_digest: str
    layers: list[LayerStats]

    @property
    def file_bytes(self) -> int:
        return sum(layer.file_bytes for layer in self.layers)

    @property
    def tar_bytes(self) -> int:
        return sum(layer.tar_bytes for layer in self.layers)

    @property
    def gzip_bytes(self) -> int:
        return sum(layer.gzip_bytes for layer in self.layers)

    def count(self, what: str) -> int:
        return sum(int(getattr(layer, what)) for layer in self.layers)


IMAGE_CONFIG = {
    "User": "app",
    "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NODE_ENV=prod"],
    "Cmd": ["node", "/app/src/server.js"],
    "WorkingDir": "/app",
    "ExposedPorts": {"8080/tcp": {}},
    "Healthcheck": {"Test": ["CMD", "/app/healthcheck"], "Interval": 30_000_000_000},
}


def generate(spec: Spec, image_dir: Path) -> Generated:
    started = time.monotonic()
    if image_dir.exists():
        shutil.rmtree(image_dir)
    raw_dir = image_dir / "raw"
    oci = image_dir / "oci"
    blobs = oci / "blobs" / "sha256"
    for directory in (raw_dir, blobs):
        directory.mkdir(parents=True)
    log(f"planning {spec.files} files, {spec.size_bytes / 1e9:.2f} GB in {spec.layers} layers")
    plans = Planner(spec).plan()
    rng = random.Random(spec.seed + 1)
    pools = Pools.make(rng)
    archive_tmp = image_dir / "docker-archive.tar.partial"
    outer = tarfile.TarFile(archive_tmp, mode="w", format=tarfile.PAX_FORMAT, copybufsize=CHUNK)
    chain = ""

    def finish(stats: LayerStats, raw: Path, v1_id: str, parent: str) -> LayerStats:
        # Runs on the single worker thread: gzip for OCI, then append to the docker-archive.
        t = time.monotonic()
        stats.digest, stats.gzip_bytes = gzip_blob(raw, blobs, spec.gzip_level)
        _add_dir(outer, v1_id)
        _add_bytes(outer, f"{v1_id}/VERSION", b"1.0")
        v1 = {"id": v1_id, "created": "2026-01-01T00:00:00Z", "os": "linux"}
        if parent:
            v1["parent"] = parent
        _add_bytes(outer, f"{v1_id}/json", _json(v1))
        info = tarfile.TarInfo(stats.archive_member)
        info.size, info.mtime = raw.stat().st_size, MTIME
        with open(raw, "rb") as handle:
            outer.addfile(info, handle)
        raw.unlink()
        log(
            f"  layer {stats.name}: gzip -{spec.gzip_level} {stats.tar_bytes / 1e6:.0f} MB -> "
            f"{stats.gzip_bytes / 1e6:.0f} MB, archived ({time.monotonic() - t:.1f} s)"
        )
        return stats

    futures = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as worker:
        for i, plan in enumerate(plans):
            t = time.monotonic()
            raw = raw_dir / f"{i}.tar"
            stats = write_layer(plan, raw, pools, rng)
            parent = chain
            chain = hashlib.sha256(f"{parent}\n{stats.diff_id}".encode()).hexdigest()
            stats.archive_member = f"{chain}/layer.tar"
            log(
                f"  layer {i} {plan.name}: {stats.files} files, {stats.dirs} dirs, "
                f"{stats.symlinks} symlinks, {stats.hardlinks} hardlinks, "
                f"{stats.whiteouts} whiteouts, {stats.tar_bytes / 1e6:.0f} MB tar "
                f"({time.monotonic() - t:.1f} s)"
            )
            futures.append(worker.submit(finish, stats, raw, chain, parent))
        layers = [f.result() for f in futures]

    config = _json(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": "2026-01-01T00:00:00Z",
            "config": IMAGE_CONFIG,
            "rootfs": {"type": "layers", "diff_ids": [s.diff_id for s in layers]},
            "history": [{"created": "2026-01-01T00:00:00Z", "created_by": p.created_by} for p in plans],
        }
    )
    config_digest = _sha256(config)
    config_name = config_digest.split(":")[1] + ".json"
    _add_bytes(outer, config_name, config)
    manifest = [
        {
            "Config": config_name,
            "RepoTags": ["bench/big:1"],
            "Layers": [s.archive_member for s in layers],
        }
    ]
    _add_bytes(outer, "manifest.json", _json(manifest))
    _add_bytes(outer, "repositories", _json({"bench/big": {"1": chain}}))
    outer.close()
    archive = image_dir / "docker-archive.tar"
    os.replace(archive_tmp, archive)
    raw_dir.rmdir()

    oci_manifest = _json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
            "layers": [
                {"mediaType": OCI_LAYER_GZIP, "digest": s.digest, "size": s.gzip_bytes} for s in layers
            ],
        }
    )
    manifest_digest = _sha256(oci_manifest)
    for blob in (config, oci_manifest):
        (blobs / _sha256(blob).split(":")[1]).write_bytes(blob)
    (oci / "oci-layout").write_bytes(b'{"imageLayoutVersion":"1.0.0"}')
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": manifest_digest,
                "size": len(oci_manifest),
                "annotations": {"org.opencontainers.image.ref.name": "latest"},
            }
        ],
    }
    (oci / "index.json").write_bytes(_json(index))
    return Generated(
        spec=asdict(spec),
        generation_s=round(time.monotonic() - started, 1),
        archive=str(archive),
        archive_bytes=archive.stat().st_size,
        oci_dir=str(oci),
        config_digest=config_digest,
        manifest_digest=manifest_digest,
        layers=layers,
    )


def load_generated(spec: Spec, image_dir: Path) -> Generated | None:
    """The recorded image, if it was made from `spec` and its files are all still there."""
    state = image_dir / "state.json"
    try:
        doc = json.loads(state.read_text())
        gen = Generated(**{**doc, "layers": [LayerStats(**layer) for layer in doc["layers"]]})
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if gen.spec != asdict(spec):
        return None
    try:
        if os.path.getsize(gen.archive) != gen.archive_bytes:
            return None
        blobs = Path(gen.oci_dir) / "blobs" / "sha256"
        for layer in gen.layers:
            if os.path.getsize(blobs / layer.digest.split(":")[1]) != layer.gzip_bytes:
                return None
    except OSError:
        return None
    return gen


def save_generated(gen: Generated, image_dir: Path) -> None:
    tmp = image_dir / "state.json.partial"
    tmp.write_text(json.dumps(asdict(gen), indent=2))
    os.replace(tmp, image_dir / "state.json")


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------


@dataclass
class Sample:
    wall_s: float
    maxrss_kib: int = 0
    """The measured process's own peak RSS (os.wait4), 0 when not measured."""
    exit_code: int = 0
    reported_s: float | None = None
    """gatekeeper's own duration_s from its JSON report (excludes interpreter start-up)."""
    cpu_s: float = 0.0
    """User + system CPU time of the command and the children it waited for (a pipeline's parts)."""
    load1: float = 0.0
    """The 1-minute load average when the sample started: other work on the machine skews times."""
    idle: float = 1.0
    """Share of all CPUs idle just before the sample (see --wait-idle)."""


@dataclass
class Measurement:
    key: str
    label: str
    run: Callable[[], Sample]
    baseline: str = ""
    """Key of the baseline this one is compared with (ratio column)."""
    target: str = ""
    samples: list[Sample] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(s.wall_s for s in self.samples)

    @property
    def median(self) -> float:
        return statistics.median(s.wall_s for s in self.samples)

    @property
    def cpu_median(self) -> float:
        return statistics.median(s.cpu_s for s in self.samples)

    @property
    def maxrss_mib(self) -> float:
        return max(s.maxrss_kib for s in self.samples) / 1024


def cpu_idle(interval: float) -> float:
    """The share of all CPUs' time spent idle over `interval` seconds (1.0 without /proc/stat)."""

    def snapshot() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            ticks = [int(x) for x in stat.readline().split()[1:]]
        return ticks[3] + ticks[4], sum(ticks)  # idle + iowait, total

    try:
        idle0, total0 = snapshot()
        time.sleep(interval)
        idle1, total1 = snapshot()
    except (OSError, ValueError, IndexError):
        return 1.0
    return (idle1 - idle0) / max(1, total1 - total0)


def wait_for_idle(max_wait: float, threshold: float = 0.75) -> float:
    """Wait (up to max_wait s) until the CPUs are mostly idle: other work skews wall times."""
    deadline = time.monotonic() + max_wait
    while True:
        idle = cpu_idle(0.5) if max_wait > 0 else 1.0
        if idle >= threshold or time.monotonic() >= deadline:
            return idle


def run_pipeline(commands: Sequence[Sequence[str]]) -> None:
    """cmd1 | cmd2 | ... > /dev/null; raises if any part fails."""
    procs: list[subprocess.Popen[bytes]] = []
    upstream: IO[bytes] | None = None
    for i, cmd in enumerate(commands):
        last = i == len(commands) - 1
        proc = subprocess.Popen(
            list(cmd), stdin=upstream, stdout=subprocess.DEVNULL if last else subprocess.PIPE
        )
        if upstream is not None:
            upstream.close()  # the next process owns the pipe now (SIGPIPE works)
        upstream = proc.stdout
        procs.append(proc)
    codes = [p.wait() for p in procs]
    if any(codes):
        shown = " | ".join(" ".join(c) for c in commands)
        raise BenchError(f"`{shown}` failed with exit codes {codes}")


def timed_pipelines(pipelines: Sequence[Sequence[Sequence[str]]], out_dir: Path, key: str) -> Sample:
    """`set -eo pipefail; a | b > /dev/null; c | d > /dev/null; ...` in one bash, timed as a whole."""
    bash = shutil.which("bash")
    if bash is None:
        raise BenchError("bash is needed for the baselines")
    script = "set -eo pipefail\n" + "".join(
        " | ".join(shlex.join(cmd) for cmd in pipeline) + " > /dev/null\n" for pipeline in pipelines
    )
    err_path = out_dir / f"{key}.stderr"
    sample = run_measured([bash, "-c", script], out_dir / f"{key}.out", err_path, out_dir)
    if sample.exit_code != 0:
        tail = err_path.read_text(errors="replace")[-1500:]
        raise BenchError(f"baseline {key} failed (exit {sample.exit_code}):\n{script[:1500]}{tail}")
    sample.maxrss_kib = 0  # the largest of bash, tar and gzip: not what the baselines are about
    return sample


def gatekeeper_cmd(image: str, policy: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gatekeeper",
        "check",
        image,
        "--policy",
        policy,
        "--format",
        "json",
    ]


# Each measured command is started by a fresh, small interpreter. A child's ru_maxrss is the larger
# of its own peak and the peak of the address space it replaced at exec, i.e. of the process that
# forked it: started straight from this (large) benchmark process, every child would "peak" at our
# size. The helper spawns the command (posix_spawn: vfork + exec) and reports its wait4 rusage.
RSS_HELPER = """
import json, os, sys, time
out = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
err = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
actions = [(os.POSIX_SPAWN_DUP2, out, 1), (os.POSIX_SPAWN_DUP2, err, 2)]
start = time.perf_counter()
pid = os.posix_spawn(sys.argv[3], sys.argv[3:], os.environ, file_actions=actions)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
code = os.waitstatus_to_exitcode(status)
cpu = usage.ru_utime + usage.ru_stime
print(json.dumps({"wall_s": wall, "maxrss_kib": usage.ru_maxrss, "exit_code": code, "cpu_s": cpu}))
"""


def run_measured(cmd: Sequence[str], out_path: Path, err_path: Path, cwd: Path) -> Sample:
    """Wall time, CPU time and the command's own peak RSS, via RSS_HELPER (cmd[0]: a path)."""
    helper = [sys.executable, "-S", "-c", RSS_HELPER, str(out_path), str(err_path), *cmd]
    load1 = os.getloadavg()[0]
    done = subprocess.run(helper, capture_output=True, text=True, cwd=cwd, check=False)
    if done.returncode != 0:
        raise BenchError(f"the timing helper failed: {done.stderr.strip()[-1500:]}")
    doc = json.loads(done.stdout)
    return Sample(
        float(doc["wall_s"]),
        int(doc["maxrss_kib"]),
        int(doc["exit_code"]),
        cpu_s=float(doc["cpu_s"]),
        load1=load1,
    )


def rss_floor(workdir: Path) -> int:
    """The lowest peak RSS the helper can report (KiB): that of /bin/true spawned by it."""
    true = shutil.which("true") or "/bin/true"
    return run_measured([true], workdir / "true.out", workdir / "true.err", workdir).maxrss_kib


def timed_gatekeeper(cmd: Sequence[str], out_dir: Path, key: str, full: bool) -> Sample:
    """Run one `gatekeeper check`; checks its exit code and JSON report."""
    out_path, err_path = out_dir / f"{key}.json", out_dir / f"{key}.stderr"
    sample = run_measured(cmd, out_path, err_path, out_dir)
    code = sample.exit_code
    if code not in (0, 1):
        tail = err_path.read_text(errors="replace")[-2000:]
        raise BenchError(f"`{' '.join(cmd)}` exited {code}:\n{tail}")
    try:
        report = json.loads(out_path.read_text())
    except ValueError as exc:
        raise BenchError(f"`{' '.join(cmd)}` wrote no JSON report ({exc})") from exc
    if full and "10001" not in json.dumps(report.get("rules", "")):
        raise BenchError(f"{key}: the report shows no /etc/passwd evidence; was the scan skipped?")
    reported = report.get("duration_s")
    sample.reported_s = float(reported) if reported is not None else None
    return sample


# --------------------------------------------------------------------------------------------
# Registry (optional)
# --------------------------------------------------------------------------------------------


def registry_answers(host: str) -> str:
    """'' if http://host/v2/ answers like a registry, else why not."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://{host}/v2/", timeout=3) as resp:
            resp.read()
            return ""
    except urllib.error.HTTPError as exc:
        return "" if exc.code == 401 else f"http://{host}/v2/ answered HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return f"no registry answers at http://{host}/v2/ ({exc})"


def push_to_registry(oci_dir: str, dest: str, tmp: Path) -> float:
    if shutil.which("skopeo") is None:
        raise BenchError("skopeo is not installed (apt-get install skopeo)")
    cmd = [
        "skopeo",
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
        f"oci:{oci_dir}:latest",
        f"docker://{dest}",
    ]
    start = time.perf_counter()
    done = subprocess.run(
        cmd, env={**os.environ, "TMPDIR": str(tmp)}, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"`{' '.join(cmd)}` failed: {done.stderr.strip()[-1500:]}")
    return time.perf_counter() - start


@dataclass
class InProcess:
    label: str
    first_s: float
    samples: list[float]

    @property
    def best(self) -> float:
        return min(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


def time_in_process(label: str, image: str, policy: str, runs: int) -> InProcess:
    """`api.check` in this interpreter: the first call pays imports and connections."""
    from gatekeeper import api
    from gatekeeper.sources import SourceOptions

    options = SourceOptions(environ=dict(os.environ))
    times = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        api.check(image, policies=[policy], options=options)
        times.append(time.perf_counter() - start)
    return InProcess(label, times[0], times[1:])


# --------------------------------------------------------------------------------------------
# Profiling and a per-stage breakdown of the layer pass
# --------------------------------------------------------------------------------------------


def profile_gatekeeper(image: str, key: str, out_dir: Path) -> str:
    prof = out_dir / f"{key}.prof"
    cmd = [
        sys.executable,
        "-m",
        "cProfile",
        "-o",
        str(prof),
        "-m",
        "gatekeeper",
        "check",
        image,
        "--policy",
        "builtin:default",
        "--format",
        "json",
    ]
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=out_dir, check=False)
    text = io.StringIO()
    stats = pstats.Stats(str(prof), stream=text)
    stats.strip_dirs()
    for order in ("cumulative", "tottime"):
        text.write(f"\n==== {key}: top 25 by {order} ====\n")
        stats.sort_stats(order).print_stats(25)
    report = text.getvalue()
    (out_dir / f"{key}.txt").write_text(report)
    return report


def _read_all(handle: IO[bytes], sink: Callable[[bytes], object]) -> None:
    while chunk := handle.read(CHUNK):
        sink(chunk)


class _Seeking:
    """take/skip over a byte range of a file with pread: skip() reads nothing (headers only)."""

    def __init__(self, fd: int, start: int, size: int) -> None:
        self._fd, self._pos, self._end = fd, start, start + size

    def take(self, n: int) -> bytes:
        n = min(n, self._end - self._pos)
        data = os.pread(self._fd, n, self._pos) if n > 0 else b""
        self._pos += len(data)
        return data

    def skip(self, n: int) -> int:
        n = min(n, self._end - self._pos)
        self._pos += n
        return n


def breakdown(gen: Generated) -> dict[str, tuple[float, float]]:
    """Single-threaded, in-process (wall, CPU) seconds of each stage of the layer pass, all layers."""
    import gzip

    from gatekeeper.facts.needs import NOTHING
    from gatekeeper.sources import layers as gk_layers

    blobs = Path(gen.oci_dir) / "blobs" / "sha256"
    paths = [blobs / layer.digest.split(":")[1] for layer in gen.layers]
    stages: dict[str, Callable[[IO[bytes]], object]] = {
        "oci: read blobs": lambda h: _read_all(h, len),
        "oci: read + sha256(blob)": lambda h: _read_all(h, hashlib.sha256().update),
        "oci: zlib.decompressobj (1 MiB chunks)": _inflate,
        "oci: gzip.GzipFile.read(1 MiB)": lambda h: _read_all(cast(IO[bytes], gzip.GzipFile(fileobj=h)), len),
        "oci: gatekeeper scan_blob (NOTHING wanted)": lambda h: gk_layers.scan_blob(h),
    }
    result: dict[str, tuple[float, float]] = {}
    for label, stage in stages.items():
        wall, cpu = time.perf_counter(), time.process_time()
        for path in paths:
            with open(path, "rb") as handle:
                stage(handle)
        result[label] = (time.perf_counter() - wall, time.process_time() - cpu)
    with tarfile.open(gen.archive) as outer:
        members = [outer.getmember(layer.archive_member) for layer in gen.layers]
        tar_stages: dict[str, Callable[[IO[bytes]], object]] = {
            "docker-archive: read layers": lambda h: _read_all(h, len),
            "docker-archive: read + sha256": lambda h: _read_all(h, hashlib.sha256().update),
            "docker-archive: gatekeeper scan_blob": lambda h: gk_layers.scan_blob(h),
        }
        for label, stage in tar_stages.items():
            wall, cpu = time.perf_counter(), time.process_time()
            for member in members:
                member_file = outer.extractfile(member)
                assert member_file is not None
                stage(member_file)
            result[label] = (time.perf_counter() - wall, time.process_time() - cpu)
        # The header walk alone: gatekeeper's parse_tar seeking over file data (no read, no hash);
        # scan_tar_range is what the docker-archive source runs (older revisions: parse_tar).
        label = "docker-archive: parse_tar alone, seeking over data"
        try:
            fd = os.open(gen.archive, os.O_RDONLY)
            try:
                wall, cpu = time.perf_counter(), time.process_time()
                scans = []
                for member in members:
                    if hasattr(gk_layers, "scan_tar_range"):
                        scan = gk_layers.scan_tar_range(fd, member.offset_data, member.size, NOTHING, name="")
                    else:
                        scan = gk_layers.LayerScan()
                        seeking = cast(Any, _Seeking(fd, member.offset_data, member.size))
                        gk_layers.parse_tar(seeking, scan, NOTHING)
                    scans.append(scan)
                result[label] = (time.perf_counter() - wall, time.process_time() - cpu)
                if hasattr(gk_layers, "RangeHasher"):  # the diff_id check, in child processes
                    ranges = [(member.offset_data, member.size) for member in members]
                    wall, cpu = time.perf_counter(), time.process_time()
                    with gk_layers.RangeHasher(fd, ranges) as hasher:
                        children = hasher.children
                        hasher.result()
                    kids = f"{children} child" + ("ren" if children != 1 else "")
                    result[f"docker-archive: RangeHasher ({kids}, wall)"] = (
                        time.perf_counter() - wall,
                        time.process_time() - cpu,
                    )
                wall, cpu = time.perf_counter(), time.process_time()
                gk_layers.build_index(scans)
                result["index: build_index over those scans"] = (
                    time.perf_counter() - wall,
                    time.process_time() - cpu,
                )
            finally:
                os.close(fd)
        except (AttributeError, TypeError) as exc:  # layers.py internals changed
            log(f"  ({label}: skipped, {exc})")
    return result


def _inflate(handle: IO[bytes]) -> None:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    while chunk := handle.read(CHUNK):
        inflater.decompress(chunk)
        while inflater.unused_data:  # concatenated gzip members
            rest = inflater.unused_data
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            inflater.decompress(rest)


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def machine_notes(workdir: Path) -> dict[str, Any]:
    notes: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                notes["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                notes["mem_gib"] = round(int(line.split()[1]) / MiB, 1)
    except OSError:
        pass
    for tool, args in (("tar", ["--version"]), ("gzip", ["--version"])):
        try:
            out = subprocess.run([tool, *args], capture_output=True, text=True, check=False)
            notes[tool] = out.stdout.splitlines()[0] if out.stdout else "?"
        except OSError:
            notes[tool] = "missing"
    df = subprocess.run(["df", "-hT", str(workdir)], capture_output=True, text=True, check=False)
    notes["disk"] = df.stdout.splitlines()[-1] if df.stdout else "?"
    usage = shutil.disk_usage(workdir)
    notes["disk_free_gb"] = round(usage.free / 1e9, 1)
    return notes


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def table(measurements: Sequence[Measurement], inproc: Sequence[InProcess]) -> tuple[str, bool]:
    by_key = {m.key: m for m in measurements}
    header = ("measurement", "best s", "median s", "ratio best", "ratio med", "CPU s", "CPU ratio", "RSS MiB")
    rows = [(*header, "target")]
    all_ok = True
    for m in measurements:
        if not m.samples:
            continue
        ratio_best = ratio_med = cpu_ratio = ""
        target = m.target
        if m.baseline and by_key[m.baseline].samples:
            base = by_key[m.baseline]
            rb, rm = m.best / base.best, m.median / base.median
            ratio_best, ratio_med = f"{rb:.2f}x", f"{rm:.2f}x"
            if base.cpu_median:
                cpu_ratio = f"{m.cpu_median / base.cpu_median:.2f}x"
            if m.target:
                ok = rm <= TARGET_SCAN_RATIO and m.maxrss_mib < TARGET_RSS_MIB
                all_ok &= ok
                target = f"{m.target}: {_verdict(ok)}"
        elif m.target:
            ok = m.maxrss_mib < TARGET_RSS_MIB
            all_ok &= ok
            target = f"{m.target}: {_verdict(ok)}"
        rss = f"{m.maxrss_mib:.0f}" if m.maxrss_mib else ""
        rows.append(
            (
                m.label,
                f"{m.best:.3f}",
                f"{m.median:.3f}",
                ratio_best,
                ratio_med,
                f"{m.cpu_median:.2f}",
                cpu_ratio,
                rss,
                target,
            )
        )
    for ip in inproc:
        target = ""
        if "registry" in ip.label:
            ok = ip.median < TARGET_REGISTRY_CONFIG_S
            all_ok &= ok
            target = f"< {TARGET_REGISTRY_CONFIG_S} s: {_verdict(ok)}"
        first = f"(1st call {ip.first_s:.3f} s)"
        rows.append((ip.label, f"{ip.best:.3f}", f"{ip.median:.3f}", "", "", "", "", "", f"{target} {first}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [
            c.ljust(w) if i in (0, len(row) - 1) else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines), all_ok


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def snapshot(rev: str, workdir: Path) -> Path:
    """gatekeeper/ and policies/ as of git `rev`, extracted (once) under workdir."""
    found = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--verify", f"{rev}^{{commit}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode != 0:
        raise BenchError(f"--rev {rev}: not a commit ({found.stderr.strip()})")
    sha = found.stdout.strip()
    dest = workdir / f"src-{sha[:12]}"
    if not (dest / "gatekeeper" / "__init__.py").exists():
        partial = workdir / f"src-{sha[:12]}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        run_pipeline(
            [
                ["git", "-C", str(REPO), "archive", sha, "gatekeeper", "policies"],
                ["tar", "-x", "-C", str(partial)],
            ]
        )
        shutil.rmtree(dest, ignore_errors=True)
        os.replace(partial, dest)
    return dest


def compile_bytecode(package: Path) -> str:
    """Compile the measured package's .pyc, as `pip install` does at install time.

    From a checkout (or a --rev snapshot) nothing else guarantees current bytecode: with
    PYTHONDONTWRITEBYTECODE set, every changed module would be compiled again by every measured
    run (0.1 s on this image's runs after a few edited modules), which no installed user pays.
    """
    done = subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(package)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"cannot compile {package}: {(done.stdout + done.stderr).strip()[-1500:]}")
    return "compiled by compileall before measuring"


def gatekeeper_identity(cwd: Path) -> dict[str, str]:
    """Which gatekeeper the measured commands run (honours PYTHONPATH), and the checkout state."""
    probe = "import gatekeeper; print(gatekeeper.__version__); print(gatekeeper.__file__)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=cwd, check=False)
    if done.returncode != 0:
        raise BenchError(f"cannot import gatekeeper: {done.stderr.strip()[-1500:]}")
    version, path = done.stdout.split()[:2]
    info = {"version": version, "module": path}
    head = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    dirty = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "gatekeeper", "policies"],
        capture_output=True,
        text=True,
        check=False,
    )
    info["bytecode"] = compile_bytecode(Path(path).parent)
    info["checkout_head"] = head.stdout.strip()
    info["checkout_changed_files"] = str(len(dirty.stdout.splitlines()))  # the working tree's
    return info


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time gatekeeper's layer pass on a large synthetic image against raw "
        "tar/gzip baselines (see benchmarks/README.md).",
    )
    parser.add_argument(
        "--size-gb",
        type=float,
        default=1.2,
        help="uncompressed file data to generate, in GB of 10^9 bytes (default 1.2)",
    )
    parser.add_argument("--files", type=int, default=60_000, help="regular files to generate (default 60000)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="interleaved rounds of every measurement (default 3)"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=HERE / "out",
        help="where everything is written (default benchmarks/out/)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the generated image for the next run (default: delete it at "
        "the end; a kept image matching the spec is reused)",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also save results as JSON")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument(
        "--gzip-level",
        type=int,
        default=6,
        choices=range(1, 10),
        metavar="1-9",
        help="gzip level for OCI layers (default 6, the gzip and Go default)",
    )
    parser.add_argument(
        "--registry",
        default="127.0.0.1:5000",
        help="loopback registry for the docker:// checks (default 127.0.0.1:5000)",
    )
    parser.add_argument("--skip-registry", action="store_true", help="skip the registry measurements")
    parser.add_argument(
        "--profile",
        choices=("auto", "always", "never"),
        default="auto",
        help="cProfile gatekeeper and break the layer pass down by stage: "
        "auto = only when a full-scan target is missed",
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="before each sample, wait up to this long for the CPUs to be >= 75%% idle (default 30; "
        "0: don't wait); other work on the machine skews wall times",
    )
    parser.add_argument(
        "--rev",
        metavar="REV",
        help="measure gatekeeper as of this git commit (gatekeeper/ and policies/ extracted under "
        "--workdir, first on PYTHONPATH) instead of the installed, maybe edited, working tree",
    )
    parser.add_argument(
        "--in-process-runs",
        type=int,
        default=10,
        help="warm api.check calls per config-only in-process timing",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.files < 100 or args.size_gb <= 0:
        parser.error("--repeat >= 1, --files >= 100 and --size-gb > 0 please")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    workdir: Path = args.workdir.resolve()
    image_dir, runs_dir, tmp_dir = workdir / "image", workdir / "runs", workdir / "tmp"
    for directory in (workdir, runs_dir, tmp_dir):
        directory.mkdir(parents=True, exist_ok=True)
    spec = Spec(round(args.size_gb * 1e9), args.files, args.seed, args.gzip_level)
    results: dict[str, Any] = {"machine": machine_notes(workdir), "spec": asdict(spec)}
    if args.rev:
        source = snapshot(args.rev, workdir)
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [str(source), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        sys.path.insert(0, str(source))
    results["gatekeeper"] = identity = gatekeeper_identity(runs_dir)
    identity["rev"] = args.rev or ""
    log(
        f"gatekeeper {identity['version']} from {identity['module']} (checkout "
        f"{identity['checkout_head'][:12]}, {identity['checkout_changed_files']} changed files in "
        "gatekeeper/ and policies/)"
    )
    results["machine"]["rss_floor_kib"] = floor = rss_floor(tmp_dir)
    log(f"peak RSS measurement floor (the timing helper spawning /bin/true): {floor} KiB")

    recorded = load_generated(spec, image_dir)
    if recorded is not None:
        log(f"reusing the image in {image_dir} (generated in {recorded.generation_s} s)")
        gen = recorded
    else:
        log(f"generating the image in {image_dir}")
        gen = generate(spec, image_dir)
        save_generated(gen, image_dir)
    results["generated_now"] = recorded is None
    results["image"] = asdict(gen)
    log(
        f"image: {gen.count('files')} files, {gen.count('dirs')} dirs, "
        f"{gen.count('symlinks')} symlinks, {gen.count('hardlinks')} hardlinks, "
        f"{gen.count('whiteouts')} whiteouts; file data {gen.file_bytes / 1e9:.3f} GB, "
        f"layer tars {gen.tar_bytes / 1e9:.3f} GB, gzip -{spec.gzip_level} "
        f"{gen.gzip_bytes / 1e9:.3f} GB ({gen.gzip_bytes / gen.tar_bytes:.0%}); "
        f"generation took {gen.generation_s} s"
    )

    policy = workdir / "config-only.yaml"
    policy.write_text(CONFIG_ONLY_POLICY)
    archive, oci = gen.archive, gen.oci_dir
    blobs = Path(oci) / "blobs" / "sha256"
    blob_paths = [str(blobs / layer.digest.split(":")[1]) for layer in gen.layers]
    docker_ref, oci_ref = f"docker-archive:{archive}", f"oci:{oci}"
    default = "builtin:default"

    def gk(key: str, image: str, pol: str, full: bool) -> Callable[[], Sample]:
        return lambda: timed_gatekeeper(gatekeeper_cmd(image, pol), runs_dir, key, full)

    def shell(key: str, pipelines: list[list[list[str]]]) -> Callable[[], Sample]:
        return lambda: timed_pipelines(pipelines, runs_dir, key)

    scan_target = f"<= {TARGET_SCAN_RATIO}x, RSS < {TARGET_RSS_MIB:.0f}"
    untar = ["tar", "-tf", "-"]
    # coreutils' sha256sum does not use the CPU's SHA extensions; OpenSSL (like Python's hashlib) does.
    sha = ["openssl", "dgst", "-sha256"] if shutil.which("openssl") else ["sha256sum"]
    ms = [
        Measurement(
            "base-docker",
            "baseline docker-archive: tar -xOf | tar -t",
            shell("base-docker", [[["tar", "-xOf", archive, x.archive_member], untar] for x in gen.layers]),
        ),
        Measurement(
            "base-gzip",
            "baseline oci: gzip -dc > /dev/null",
            shell("base-gzip", [[["gzip", "-dc", blob]] for blob in blob_paths]),
        ),
        Measurement(
            "base-oci",
            "baseline oci: gzip -dc | tar -t",
            shell("base-oci", [[["gzip", "-dc", blob], untar] for blob in blob_paths]),
        ),
        Measurement(
            "base-docker-sha",
            f"info: tar -xOf | {sha[0]} (diff_id check)",
            shell("base-docker-sha", [[["tar", "-xOf", archive, x.archive_member], sha] for x in gen.layers]),
        ),
        Measurement(
            "base-oci-sha",
            f"info: {sha[0]} blob; gzip -dc | {sha[0]}",
            shell(
                "base-oci-sha",
                [[[*sha, *blob_paths]]] + [[["gzip", "-dc", blob], sha] for blob in blob_paths],
            ),
        ),
        Measurement(
            "gk-docker",
            "gatekeeper docker-archive (default policy)",
            gk("gk-docker", docker_ref, default, True),
            "base-docker",
            scan_target,
        ),
        Measurement(
            "gk-oci",
            "gatekeeper oci (default policy)",
            gk("gk-oci", oci_ref, default, True),
            "base-oci",
            scan_target,
        ),
        Measurement(
            "gk-docker-config",
            "gatekeeper docker-archive config-only",
            gk("gk-docker-config", docker_ref, str(policy), False),
        ),
        Measurement(
            "gk-oci-config",
            "gatekeeper oci config-only",
            gk("gk-oci-config", oci_ref, str(policy), False),
        ),
    ]

    registry_ref = ""
    if args.skip_registry:
        results["registry"] = {"skipped": "--skip-registry"}
    else:
        import importlib.util

        why = registry_answers(args.registry)
        if not why and importlib.util.find_spec("gatekeeper.sources.registry") is None:
            why = "gatekeeper.sources.registry does not exist yet"
        if why:
            log(f"registry measurements skipped: {why}")
            results["registry"] = {"skipped": why}
        else:
            dest = f"{args.registry}/bench/big:1"
            log(f"pushing the OCI layout to {dest} (skopeo copy)")
            results["registry"] = {"push_s": round(push_to_registry(oci, dest, tmp_dir), 1)}
            registry_ref = f"docker://{dest}"
            ms += [
                Measurement(
                    "gk-registry-config",
                    "gatekeeper registry config-only (subprocess)",
                    gk("gk-registry-config", registry_ref, str(policy), False),
                ),
                Measurement(
                    "gk-registry",
                    "gatekeeper registry (default policy), info",
                    gk("gk-registry", registry_ref, default, True),
                    "base-oci",
                ),
            ]

    ncpu = os.cpu_count() or 1
    if os.getloadavg()[0] > 0.5 * ncpu:
        load = os.getloadavg()[0]
        log(f"warning: the machine is busy (load {load:.1f} on {ncpu} CPUs); wall times will be noisy")
    log("warming the page cache (reading the archive and the blobs once)")
    for path in [archive, *blob_paths]:
        with open(path, "rb") as handle:
            _read_all(handle, len)

    for round_no in range(args.repeat):
        shift = round_no % len(ms)
        for m in ms[shift:] + ms[:shift]:
            idle = wait_for_idle(args.wait_idle)
            sample = m.run()
            sample.idle = idle
            m.samples.append(sample)
            extra = f", CPU {sample.cpu_s:.2f} s, idle before {idle:.0%}, load {sample.load1:.1f}"
            extra += f", RSS {sample.maxrss_kib / 1024:.0f} MiB" if sample.maxrss_kib else ""
            extra += f", reported {sample.reported_s:.3f} s" if sample.reported_s else ""
            log(f"  round {round_no + 1}/{args.repeat}  {m.label}: {sample.wall_s:.3f} s{extra}")

    inproc: list[InProcess] = []
    runs = args.in_process_runs
    inproc.append(time_in_process("in-process config-only docker-archive", docker_ref, str(policy), runs))
    inproc.append(time_in_process("in-process config-only oci", oci_ref, str(policy), runs))
    if registry_ref:
        inproc.append(time_in_process("in-process config-only registry", registry_ref, str(policy), runs))

    text, all_ok = table(ms, inproc)
    log("")
    log(text)
    log("")
    loads = [x.load1 for m in ms for x in m.samples]
    busy = " (busy: wall times are noisy, CPU times less so)"
    idles = [x.idle for m in ms for x in m.samples]
    results["idle_before_samples"] = {"median": statistics.median(idles), "min": min(idles)}
    results["load1"] = {"median": statistics.median(loads), "max": max(loads)}
    log(
        "ratios: gatekeeper / baseline on the same layers, wall (medians judge the target) and CPU "
        "(user + sys, all processes of a pipeline);\nRSS: the gatekeeper process's own peak (wait4); "
        "in-process rows: warm api.check() calls.\n"
        f"load average during the samples: median {statistics.median(loads):.1f}, max {max(loads):.1f} "
        f"on {ncpu} CPUs{busy if max(loads) > 0.5 * ncpu else ''}; CPUs idle before the samples: "
        f"median {statistics.median(idles):.0%}, min {min(idles):.0%}"
    )
    results["measurements"] = [
        {
            "key": m.key,
            "label": m.label,
            "baseline": m.baseline,
            "best_s": round(m.best, 4),
            "median_s": round(m.median, 4),
            "max_rss_mib": round(m.maxrss_mib, 1),
            "samples": [asdict(s) for s in m.samples],
        }
        for m in ms
    ]
    results["in_process"] = [
        {**asdict(ip), "best_s": round(ip.best, 4), "median_s": round(ip.median, 4)} for ip in inproc
    ]
    results["targets_met"] = all_ok

    scans_missed = any(
        m.target
        and m.samples
        and m.baseline
        and (
            m.median / next(b for b in ms if b.key == m.baseline).median > TARGET_SCAN_RATIO
            or m.maxrss_mib >= TARGET_RSS_MIB
        )
        for m in ms
    )
    if args.profile == "always" or (args.profile == "auto" and scans_missed):
        log("\nprofiling (cProfile inflates Python-level costs; read shares, not seconds)")
        profiles = {}
        for key, image in (("profile-docker", docker_ref), ("profile-oci", oci_ref)):
            report = profile_gatekeeper(image, key, runs_dir)
            profiles[key] = str(runs_dir / f"{key}.txt")
            log(report)
        results["profiles"] = profiles
        log("per-stage breakdown of the layer pass, in this process, all layers:")
        stages = breakdown(gen)
        for label, (wall, cpu) in stages.items():
            log(f"  {label:52s} wall {wall:6.2f} s   CPU {cpu:6.2f} s")
        results["breakdown_s"] = {
            k: {"wall": round(w, 3), "cpu": round(c, 3)} for k, (w, c) in stages.items()
        }

    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
        log(f"results saved to {args.json}")
    if not args.keep:
        shutil.rmtree(image_dir, ignore_errors=True)
        log(f"removed {image_dir} (use --keep to reuse it next time)")
    shutil.rmtree(tmp_dir, ignore_errors=True)
    log("all targets met" if all_ok else "some targets were missed")
    return 0 if all_ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        sys.stderr.write(f"benchmark failed: {error}\n")
        sys.exit(2)
