"""One pass over layer blobs: tar headers in, a FileIndex out.

A layer is read exactly once, as a stream (scan_blob): the stored (maybe compressed) bytes are
hashed to verify the blob digest, decompressed (gzip, zstd or none, detected from the magic bytes)
on a reader thread, hashed again to verify the diff_id, and parsed as tar. A plain layer tar that
lies in a file on disk (a `docker save` archive) is parsed in place instead (scan_tar_range):
headers are read, file data is seeked over, and child processes hash the same bytes meanwhile
(RangeHasher, PendingDigests). Either way only headers and the few small files rules asked for
are kept; file data is never stored, never written to disk.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import queue
import re
import select
import struct
import subprocess
import sys
import threading
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, Protocol, cast
from zlib import adler32

from gatekeeper.errors import BadArchive, DigestMismatch
from gatekeeper.facts.image import (
    FileEntry,
    FileIndex,
    FileType,
    Removal,
    ShadowedEntry,
    add_to_tree,
    normalize_path,
)
from gatekeeper.facts.needs import NOTHING, ContentWanted

CHUNK = 1 << 20
BLOCK = 512
MAX_EXTENDED = 1 << 20
"""The largest pax or GNU long name/link header read (Go's archive/tar allows the same): these
are read whole into memory, and a few MB of gzip can declare gigabytes of one."""
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
"""Tar type flags. Every type but FILE is header-only: no data follows, whatever the size field
says (as in Go's archive/tar and tarfile). Unknown flags read as FILE, so their data is skipped."""


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
        return data

    def readable(self) -> bool:
        return True

    @property
    def closed(self) -> bool:
        return False

    def drain(self) -> None:
        while self.read(CHUNK):
            pass


class GzipReader:
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
    """A chunked byte source read through windows (see _Blocks)."""

    def __init__(self, read: Callable[[int], bytes]) -> None:
        self._read = read
        self._buf = b""

    def advance(self, pos: int, need: int) -> tuple[bytes, int] | None:
        buf = self._buf
        if pos > len(buf):  # skip file data the window does not hold, reading it through
            left = pos - len(buf)
            buf, pos = b"", 0
            while left:
                chunk = self._read(min(CHUNK, left))
                if not chunk:
                    self._buf = b""
                    return None
                if len(chunk) > left:  # (a reader may return more than asked: _Prefetch does)
                    buf, pos = chunk, left
                    break
                left -= len(chunk)
        if len(buf) - pos < need:
            pieces = [buf[pos:]]
            have = len(pieces[0])
            while have < need:
                chunk = self._read(max(CHUNK, need - have))
                if not chunk:
                    break
                pieces.append(chunk)
                have += len(chunk)
            buf, pos = b"".join(pieces), 0
        self._buf = buf
        return buf, pos

    def drain(self) -> None:
        self._buf = b""
        while self._read(CHUNK):
            pass


class _RangeReader:
    """Bytes [start, start + size) of a file opened for reading, through windows (see _Blocks).

    Skipping moves an offset: file data is never read, only headers (and wanted small files) are,
    with os.pread in small read-ahead windows so a run of small files costs one call per window.
    """

    READAHEAD = 8 << 10

    def __init__(self, fd: int, start: int, size: int) -> None:
        self._fd = fd
        self._base = start  # file offset of the last window's first byte
        self._end = start + size

    def advance(self, pos: int, need: int) -> tuple[bytes, int] | None:
        offset = self._base + pos
        if offset > self._end:
            return None
        self._base = offset
        want = min(max(need, self.READAHEAD), self._end - offset)
        return (os.pread(self._fd, want, offset) if want > 0 else b""), 0


# Runs in a child interpreter (python -I -S -c): argv = the job pipe's fd, the file's fd, JOB. Takes
# jobs ("INDEX OFFSET LENGTH", JOB bytes each) from the pipe until it is empty and prints "INDEX
# HEX" for each: the children share one queue, so whichever is free takes the next range and they
# finish close together (with a share fixed up front, one could idle while the other still had a
# large range to go). Kept to the standard library and free of gatekeeper imports. Niced: with
# more processes than cores the parser keeps a core of its own and the hashers share the rest,
# then take every core once it is done. Reads of 256 KiB stay in the L2 cache between the copy and
# the hash: 4% less CPU than 4 MiB reads (0.81 s against 0.85 s for the benchmark archive's
# 1.27 GB); mmap windows instead of reads took 1.06-1.26 s.
_HASH_CHILD = """
import hashlib, os, sys
jobs, fd, size = (int(x) for x in sys.argv[1:4])
os.nice(10)
view = memoryview(bytearray(256 << 10))
while job := os.read(jobs, size):
    index, offset, left = (int(x) for x in job.split())
    digest = hashlib.sha256()
    while left:
        n = os.preadv(fd, [view[: min(left, len(view))]], offset)
        if n <= 0:
            sys.exit("short read")
        digest.update(view[:n])
        offset += n
        left -= n
    sys.stdout.write(f"{index} {digest.hexdigest()}\\n")
    sys.stdout.flush()
"""
_HEX64 = re.compile("[0-9a-f]{64}")
JOB = 64
"""Bytes per job in the queue: PIPE_BUF (4,096) is a multiple, so a write of whole jobs up to
PIPE_BUF is atomic and every read of JOB bytes gets one whole job."""


def _hash_range(fd: int, offset: int, size: int) -> str:
    digest = hashlib.sha256()
    while size > 0:
        data = os.pread(fd, min(size, CHUNK), offset)
        if not data:
            raise BadArchive("file ends inside a layer (truncated?)")
        digest.update(data)
        offset += len(data)
        size -= len(data)
    return "sha256:" + digest.hexdigest()


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class RangeHasher:
    """sha256 of byte ranges of an open file, computed by child interpreters while this one parses.

    On a thread the hashing would fight the header parser for the GIL: every 4 MiB step has to
    take the GIL back from a thread that never waits, and waits up to the switch interval each
    time. Measured on 2 cores with 0.9 s of hashing and 1.0 s of parsing: 1.7 s on a thread,
    1.05 s with a child process. With `workers` > 1 that many children share the ranges, each
    taking the largest one left when it is free (a single range is hashed by one). `child` None:
    a child only for 16 MiB or more. Where no child can be started (no preadv, a frozen
    executable, spawn fails) or one fails, result() hashes its ranges here instead, with the
    same errors.
    """

    CHILD_BYTES = 16 << 20
    """Below this much to hash, no child (by default): hashing it here takes less time than
    starting an interpreter (about 25 ms)."""
    PARALLEL_BYTES = 256 << 20
    """Below this much to hash, one child: a second one would cost more to start than it saves."""

    def __init__(
        self,
        fd: int,
        ranges: list[tuple[int, int]],
        *,
        child: bool | None = None,
        workers: int | None = None,
    ) -> None:
        self._fd = os.dup(fd)  # the caller may close its file before result()
        self._ranges = ranges
        self._children: list[subprocess.Popen[bytes]] = []
        total = sum(size for _, size in ranges)
        if child is None:
            child = total >= self.CHILD_BYTES
        frozen = getattr(sys, "frozen", False)
        if not (child and ranges and hasattr(os, "preadv") and sys.executable and not frozen):
            return
        if workers is None:
            workers = min(4, _cpus()) if total >= self.PARALLEL_BYTES else 1
        try:
            jobs, queue = os.pipe()
        except OSError:  # out of file descriptors: result() hashes every range here
            return
        argv = [sys.executable, "-I", "-S", "-c", _HASH_CHILD, str(jobs), str(self._fd), str(JOB)]
        try:
            self._queue(queue)
            for _ in range(min(workers, len(ranges))):
                try:
                    self._children.append(
                        subprocess.Popen(
                            argv,
                            stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL,
                            pass_fds=(jobs, self._fd),
                        )
                    )
                except (OSError, ValueError):
                    break  # the children started take every job; result() hashes any left here
        finally:
            os.close(jobs)

    def _queue(self, queue: int) -> None:
        """Every range into the job pipe, largest first, then the pipe's end (a child reading an
        empty queue gets end-of-file). Whole jobs up to PIPE_BUF per write, without blocking:
        ranges that do not fit (thousands of them) are left for result() to hash here."""
        try:
            os.set_blocking(queue, False)
            order = sorted(range(len(self._ranges)), key=lambda i: -self._ranges[i][1])
            jobs = [f"{i} {self._ranges[i][0]} {self._ranges[i][1]}".encode().ljust(JOB) for i in order]
            per_write = select.PIPE_BUF // JOB
            for start in range(0, len(jobs), per_write):
                os.write(queue, b"".join(jobs[start : start + per_write]))
        except BlockingIOError:
            pass
        finally:
            os.close(queue)

    @property
    def children(self) -> int:
        """How many child processes were started."""
        return len(self._children)

    def result(self) -> list[str]:
        """One "sha256:…" per range, in order."""
        digests: list[str | None] = [None] * len(self._ranges)
        children, self._children = self._children, []
        for proc in children:
            out, _ = proc.communicate()
            # Each line is a whole range's hash, also from a child that stopped later on (a short
            # read): what it did not hash, or hashed wrong, is hashed here, with the same errors.
            for line in out.decode("ascii", "replace").splitlines():
                index, _, hexa = line.partition(" ")
                if index.isdigit() and int(index) < len(digests) and _HEX64.fullmatch(hexa):
                    digests[int(index)] = "sha256:" + hexa
        return [
            digest if digest is not None else _hash_range(self._fd, *self._ranges[index])
            for index, digest in enumerate(digests)
        ]

    def close(self) -> None:
        children, self._children = self._children, []
        for proc in children:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> RangeHasher:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class PendingDigests:
    """diff_id checks of layers whose bytes a RangeHasher is still hashing.

    check() settles them (DigestMismatch on a difference). Used as a context manager (or pushed on
    an ExitStack) they are checked on a normal exit, and the hasher is closed on any exit: after
    an exception nothing is checked and the child is stopped.
    """

    def __init__(self, hasher: RangeHasher) -> None:
        self._hasher = hasher
        self._expected: list[tuple[int, LayerScan, str, str, str | None]] = []

    def expect(
        self, index: int, scan: LayerScan, *, diff_id: str, name: str, digest: str | None = None
    ) -> None:
        """The hasher's range `index` holds `scan`'s layer, which the config says is `diff_id`
        (and, stored under a content-addressed name, whose bytes hash to `digest`)."""
        self._expected.append((index, scan, diff_id, name, digest))

    def check(self) -> None:
        expected, self._expected = self._expected, []
        if not expected:
            return
        digests = self._hasher.result()
        for index, scan, diff_id, name, digest in expected:
            scan.digest = scan.diff_id = digests[index]
            verify(scan, digest=digest, diff_id=diff_id, name=name)

    def __enter__(self) -> PendingDigests:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        try:
            if exc_type is None:
                self.check()
        finally:
            self._hasher.close()


def compression_of(head: bytes) -> str:
    """What a blob's first 4 bytes say: "gzip", "zstd" or "" (a plain tar, or anything else)."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return ""


def compression_at(fd: int, offset: int) -> str:
    """compression_of the bytes at `offset` of a file."""
    return compression_of(os.pread(fd, 4, offset))


def scan_tar_range(
    fd: int, start: int, size: int, wanted: ContentWanted = NOTHING, *, name: str
) -> LayerScan:
    """Parse a plain (uncompressed) layer tar lying at [start, start + size) of a file.

    Headers are read and file data is seeked over: on the benchmark image, mostly small files,
    21,510 reads of 176 MB for 1,266 MB of layers (14%; read-ahead pulls small files along). The
    hashes are left empty: verify the diff_id with a RangeHasher over the same range.
    """
    scan = LayerScan(compressed_size=size)
    try:
        parse_tar(_RangeReader(fd, start, size), scan, wanted)
    except BadArchive as exc:
        raise type(exc)(f"{name}: {exc}") from None
    except OSError as exc:
        raise BadArchive(f"{name}: cannot read: {exc.strerror or exc}") from exc
    return scan


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
                # zstandard's own error: every reader of zstd data already names the archive or
                # layer and says "cannot decompress (zstd)" for it
                import zstandard

                raise zstandard.ZstdError("data continues with something that is not a zstd frame")
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


class _Observed:
    """A stream's reads, each also shown to `observe`."""

    def __init__(self, raw: Readable, observe: Callable[[bytes], None]) -> None:
        self._raw = raw
        self._observe = observe

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._observe(data)
        return data


def zstd_reader(raw: Readable) -> tuple[Readable, _ZstdFrames]:
    """A zstd decompressing reader over `raw`, and the frame tracker to ask, once the reader is
    drained, whether the stream was complete (zstandard reads a frame cut off mid-way as a clean
    end). zstandard errors are zstandard.ZstdError."""
    import zstandard

    frames = _ZstdFrames()
    observed = cast(IO[bytes], _Observed(raw, frames.feed))
    return zstandard.ZstdDecompressor().stream_reader(observed, read_across_frames=True), frames


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


def _text(raw: bytes) -> str:
    """A name from a tar header as text. Bytes that are not UTF-8 become U+FFFD: names are only
    ever shown and matched, never used on a filesystem, and every report must be valid UTF-8."""
    return raw.decode("utf-8", "replace")


def _cstr(field_bytes: bytes) -> str:
    return _text(field_bytes.split(b"\0", 1)[0])


def _pax_int(pax: dict[str, bytes], key: str, default: int) -> int:
    if key not in pax:
        return default
    try:
        return int(pax[key])
    except ValueError:
        raise BadArchive(f"layer is not a valid tar: bad pax {key} {_text(pax[key][:20])!r}") from None


def _pax(data: bytes) -> dict[str, bytes]:
    records: dict[str, bytes] = {}
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
        records[key.decode("utf-8", "replace")] = value
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


class _Blocks(Protocol):
    """Where parse_tar reads from: a window of bytes at a time, with no call per header.

    advance(pos, need): the parser is at index `pos` of the last window it was given (past its
    end when it skips file data the window does not hold; 0 at the start). Returns the next
    window and the index in it of the byte at that position, with at least `need` bytes from
    there unless the data ends first; None when the data ends before that position.
    """

    def advance(self, pos: int, need: int, /) -> tuple[bytes, int] | None: ...


# name mode uid gid size mtime chksum typeflag linkname magic+version uname gname devmajor devminor
# prefix: the ustar header, one unpack per entry.
_USTAR = struct.Struct("100s8s8s8s12s12x8sc100s8s64x16x155s12x")
_ZERO_BLOCK = bytes(BLOCK)
_EXTENDED = frozenset((b"L", b"K", b"x", b"g"))


def _byte_sum(block: bytes) -> int:
    """sum(block) for a 512-byte block, about four times faster: the low half of an Adler-32 is
    1 + the byte sum modulo 65521, and 256 bytes sum to at most 65,280, so each half is exact."""
    return (adler32(block[:256]) & 0xFFFF) + (adler32(block[256:]) & 0xFFFF) - 2


def parse_tar(buf: _Blocks, scan: LayerScan, wanted: ContentWanted) -> None:
    """Read tar headers from `buf`, filling `scan`. Data is skipped unless wanted.

    Called for every entry of every layer, so the common case (plain octal fields, a name without
    `./`, `//` or `..`, no pax record) takes the shortest path; everything else falls back to the
    general code.
    """
    long_name: str | None = None
    long_link: bytes | None = None
    pax: dict[str, bytes] = {}
    first = True
    entries = scan.entries
    unpack = _USTAR.unpack
    file_type = FileType.FILE
    advance = buf.advance
    keep = wanted.test
    window, pos = b"", 0  # headers are sliced from the window: no call per header

    def take(n: int) -> bytes:  # n bytes of data (an extended header, a wanted file): rare
        nonlocal window, pos
        if pos + n > len(window):
            window, pos = advance(pos, n) or (b"", 0)  # (never None: pos is inside the window)
        data = window[pos : pos + n]
        pos += n
        return data

    while True:
        if pos + BLOCK > len(window):
            window, pos = advance(pos, BLOCK) or (b"", 0)  # (never None: pos is inside the window)
        header = window[pos : pos + BLOCK]
        pos += BLOCK
        if len(header) < BLOCK:
            if not header and first:
                return  # an empty layer (no bytes at all) is valid
            if not header:
                raise BadArchive("layer tar ends without an end-of-archive marker (truncated?)")
            raise BadArchive("layer tar is truncated inside a header")
        first = False
        if header == _ZERO_BLOCK:
            return  # end of archive; caller drains trailing padding
        f_name, f_mode, f_uid, f_gid, f_size, f_sum, typeflag, f_link, f_magic, f_prefix = unpack(header)
        try:
            checksum = int(f_sum.rstrip(b" \0"), 8)
            mode = int(f_mode.rstrip(b" \0"), 8)
            uid = int(f_uid.rstrip(b" \0"), 8)
            gid = int(f_gid.rstrip(b" \0"), 8)
            size = int(f_size.rstrip(b" \0"), 8)
            plain = True
        except ValueError:  # base-256, empty fields, junk after a NUL: the slow way, below
            checksum = _octal(f_sum, "checksum")
            plain = False
        actual = _byte_sum(header) - sum(f_sum) + 256
        # Some old tars summed signed chars; tarfile and Go accept both.
        if checksum != actual and checksum != actual - 256 * sum(
            1 for b in header[:148] + header[156:] if b & 0x80
        ):
            raise BadArchive("layer is not a valid tar: header checksum mismatch")
        if not plain:
            mode = _octal(f_mode, "mode")
            uid = _octal(f_uid, "uid")
            gid = _octal(f_gid, "gid")
            size = _octal(f_size, "size")
        ftype = _TYPES.get(typeflag, file_type)
        if pax:
            size = _pax_int(pax, "size", size)
            uid = _pax_int(pax, "uid", uid)
            gid = _pax_int(pax, "gid", gid)
        if ftype is not file_type:
            size = 0  # no data follows these, whatever the size field says
        elif size < 0:
            raise BadArchive("layer is not a valid tar: negative size")
        padded = (size + 511) & ~511
        if typeflag in _EXTENDED:
            if size > MAX_EXTENDED:
                raise BadArchive(f"layer is not a valid tar: extended header of {size} bytes (at most 1 MiB)")
            data = take(padded)
            if len(data) < padded:
                raise BadArchive("layer tar is truncated inside an extended header")
            data = data[:size]
            if typeflag == b"L":
                long_name = _cstr(data)
            elif typeflag == b"K":
                long_link = data.split(b"\0", 1)[0]
            elif typeflag == b"x":
                pax = _pax(data)
            continue  # global pax headers ('g') carry nothing we use
        name = _text(f_name.partition(b"\0")[0])
        if f_prefix[0] and f_magic.startswith(b"ustar\0"):
            name = _cstr(f_prefix) + "/" + name
        if long_name is not None:
            name = long_name
        link_raw = long_link if long_link is not None else f_link.partition(b"\0")[0]
        if pax:
            if "path" in pax:
                name = _text(pax["path"])
            link_raw = pax.get("linkpath", link_raw)
            pax = {}
        link = _text(link_raw) if link_raw else ""
        long_name = long_link = None
        if typeflag == b"\0" and name.endswith("/"):
            ftype = FileType.DIR  # pre-POSIX tars mark directories by a trailing slash only
            size = padded = 0
        path = _clean_path(name)
        whiteout = WHITEOUT in path and path[path.rfind("/") + 1 :].startswith(WHITEOUT)
        if ftype is file_type and not whiteout and keep(path, size):
            data = take(padded)
            if len(data) < padded:
                raise BadArchive(f"layer tar is truncated inside {path}")
            scan.contents[path] = data[:size]
        elif padded:
            pos += padded
            if pos > len(window):
                ahead = advance(pos, BLOCK)
                if ahead is None:
                    raise BadArchive(f"layer tar is truncated inside {path}")
                window, pos = ahead
        if whiteout:
            parent, _, base = path.rpartition("/")
            parent = parent or "/"
            if base == OPAQUE:
                scan.opaque_dirs.append(parent)
            else:
                scan.whiteouts.append(posixpath.join(parent, base[len(WHITEOUT) :]))
            continue
        if ftype is file_type:
            scan.size += size
        elif ftype is FileType.HARDLINK:
            link = normalize_path(link)
        elif ftype is FileType.SYMLINK:
            scan.size += len(link_raw)  # the target's bytes, as `docker images` counts them
        if path != "/":
            entries.append((path, ftype, size, mode & 0o7777, uid, gid, link))


def scan_blob(
    raw: Readable,
    wanted: ContentWanted = NOTHING,
    *,
    name: str = "layer",
    head: bytes = b"",
) -> LayerScan:
    """Scan one layer blob as stored: detect compression, hash both forms, parse the tar.
    `head`: the blob's first bytes, when the caller has read them from `raw` already."""
    if len(head) < 4:
        head += raw.read(4 - len(head))
    blob = _HashingReader(raw, head)
    scan = LayerScan()
    stream: Readable
    frames: _ZstdFrames | None = None
    scan.compression = compression_of(head)
    if scan.compression == "gzip":
        stream = GzipReader(blob)
    elif scan.compression == "zstd":
        stream, frames = zstd_reader(blob)
    else:
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


def verify(
    scan: LayerScan, *, digest: str | None, diff_id: str | None, name: str, size: int | None = None
) -> None:
    """Check the hashes (and the stored size) computed while scanning against the ones the
    manifest and config claim. A descriptor size of 0 is a missing one: not checked. Layers are
    hashed with sha256: a digest of another algorithm cannot be checked, and is refused."""
    for claimed in (digest, diff_id):
        if claimed and not claimed.startswith("sha256:"):
            algo = claimed.partition(":")[0]
            raise DigestMismatch(
                f"{name}: cannot verify a {algo} digest ({claimed[:24]}...): layers are checked by sha256"
            )
    if digest and scan.digest != digest:
        raise DigestMismatch(f"{name}: blob hashes to {scan.digest}, manifest says {digest}")
    if size and scan.compressed_size != size:
        raise DigestMismatch(f"{name}: blob is {scan.compressed_size} bytes, manifest says {size}")
    if diff_id and scan.diff_id != diff_id:
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
        files, children = self.files, self.children
        for directory in scan.opaque_dirs:
            for child in list(children.get(directory, ())):
                self._remove(child, layer, Removal.DELETED)
        for path in scan.whiteouts:
            self._remove(path, layer, Removal.DELETED)
        directory_type, hardlink = FileType.DIR, FileType.HARDLINK
        make = FileEntry._make  # from a tuple: 0.18 us, where FileEntry(...) takes 0.32 us
        for path, ftype, size, mode, uid, gid, link in scan.entries:
            old = files.get(path)
            if old is not None and not (old.type is directory_type and ftype is directory_type):
                # (a re-declared parent directory is no change worth reporting)
                self._remove(path, layer, Removal.OVERWRITTEN)
            elif old is None and ftype is not directory_type and path in children:
                # a directory known only through its children (no entry of its own) replaced by
                # a file, link or device: its children go with it, as with an explicit directory
                self._remove(path, layer, Removal.OVERWRITTEN)
            if ftype is hardlink:
                target = files.get(link)
                size = target.size if target is not None else 0
            files[path] = make((path, ftype, size, mode, uid, gid, layer, link))
            parent = path[: path.rfind("/")] or "/"  # add_to_tree's first step, inline: per entry
            siblings = children.get(parent)
            if siblings is None:
                add_to_tree(children, path)
            else:
                siblings.add(path)
        for path, data in scan.contents.items():
            self.contents[(layer, path)] = data
        self.sizes.append(scan.size)

    def _remove(self, path: str, layer: int, how: Removal) -> None:
        """Remove `path` and everything under it, recording each file as shadowed by `layer`.

        Iterative (a path can be thousands of levels deep); files are recorded depth first,
        siblings in sorted order, so the order never depends on set iteration.
        """
        parent = self.children.get(posixpath.dirname(path))
        if parent is not None:
            parent.discard(path)
        files, children, shadowed = self.files, self.children, self.shadowed
        stack = [path]
        while stack:
            current = stack.pop()
            old = files.pop(current, None)
            if old is not None and old.type is not FileType.DIR:
                shadowed.append(ShadowedEntry(old, layer, how))
            below = children.pop(current, None)
            if below:
                stack.extend(sorted(below, reverse=True))

    def build(self) -> FileIndex:
        return FileIndex(
            files=self.files,
            shadowed=tuple(self.shadowed),
            contents=self.contents,
            layer_sizes=tuple(self.sizes),
            tree=self.children,
        )


def build_index(scans: Iterable[LayerScan]) -> FileIndex:
    builder = IndexBuilder()
    for scan in scans:
        builder.add(scan)
    return builder.build()
