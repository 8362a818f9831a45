"""One streaming pass over layer blobs: tar headers in, a FileIndex out.

A layer is read exactly once, as a stream: the stored (maybe compressed) bytes are hashed to verify
the blob digest, decompressed (gzip, zstd or none, detected from the magic bytes), hashed again to
verify the diff_id, and parsed as tar. Only headers and the few small files rules asked for are
kept; file data is skipped, never stored, never written to disk.
"""

from __future__ import annotations

import hashlib
import posixpath
import queue
import threading
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, Protocol, cast

from gatekeeper.errors import BadArchive, DigestMismatch
from gatekeeper.facts.image import (
    FileEntry,
    FileIndex,
    FileType,
    Removal,
    ShadowedEntry,
    normalize_path,
)
from gatekeeper.facts.needs import NOTHING, ContentWanted

CHUNK = 1 << 20
BLOCK = 512
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"

_TYPES = {
    b"0": FileType.FILE,
    b"\0": FileType.FILE,
    b"7": FileType.FILE,
    b"1": FileType.HARDLINK,
    b"2": FileType.SYMLINK,
    b"3": FileType.CHAR,
    b"4": FileType.BLOCK,
    b"5": FileType.DIR,
    b"6": FileType.FIFO,
}


# Entries that never carry data, whatever their size field says (as Go's archive/tar and tarfile).
_HEADER_ONLY = frozenset(
    (
        FileType.HARDLINK,
        FileType.SYMLINK,
        FileType.CHAR,
        FileType.BLOCK,
        FileType.DIR,
        FileType.FIFO,
    )
)


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


@dataclass
class LayerScan:
    """What one layer holds, before it is stacked on the others."""

    entries: list[tuple[str, FileType, int, int, int, int, str]] = field(default_factory=list)
    """(path, type, size, mode, uid, gid, link target) in tar order."""
    whiteouts: list[str] = field(default_factory=list)
    opaque_dirs: list[str] = field(default_factory=list)
    contents: dict[str, bytes] = field(default_factory=dict)
    size: int = 0
    """Bytes as `docker images` counts them: regular files once per inode, plus symlink targets."""
    diff_id: str = ""
    digest: str = ""
    compressed_size: int = 0
    compression: str = ""


class _HashingReader:
    """Reads a stream, hashing and counting every byte that passes."""

    def __init__(self, raw: Readable, prefix: bytes = b"") -> None:
        self._raw = raw
        self._prefix = prefix
        self.hasher = hashlib.sha256()
        self.count = 0
        self.observe: Callable[[bytes], None] | None = None

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""
        if self._prefix:
            data, self._prefix = self._prefix, b""
            if size > 0 and len(data) > size:
                data, self._prefix = data[:size], data[size:]
        else:
            data = self._raw.read(size if size > 0 else CHUNK)
        if data:
            self.hasher.update(data)
            self.count += len(data)
            if self.observe is not None:
                self.observe(data)
        return data

    def readable(self) -> bool:
        return True

    @property
    def closed(self) -> bool:
        return False

    def drain(self) -> None:
        while self.read(CHUNK):
            pass


class _GzipReader:
    """gzip with zlib directly: concatenated members, bounded output per read, truncation checked.

    Faster than gzip.GzipFile (no per-8-KiB Python loop, no separate CRC pass: zlib checks each
    member's trailer itself) and never returns more than CHUNK bytes, whatever the ratio.
    """

    def __init__(self, raw: Readable) -> None:
        self._raw = raw
        self._zlib = zlib.decompressobj(31)

    def read(self, size: int = -1) -> bytes:
        while True:
            if self._zlib.unconsumed_tail:
                data = self._zlib.unconsumed_tail
            elif self._zlib.eof:
                data = self._next_member()
                if not data:
                    return b""  # a complete last member
                self._zlib = zlib.decompressobj(31)
            else:
                data = self._raw.read(CHUNK)
                if not data:
                    raise EOFError("compressed data ends before the end-of-stream marker (truncated?)")
            out = self._zlib.decompress(data, CHUNK)
            if out:
                return out

    def _next_member(self) -> bytes:
        """The bytes after a member; zero padding between or after members is skipped (as gzip does)."""
        data = self._zlib.unused_data
        while True:
            data = data.lstrip(b"\0")
            if data:
                return data
            data = self._raw.read(CHUNK)
            if not data:
                return b""


class _Prefetch:
    """Reads (and so decompresses and hashes) on a worker thread, a few chunks ahead of the parser.

    zlib, zstd and hashlib release the GIL, so on two cores the tar headers are parsed while the
    next chunks are inflated and hashed. The queue bounds memory to `depth` chunks.
    """

    def __init__(self, read: Callable[[int], bytes], depth: int = 4) -> None:
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._run, args=(read,), daemon=True, name="gk-layer")
        self._thread.start()

    def _run(self, read: Callable[[int], bytes]) -> None:
        try:
            while not self._stop.is_set():
                chunk = read(CHUNK)
                self._put(chunk)
                if not chunk:
                    return
        except BaseException as exc:  # handed to the parser's thread, which raises it
            self._put(exc)

    def _put(self, item: bytes | BaseException) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def read(self, size: int = -1) -> bytes:
        if self._done:
            return b""
        item = self._queue.get()
        if isinstance(item, BaseException):
            self._done = True
            raise item
        if not item:
            self._done = True
        return item

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


class _Buffered:
    """Exact-size reads and skips over a chunked byte source."""

    def __init__(self, read: Callable[[int], bytes]) -> None:
        self._read = read
        self._buf = b""
        self._pos = 0

    def _fill(self, need: int) -> None:
        pieces = [self._buf[self._pos :]]
        have = len(pieces[0])
        while have < need:
            chunk = self._read(max(CHUNK, need - have))
            if not chunk:
                break
            pieces.append(chunk)
            have += len(chunk)
        self._buf = b"".join(pieces)
        self._pos = 0

    def take(self, n: int) -> bytes:
        if len(self._buf) - self._pos < n:
            self._fill(n)
        data = self._buf[self._pos : self._pos + n]
        self._pos += len(data)
        return data

    def skip(self, n: int) -> int:
        """Skip up to n bytes (reading them through); returns how many were there."""
        avail = len(self._buf) - self._pos
        if n <= avail:
            self._pos += n
            return n
        skipped = avail
        self._buf, self._pos = b"", 0
        while skipped < n:
            chunk = self._read(min(CHUNK, n - skipped))
            if not chunk:
                break
            if len(chunk) > n - skipped:  # defensive: source returned more than asked
                self._buf, self._pos = chunk, n - skipped
                return n
            skipped += len(chunk)
        return skipped

    def drain(self) -> None:
        self._buf, self._pos = b"", 0
        while self._read(CHUNK):
            pass


class _ZstdFrames:
    """Follows zstd frame boundaries (RFC 8878 frame and block headers) in the compressed bytes.

    zstandard's stream_reader reports a frame cut off mid-way as a clean end of data; this tells a
    complete stream from a truncated one without decompressing anything twice.
    """

    def __init__(self) -> None:
        self._pending = b""  # an incomplete header
        self._want = 4  # header bytes the current state needs
        self._skip = 0  # block content (or checksum, skippable data) still to pass over
        self._state = "magic"
        self._checksum = 0
        self.frames = 0

    @property
    def complete(self) -> bool:
        return self.frames > 0 and self._state == "magic" and not self._pending and not self._skip

    def feed(self, data: bytes) -> None:
        pos, end = 0, len(data)
        while pos < end:
            if self._skip:
                step = min(self._skip, end - pos)
                self._skip -= step
                pos += step
                continue
            need = self._want - len(self._pending)
            self._pending += data[pos : pos + need]
            pos += need
            if len(self._pending) < self._want:
                return
            header, self._pending = self._pending, b""
            self._header(header)

    def _header(self, header: bytes) -> None:
        if self._state == "magic":
            if header == ZSTD_MAGIC:
                self._state, self._want = "descriptor", 1
            elif header[1:] == b"\x2a\x4d\x18" and header[0] & 0xF0 == 0x50:
                self._state, self._want = "skippable", 4
            else:
                raise BadArchive("zstd data continues with something that is not a zstd frame")
        elif self._state == "descriptor":
            fhd = header[0]
            single = bool(fhd & 0x20)
            fcs = (1 if single else 0, 2, 4, 8)[fhd >> 6]
            self._skip = (0 if single else 1) + (0, 1, 2, 4)[fhd & 3] + fcs
            self._checksum = 4 if fhd & 0x04 else 0
            self._state, self._want = "block", 3
        elif self._state == "block":
            value = int.from_bytes(header, "little")
            kind, size = (value >> 1) & 3, value >> 3
            if kind == 3:
                raise BadArchive("zstd data has a reserved block type (corrupt)")
            self._skip = 1 if kind == 1 else size
            if value & 1:  # last block of the frame
                self._skip += self._checksum
                self._state, self._want = "magic", 4
                self.frames += 1
        else:  # skippable frame: 4-byte little-endian length, then that much data
            self._skip = int.from_bytes(header, "little")
            self._state, self._want = "magic", 4


def _octal(field_bytes: bytes, what: str) -> int:
    if field_bytes and field_bytes[0] & 0x80:  # GNU base-256 for large values
        value = int.from_bytes(field_bytes[1:], "big")
        if field_bytes[0] & 0x40:
            value -= 1 << (8 * (len(field_bytes) - 1) + 6)
        return value
    text = field_bytes.split(b"\0", 1)[0].strip(b" \0")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise BadArchive(f"layer is not a valid tar: bad {what} field {text[:20]!r}") from None


def _cstr(field_bytes: bytes) -> str:
    return field_bytes.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _pax_int(pax: dict[str, str], key: str, default: int) -> int:
    if key not in pax:
        return default
    try:
        return int(pax[key])
    except ValueError:
        raise BadArchive(f"layer is not a valid tar: bad pax {key} {pax[key][:20]!r}") from None


def _pax(data: bytes) -> dict[str, str]:
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        if space < 0:
            break
        try:
            length = int(data[pos:space])
        except ValueError:
            raise BadArchive("layer is not a valid tar: bad pax header") from None
        if length <= 0:
            raise BadArchive("layer is not a valid tar: bad pax header")
        record = data[space + 1 : pos + length - 1]
        key, _, value = record.partition(b"=")
        records[key.decode("utf-8", "replace")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return records


def _clean_path(name: str) -> str:
    """normalize_path, with a fast way through for the plain names almost every tar has."""
    if name.startswith("./"):
        name = name[2:]
    if name.endswith("/"):
        name = name.rstrip("/")
    if name and name[0] != "/" and "//" not in name and "/." not in name and not name.startswith("."):
        return "/" + name
    return normalize_path(name)


def parse_tar(buf: _Buffered, scan: LayerScan, wanted: ContentWanted) -> None:
    """Read tar headers from `buf`, filling `scan`. Data is skipped unless wanted."""
    long_name: str | None = None
    long_link: str | None = None
    pax: dict[str, str] = {}
    first = True
    while True:
        header = buf.take(BLOCK)
        if not header:
            if first:
                return  # an empty layer (no bytes at all) is valid
            raise BadArchive("layer tar ends without an end-of-archive marker (truncated?)")
        if len(header) < BLOCK:
            raise BadArchive("layer tar is truncated inside a header")
        first = False
        if header.count(0) == BLOCK:
            return  # end of archive; caller drains trailing padding
        checksum = _octal(header[148:156], "checksum")
        actual = sum(header) - sum(header[148:156]) + 8 * 32
        # Some old tars summed signed chars; tarfile and Go accept both.
        if checksum != actual and checksum != actual - 256 * sum(
            1 for b in header[:148] + header[156:] if b & 0x80
        ):
            raise BadArchive("layer is not a valid tar: header checksum mismatch")
        typeflag = header[156:157]
        ftype = _TYPES.get(typeflag, FileType.FILE)
        size = _pax_int(pax, "size", _octal(header[124:136], "size"))
        if ftype in _HEADER_ONLY:
            size = 0  # no data follows these, whatever the size field says
        if size < 0:
            raise BadArchive("layer is not a valid tar: negative size")
        padded = (size + BLOCK - 1) // BLOCK * BLOCK
        if typeflag in (b"L", b"K", b"x", b"g"):
            data = buf.take(padded)
            if len(data) < padded:
                raise BadArchive("layer tar is truncated inside an extended header")
            data = data[:size]
            if typeflag == b"L":
                long_name = data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            elif typeflag == b"K":
                long_link = data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            elif typeflag == b"x":
                pax = _pax(data)
            continue  # global pax headers ('g') carry nothing we use
        name = _cstr(header[0:100])
        magic = header[257:263]
        if magic == b"ustar\x00":
            prefix = _cstr(header[345:500])
            if prefix:
                name = prefix + "/" + name
        if long_name is not None:
            name = long_name
        name = pax.get("path", name)
        link = long_link if long_link is not None else _cstr(header[157:257])
        link = pax.get("linkpath", link)
        mode = _octal(header[100:108], "mode")
        uid = _pax_int(pax, "uid", _octal(header[108:116], "uid"))
        gid = _pax_int(pax, "gid", _octal(header[116:124], "gid"))
        long_name = long_link = None
        pax = {}
        if typeflag == b"\0" and name.endswith("/"):
            ftype = FileType.DIR  # pre-POSIX tars mark directories by a trailing slash only
        path = _clean_path(name)
        base = path[path.rfind("/") + 1 :]
        keep = ftype is FileType.FILE and not base.startswith(WHITEOUT) and wanted(path, size)
        if keep:
            data = buf.take(padded)
            if len(data) < padded:
                raise BadArchive(f"layer tar is truncated inside {path}")
            scan.contents[path] = data[:size]
        elif padded and buf.skip(padded) < padded:
            raise BadArchive(f"layer tar is truncated inside {path}")
        if base.startswith(WHITEOUT):
            parent = posixpath.dirname(path)
            if base == OPAQUE:
                scan.opaque_dirs.append(parent)
            else:
                scan.whiteouts.append(posixpath.join(parent, base[len(WHITEOUT) :]))
            continue
        if ftype is FileType.HARDLINK:
            link = normalize_path(link)
        elif ftype is FileType.FILE:
            scan.size += size
        elif ftype is FileType.SYMLINK:
            scan.size += len(link.encode("utf-8", "surrogateescape"))
        if path == "/":
            continue
        scan.entries.append((path, ftype, size, mode & 0o7777, uid, gid, link))


def scan_blob(
    raw: Readable,
    wanted: ContentWanted = NOTHING,
    *,
    name: str = "layer",
) -> LayerScan:
    """Scan one layer blob as stored: detect compression, hash both forms, parse the tar."""
    head = raw.read(4)
    blob = _HashingReader(raw, head)
    scan = LayerScan()
    stream: Readable
    frames: _ZstdFrames | None = None
    if head.startswith(GZIP_MAGIC):
        scan.compression = "gzip"
        stream = _GzipReader(blob)
    elif head.startswith(ZSTD_MAGIC):
        import zstandard

        scan.compression = "zstd"
        frames = _ZstdFrames()
        blob.observe = frames.feed
        stream = zstandard.ZstdDecompressor().stream_reader(cast(IO[bytes], blob), read_across_frames=True)
    else:
        scan.compression = ""
        stream = blob
    tar = _HashingReader(stream) if stream is not blob else blob
    prefetch = _Prefetch(tar.read)
    buf = _Buffered(prefetch.read)
    try:
        parse_tar(buf, scan, wanted)
        buf.drain()
        prefetch.close()  # stop the worker before this thread reads the blob too
        if stream is not blob:
            blob.drain()
    except BadArchive as exc:  # say which layer: "<image>: layer <digest>: <what is wrong>"
        raise type(exc)(f"{name}: {exc}") from None
    except (OSError, EOFError, zlib.error) as exc:
        how = f"decompress ({scan.compression})" if scan.compression else "read"
        raise BadArchive(f"{name}: cannot {how}: {exc}") from exc
    except Exception as exc:
        if type(exc).__module__.startswith("zstandard"):
            raise BadArchive(f"{name}: cannot decompress (zstd): {exc}") from exc
        raise
    finally:
        prefetch.close()
    if frames is not None and not frames.complete:
        raise BadArchive(f"{name}: cannot decompress (zstd): data ends inside a frame (truncated?)")
    scan.digest = "sha256:" + blob.hasher.hexdigest()
    scan.diff_id = "sha256:" + tar.hasher.hexdigest()
    scan.compressed_size = blob.count
    return scan


def verify(scan: LayerScan, *, digest: str | None, diff_id: str | None, name: str) -> None:
    """Check the hashes computed while scanning against the ones the manifest and config claim."""
    if digest and digest.startswith("sha256:") and scan.digest != digest:
        raise DigestMismatch(f"{name}: blob hashes to {scan.digest}, manifest says {digest}")
    if diff_id and diff_id.startswith("sha256:") and scan.diff_id != diff_id:
        raise DigestMismatch(f"{name}: uncompressed layer hashes to {scan.diff_id}, config says {diff_id}")


class IndexBuilder:
    """Stacks layer scans in order into one FileIndex (whiteouts, opaque dirs, overwrites)."""

    def __init__(self) -> None:
        self.files: dict[str, FileEntry] = {}
        self.children: dict[str, set[str]] = {}
        self.shadowed: list[ShadowedEntry] = []
        self.contents: dict[tuple[int, str], bytes] = {}
        self.sizes: list[int] = []

    def add(self, scan: LayerScan) -> None:
        layer = len(self.sizes)
        for directory in scan.opaque_dirs:
            for child in list(self.children.get(directory, ())):
                self._remove(child, layer, Removal.DELETED)
        for path in scan.whiteouts:
            self._remove(path, layer, Removal.DELETED)
        for path, ftype, size, mode, uid, gid, link in scan.entries:
            old = self.files.get(path)
            if old is not None:
                if old.type is FileType.DIR and ftype is FileType.DIR:
                    pass  # re-declared parent directory: not a change worth reporting
                else:
                    self._remove(path, layer, Removal.OVERWRITTEN)
            if ftype is FileType.HARDLINK:
                target = self.files.get(link)
                size = target.size if target is not None else 0
            self.files[path] = FileEntry(path, ftype, size, mode, uid, gid, layer, link)
            self._link_parent(path)
        for path, data in scan.contents.items():
            self.contents[(layer, path)] = data
        self.sizes.append(scan.size)

    def _link_parent(self, path: str) -> None:
        while path != "/":
            parent = path.rpartition("/")[0] or "/"
            siblings = self.children.setdefault(parent, set())
            if path in siblings:
                return
            siblings.add(path)
            path = parent

    def _remove(self, path: str, layer: int, how: Removal) -> None:
        for child in list(self.children.pop(path, ())):
            self._remove(child, layer, how)
        old = self.files.pop(path, None)
        if old is not None and old.type is not FileType.DIR:
            self.shadowed.append(ShadowedEntry(old, layer, how))
        parent = self.children.get(posixpath.dirname(path))
        if parent is not None:
            parent.discard(path)

    def build(self) -> FileIndex:
        return FileIndex(
            files=self.files,
            shadowed=tuple(self.shadowed),
            contents=self.contents,
            layer_sizes=tuple(self.sizes),
        )


def build_index(scans: Iterable[LayerScan]) -> FileIndex:
    builder = IndexBuilder()
    for scan in scans:
        builder.add(scan)
    return builder.build()
