"""The streaming layer scanner (`layers.scan_blob`) and the layer stacker (`layers.build_index`)."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import random
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import hypothesis
import pytest
import zstandard
from hypothesis import strategies as st

from gatekeeper.errors import BadArchive, DigestMismatch
from gatekeeper.facts.image import FileEntry, FileIndex, FileType, Removal, ShadowedEntry
from gatekeeper.facts.needs import NOTHING, ContentWanted
from gatekeeper.sources import layers as layers_module
from gatekeeper.sources.layers import (
    _HASH_CHILD,
    CHUNK,
    JOB,
    MAX_EXTENDED,
    LayerScan,
    PendingDigests,
    RangeHasher,
    _byte_sum,
    _HashingReader,
    _RangeReader,
    build_index,
    compression_at,
    scan_blob,
    scan_tar_range,
    verify,
)
from tests.imagegen import (
    Compression,
    F,
    compress,
    directory,
    exe,
    file,
    hardlink,
    layer_tar,
    layer_tar_format,
    opaque,
    sha256,
    symlink,
    whiteout,
)

Row = tuple[str, FileType, int, int, int, int, str]


@contextmanager
def embedded(data: bytes, before: int = 1234, after: int = 777) -> Iterator[int]:
    """A file descriptor of a temporary file holding `data` at offset `before`, between junk."""
    junk = random.Random(len(data))
    with tempfile.TemporaryFile() as handle:
        handle.write(junk.randbytes(before) + data + junk.randbytes(after))
        handle.flush()
        yield handle.fileno()


def scan_in_place(data: bytes, wanted: ContentWanted = NOTHING, *, name: str = "layer") -> LayerScan:
    """scan_tar_range over `data` lying inside a larger file (as a layer inside a docker save tar)."""
    with embedded(data) as fd:
        return scan_tar_range(fd, 1234, len(data), wanted, name=name)


def same_layer(streamed: LayerScan, in_place: LayerScan) -> None:
    """What both readers of a plain layer must agree on (the hashes are the RangeHasher's job)."""
    assert in_place.entries == streamed.entries
    assert in_place.whiteouts == streamed.whiteouts
    assert in_place.opaque_dirs == streamed.opaque_dirs
    assert in_place.contents == streamed.contents
    assert in_place.size == streamed.size
    assert in_place.compressed_size == streamed.compressed_size


def scan(entries: list[F], compression: Compression = "none", wanted: ContentWanted = NOTHING) -> LayerScan:
    """scan_blob; for a plain layer also scan_tar_range, which must read it the same."""
    stored = compress(layer_tar(entries), compression)
    result = scan_blob(io.BytesIO(stored), wanted)
    if compression == "none":
        same_layer(result, scan_in_place(stored, wanted))
    return result


def stack(*layers: list[F], wanted: ContentWanted = NOTHING) -> FileIndex:
    return build_index(scan(entries, wanted=wanted) for entries in layers)


def raw_tar(infos: list[tuple[tarfile.TarInfo, bytes | None]], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for info, data in infos:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def info(name: str, kind: bytes = tarfile.REGTYPE, size: int = 0, link: str = "") -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type, ti.size, ti.linkname, ti.mode = kind, size, link, 0o644
    return ti


def entry(
    path: str,
    ftype: FileType,
    size: int,
    layer: int,
    mode: int = 0o644,
    link: str = "",
) -> FileEntry:
    return FileEntry(path, ftype, size, mode, 0, 0, layer, link)


def read_raw(stored: bytes, wanted: ContentWanted = NOTHING) -> LayerScan:
    """scan_blob over stored bytes; when they are a plain tar, scan_tar_range must agree."""
    result = scan_blob(io.BytesIO(stored), wanted)
    if compression_at_start(stored) == "":
        same_layer(result, scan_in_place(stored, wanted))
    return result


def compression_at_start(stored: bytes) -> str:
    with embedded(stored, 0, 0) as fd:
        return compression_at(fd, 0)


def bad(data: bytes, wanted: ContentWanted = NOTHING) -> str:
    """Scan `data`, which must fail with exactly BadArchive and a one-line message (the same one
    from scan_tar_range, when `data` is not compressed)."""
    with pytest.raises(BadArchive) as caught:
        scan_blob(io.BytesIO(data), wanted, name="layer X")
    assert type(caught.value) is BadArchive
    message = str(caught.value)
    assert message
    assert "\n" not in message
    if compression_at_start(data) == "":
        with pytest.raises(BadArchive) as in_place:
            scan_in_place(data, wanted, name="layer X")
        assert type(in_place.value) is BadArchive
        assert str(in_place.value) == message
    return message


# --- one layer: what each tar entry becomes -------------------------------------------------


@pytest.mark.parametrize(
    ("entries", "rows"),
    [
        pytest.param(
            [file("/etc/passwd", "abc", 0o600, 1, 2)],
            [("/etc/passwd", FileType.FILE, 3, 0o600, 1, 2, "")],
            id="regular-file",
        ),
        pytest.param(
            [exe("/bin/tool", "#!x"), file("/bin/suid", "", 0o4755)],
            [
                ("/bin/tool", FileType.FILE, 3, 0o755, 0, 0, ""),
                ("/bin/suid", FileType.FILE, 0, 0o4755, 0, 0, ""),
            ],
            id="exec-and-setuid-modes",
        ),
        pytest.param(
            [directory("/srv", 0o750, 5, 6)],
            [("/srv", FileType.DIR, 0, 0o750, 5, 6, "")],
            id="directory",
        ),
        pytest.param(
            [symlink("/bin/sh", "busybox"), symlink("/lib", "/usr/lib")],
            [
                ("/bin/sh", FileType.SYMLINK, 0, 0o777, 0, 0, "busybox"),
                ("/lib", FileType.SYMLINK, 0, 0o777, 0, 0, "/usr/lib"),
            ],
            id="symlinks-kept-as-written",
        ),
        pytest.param(
            [file("/a", "12345"), hardlink("/b", "/a")],
            [
                ("/a", FileType.FILE, 5, 0o644, 0, 0, ""),
                ("/b", FileType.HARDLINK, 0, 0o644, 0, 0, "/a"),
            ],
            id="hardlink-target-made-absolute",
        ),
        pytest.param(
            [file("/u", "x", 0o640, 3_000_000, 4_000_000)],
            [("/u", FileType.FILE, 1, 0o640, 3_000_000, 4_000_000, "")],
            id="large-uid-gid-via-pax",
        ),
        pytest.param(
            [F("./", kind="dir"), directory("./etc"), file("./etc//hosts", "h")],
            [
                ("/etc", FileType.DIR, 0, 0o755, 0, 0, ""),
                ("/etc/hosts", FileType.FILE, 1, 0o644, 0, 0, ""),
            ],
            id="root-entry-dropped-paths-normalised",
        ),
    ],
)
def test_entries(entries: list[F], rows: list[Row]) -> None:
    result = scan(entries)
    assert result.entries == rows
    assert result.whiteouts == []
    assert result.opaque_dirs == []


def test_special_files() -> None:
    char = info("dev/null", tarfile.CHRTYPE)
    char.devmajor, char.devminor = 1, 3
    data = raw_tar(
        [
            (char, None),
            (info("dev/sda", tarfile.BLKTYPE), None),
            (info("run/fifo", tarfile.FIFOTYPE), None),
            (info("weird", tarfile.CONTTYPE, 2), b"ab"),
        ]
    )
    result = read_raw(data)
    assert [(p, t, s) for p, t, s, *_ in result.entries] == [
        ("/dev/null", FileType.CHAR, 0),
        ("/dev/sda", FileType.BLOCK, 0),
        ("/run/fifo", FileType.FIFO, 0),
        ("/weird", FileType.FILE, 2),
    ]
    assert result.size == 2


def test_header_only_entries_carry_no_data_whatever_their_size_field() -> None:
    # tarfile and Go's archive/tar never read data after a link, dir or device header.
    data = raw_tar(
        [
            (info("a", size=3), b"abc"),
            (info("b", tarfile.LNKTYPE, 3, "a"), None),
            (info("s", tarfile.SYMTYPE, 700, "a"), None),
            (info("d", tarfile.DIRTYPE, 1024), None),
            (info("c", size=1), b"c"),
        ]
    )
    with tarfile.open(fileobj=io.BytesIO(data)) as check:
        assert check.getnames() == ["a", "b", "s", "d", "c"]
    result = read_raw(data)
    assert [(p, t, s) for p, t, s, *_ in result.entries] == [
        ("/a", FileType.FILE, 3),
        ("/b", FileType.HARDLINK, 0),
        ("/s", FileType.SYMLINK, 0),
        ("/d", FileType.DIR, 0),
        ("/c", FileType.FILE, 1),
    ]
    assert result.size == 3 + 1 + 1  # a, c and the symlink target "a"


def test_pre_posix_directory_with_trailing_slash() -> None:
    data = raw_tar([(info("olddir/", tarfile.AREGTYPE), None), (info("olddir/f", size=1), b"x")])
    rows = read_raw(data).entries
    assert [(p, t) for p, t, *_ in rows] == [
        ("/olddir", FileType.DIR),
        ("/olddir/f", FileType.FILE),
    ]


def test_pre_posix_directory_with_a_size_field_carries_no_data() -> None:
    """As tarfile reads it: a directory has no data, whatever its size field says."""
    data = bytearray(raw_tar([(info("olddir/", tarfile.AREGTYPE), None), (info("olddir/f", size=1), b"x")]))
    data[124:136] = b"00000001000\0"  # size 512: the next header would be skipped as data
    data[148:156] = b"        "
    data[148:156] = b"%06o\0 " % sum(data[:512])
    with tarfile.open(fileobj=io.BytesIO(bytes(data))) as tar:
        assert [m.name for m in tar.getmembers()] == ["olddir", "olddir/f"]
    rows = read_raw(bytes(data)).entries
    assert [(p, t, size) for p, t, size, *_ in rows] == [
        ("/olddir", FileType.DIR, 0),
        ("/olddir/f", FileType.FILE, 1),
    ]


def test_whiteouts_and_opaque_markers_are_not_entries() -> None:
    result = scan([whiteout("/etc/motd"), whiteout("/.dockerenv"), opaque("/var/cache"), file("/x")])
    assert result.whiteouts == ["/etc/motd", "/.dockerenv"]
    assert result.opaque_dirs == ["/var/cache"]
    assert [row[0] for row in result.entries] == ["/x"]


# --- names longer than the 100-byte header field --------------------------------------------

LONG_DIR = "/opt/" + "/".join(["d" * 30] * 5)  # 159 characters
LONG_FILE = LONG_DIR + "/" + "f" * 120
LONG_TARGET = "/usr/share/" + "t" * 140


@pytest.mark.parametrize(
    "fmt",
    [
        pytest.param(tarfile.PAX_FORMAT, id="pax"),
        pytest.param(tarfile.GNU_FORMAT, id="gnu-longname"),
    ],
)
def test_long_names(fmt: int) -> None:
    assert len(LONG_FILE) > 250
    data = layer_tar_format(
        [
            file(LONG_FILE, "long", 0o600, 3_000_000, 7),
            symlink(LONG_DIR + "/link", LONG_TARGET),
            hardlink("/short", LONG_FILE),
        ],
        fmt,
    )
    if fmt == tarfile.GNU_FORMAT:
        assert b"././@LongLink" in data
    else:
        assert b"././@LongLink" not in data
        assert b" path=" in data
    result = read_raw(data)
    assert result.entries == [
        (LONG_FILE, FileType.FILE, 4, 0o600, 3_000_000, 7, ""),
        (LONG_DIR + "/link", FileType.SYMLINK, 0, 0o777, 0, 0, LONG_TARGET),
        ("/short", FileType.HARDLINK, 0, 0o644, 0, 0, LONG_FILE),
    ]
    assert result.size == 4 + len(LONG_TARGET)


def test_ustar_prefix_field() -> None:
    name = "/usr/" + "p" * 120 + "/name.txt"
    data = layer_tar_format([file(name, "u")], tarfile.USTAR_FORMAT)
    assert data[345:350] == b"usr/p"  # the split really used the prefix field
    assert read_raw(data).entries == [(name, FileType.FILE, 1, 0o644, 0, 0, "")]


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_names_that_are_not_utf8(fmt: int) -> None:
    """Raw Latin-1 bytes in names and link targets: shown as U+FFFD (every report must be valid
    UTF-8); a symlink still counts its target's bytes, as `docker images` does."""
    data = layer_tar_format([file("/caf\udce9", "x"), symlink("/s", "t\udce9rget")], fmt)
    assert b"caf\xe9" in data
    result = read_raw(data)
    assert [(row[0], row[6]) for row in result.entries] == [("/caf\ufffd", ""), ("/s", "t\ufffdrget")]
    assert result.size == 1 + len(b"t\xe9rget")


def test_signed_checksum_accepted() -> None:
    data = bytearray(layer_tar_format([file("/caf\u00e9", "x")], tarfile.USTAR_FORMAT))
    header = data[:512]
    signed = sum(b - 256 if b & 0x80 else b for b in header[:148] + header[156:]) + 256
    data[148:156] = b"%06o\0 " % signed
    assert [row[0] for row in read_raw(bytes(data)).entries] == ["/caf\u00e9"]


# --- sizes, hashes and compression ----------------------------------------------------------


@pytest.mark.parametrize(
    ("entries", "size"),
    [
        pytest.param([], 0, id="empty-tar"),
        pytest.param([file("/a", "12345"), file("/b", "")], 5, id="files"),
        pytest.param([directory("/d"), directory("/d/e")], 0, id="dirs-count-nothing"),
        pytest.param([symlink("/l", "target")], 6, id="symlink-target-length"),
        pytest.param(
            [file("/a", "1234567"), hardlink("/h1", "/a"), hardlink("/h2", "/a")],
            7,
            id="hardlinks-once",
        ),
        pytest.param([file("/\u00e9", "x"), symlink("/s", "\u00e9t\u00e9")], 1 + 5, id="utf8-target-bytes"),
        pytest.param([file("/a", "xx"), whiteout("/gone"), opaque("/o")], 2, id="markers-count-nothing"),
    ],
)
def test_layer_size(entries: list[F], size: int) -> None:
    assert scan(entries).size == size


@pytest.mark.parametrize(("how", "name"), [("none", ""), ("gzip", "gzip"), ("zstd", "zstd")])
def test_compression_detected_and_hashed(how: Compression, name: str) -> None:
    tar = layer_tar(
        [directory("/app"), file("/app/main.py", "print(1)\n" * 50), symlink("/app/l", "main.py")]
    )
    stored = compress(tar, how)
    result = read_raw(stored)
    assert result.compression == name
    assert result.digest == sha256(stored)
    assert result.diff_id == sha256(tar)
    assert result.compressed_size == len(stored)
    assert result.size == 450 + 7
    assert [row[0] for row in result.entries] == ["/app", "/app/main.py", "/app/l"]
    if how == "none":
        assert result.digest == result.diff_id


@pytest.mark.parametrize(
    ("stored", "compression"),
    [
        pytest.param(b"", "", id="zero-bytes"),
        pytest.param(layer_tar([]), "", id="end-marker-only"),
        pytest.param(b"\0" * 512, "", id="single-zero-block"),
        pytest.param(gzip.compress(b""), "gzip", id="gzip-of-nothing"),
        pytest.param(gzip.compress(layer_tar([])), "gzip", id="gzip-empty-tar"),
        pytest.param(compress(layer_tar([]), "zstd"), "zstd", id="zstd-empty-tar"),
    ],
)
def test_empty_layers_are_valid(stored: bytes, compression: str) -> None:
    result = read_raw(stored)
    assert (result.entries, result.size, result.compression) == ([], 0, compression)
    assert result.digest == sha256(stored)
    assert result.compressed_size == len(stored)


def test_gzip_zero_padding_after_last_member_is_accepted() -> None:
    stored = compress(LAYER, "gzip") + b"\0" * 16
    result = read_raw(stored)
    assert result.diff_id == sha256(LAYER)
    assert result.digest == sha256(stored)


def test_trailing_padding_after_end_marker_is_hashed() -> None:
    tar = layer_tar([file("/a", "x")]) + b"\0" * 4096
    result = read_raw(tar)
    assert result.diff_id == sha256(tar)
    assert result.compressed_size == len(tar)


LAYER = layer_tar([directory("/d"), file("/d/big", bytes(range(256)) * 64), file("/d/small", "s")])


@pytest.mark.parametrize(
    "stored",
    [
        pytest.param(gzip.compress(LAYER[:700]) + gzip.compress(LAYER[700:]), id="multi-member-gzip"),
        pytest.param(
            b"".join(gzip.compress(LAYER[i : i + 1000]) for i in range(0, len(LAYER), 1000)),
            id="many-gzip-members",
        ),
        pytest.param(
            zstandard.ZstdCompressor().compress(LAYER[:5000])
            + zstandard.ZstdCompressor(write_checksum=True).compress(LAYER[5000:]),
            id="multi-frame-zstd",
        ),
        pytest.param(
            zstandard.ZstdCompressor().compress(LAYER[:100])
            + b"\x50\x2a\x4d\x18\x03\0\0\0abc"  # a skippable frame
            + zstandard.ZstdCompressor().compress(LAYER[100:]),
            id="zstd-skippable-frame",
        ),
        pytest.param(
            zstandard.ZstdCompressor(write_content_size=False).compress(LAYER),
            id="zstd-without-content-size",
        ),
    ],
)
def test_multi_member_streams(stored: bytes) -> None:
    result = read_raw(stored, ContentWanted(paths=frozenset({"/d/big"})))
    assert result.diff_id == sha256(LAYER)
    assert result.digest == sha256(stored)
    assert result.contents == {"/d/big": bytes(range(256)) * 64}
    assert [row[0] for row in result.entries] == ["/d", "/d/big", "/d/small"]


def test_wanted_file_larger_than_read_chunk() -> None:
    big = bytes(range(251)) * (CHUNK // 251 + 2000)
    assert len(big) > CHUNK
    tar = layer_tar([file("/before", "b"), file("/big.bin", big), file("/after", "a")])
    wanted = ContentWanted(paths=frozenset({"/big.bin", "/after"}), max_size=len(big))
    result = read_raw(compress(tar, "gzip"), wanted)
    assert result.contents == {"/big.bin": big, "/after": b"a"}
    assert result.diff_id == sha256(tar)


def test_hashing_reader_read_zero_returns_nothing() -> None:
    reader = _HashingReader(io.BytesIO(b"abcdef"), b"ab")
    assert reader.read(0) == b""
    assert reader.read(1) == b"a"
    assert reader.read(-1) == b"b"
    assert reader.read(0) == b""
    assert reader.read(-1) == b"abcdef"
    assert reader.count == 8


# --- which file contents are kept -----------------------------------------------------------

FILES = [
    directory("/app"),
    file("/app/.env", "TOKEN=1"),
    file("/app/prod.env", "X=2"),
    file("/app/config.yaml", "a: 1"),
    file("/etc/passwd", "root:x:0:0::/root:/bin/sh\n"),
    file("/etc/big", "x" * 100),
    symlink("/app/link.env", ".env"),
    whiteout("/app/old.env"),
]


@pytest.mark.parametrize(
    ("wanted", "kept"),
    [
        pytest.param(NOTHING, {}, id="nothing"),
        pytest.param(
            ContentWanted(paths=frozenset({"/etc/passwd"})),
            {"/etc/passwd": b"root:x:0:0::/root:/bin/sh\n"},
            id="exact-path",
        ),
        pytest.param(
            ContentWanted(patterns=("*.env",)),
            {"/app/.env": b"TOKEN=1", "/app/prod.env": b"X=2"},
            id="pattern-skips-symlinks-and-whiteouts",
        ),
        pytest.param(
            ContentWanted(patterns=("/etc/*",), max_size=50),
            {"/etc/passwd": b"root:x:0:0::/root:/bin/sh\n"},
            id="over-max-size-skipped",
        ),
        pytest.param(
            ContentWanted(paths=frozenset({"/etc/big"}), max_size=100),
            {"/etc/big": b"x" * 100},
            id="exactly-max-size-kept",
        ),
        pytest.param(
            ContentWanted(paths=frozenset({"/app"}), patterns=("/nope*",)),
            {},
            id="directories-never",
        ),
    ],
)
@pytest.mark.parametrize("how", ["none", "gzip", "zstd"])
def test_contents_captured_only_when_wanted(
    wanted: ContentWanted, kept: dict[str, bytes], how: Compression
) -> None:
    result = scan(FILES, how, wanted)
    assert result.contents == kept
    assert result.diff_id == sha256(layer_tar(FILES))


# --- stacking layers into one filesystem ----------------------------------------------------


def test_hardlink_takes_size_of_its_target() -> None:
    index = stack([directory("/bin"), exe("/bin/busybox", "0123456789"), hardlink("/bin/ls", "/bin/busybox")])
    assert index.files["/bin/ls"] == FileEntry(
        "/bin/ls", FileType.HARDLINK, 10, 0o644, 0, 0, 0, "/bin/busybox"
    )
    assert index.layer_sizes == (10,)


def test_whiteout_deletes_a_file_from_a_lower_layer() -> None:
    index = stack(
        [directory("/etc"), file("/etc/motd", "hi"), file("/etc/keep", "k")],
        [whiteout("/etc/motd")],
    )
    assert sorted(index.files) == ["/etc", "/etc/keep"]
    assert index.shadowed == (ShadowedEntry(entry("/etc/motd", FileType.FILE, 2, 0), 1, Removal.DELETED),)
    assert index.layer_sizes == (3, 0)


def test_whiteout_deletes_a_whole_subtree() -> None:
    index = stack(
        [
            directory("/opt"),
            directory("/opt/app"),
            file("/opt/app/a", "1"),
            directory("/opt/app/sub"),
            file("/opt/app/sub/b", "22"),
            symlink("/opt/app/sub/l", "b"),
            file("/opt/other", "o"),
        ],
        [file("/unrelated", "u")],
        [whiteout("/opt/app")],
    )
    assert sorted(index.files) == ["/opt", "/opt/other", "/unrelated"]
    assert sorted(index.shadowed, key=lambda s: s.entry.path) == [
        ShadowedEntry(entry("/opt/app/a", FileType.FILE, 1, 0), 2, Removal.DELETED),
        ShadowedEntry(entry("/opt/app/sub/b", FileType.FILE, 2, 0), 2, Removal.DELETED),
        ShadowedEntry(entry("/opt/app/sub/l", FileType.SYMLINK, 0, 0, 0o777, "b"), 2, Removal.DELETED),
    ]


def test_whiteout_of_implicit_directory() -> None:
    # No directory entries at all: the subtree is still known through its files.
    index = stack([file("/x/y/z", "1"), file("/x/w", "2")], [whiteout("/x/y")])
    assert sorted(index.files) == ["/x/w"]
    assert [s.entry.path for s in index.shadowed] == ["/x/y/z"]


def test_whiteout_of_a_very_deep_tree() -> None:
    deep = "/d" * 1200
    index = stack([file(deep + "/f", "1"), file("/keep", "k")], [whiteout("/d")])
    assert sorted(index.files) == ["/keep"]
    assert index.shadowed == (ShadowedEntry(entry(deep + "/f", FileType.FILE, 1, 0), 1, Removal.DELETED),)


def test_removed_subtree_is_shadowed_depth_first_in_sorted_order() -> None:
    index = stack(
        [
            file("/t/z", "1"),
            file("/t/a-b", "2"),
            file("/t/a/y", "3"),
            directory("/t/a/d"),
            file("/t/a/d/x", "4"),
            file("/t/a/b", "5"),
            file("/t/m", "6"),
        ],
        [whiteout("/t")],
    )
    assert index.files == {}
    assert [s.entry.path for s in index.shadowed] == [
        "/t/a/b",
        "/t/a/d/x",
        "/t/a/y",
        "/t/a-b",
        "/t/m",
        "/t/z",
    ]


@pytest.mark.parametrize(
    "upper",
    [
        pytest.param(
            [directory("/var/cache"), opaque("/var/cache"), file("/var/cache/new", "n")],
            id="marker-first",
        ),
        pytest.param(
            [directory("/var/cache"), file("/var/cache/new", "n"), opaque("/var/cache")],
            id="marker-last",
        ),
    ],
)
def test_opaque_directory_hides_lower_children_keeps_its_own(upper: list[F]) -> None:
    index = stack(
        [
            directory("/var"),
            directory("/var/cache"),
            file("/var/cache/old", "o"),
            directory("/var/cache/sub"),
            file("/var/cache/sub/deep", "dd"),
            file("/var/keep", "k"),
        ],
        upper,
    )
    assert sorted(index.files) == ["/var", "/var/cache", "/var/cache/new", "/var/keep"]
    assert index.files["/var/cache/new"].layer == 1
    assert sorted(index.shadowed, key=lambda s: s.entry.path) == [
        ShadowedEntry(entry("/var/cache/old", FileType.FILE, 1, 0), 1, Removal.DELETED),
        ShadowedEntry(entry("/var/cache/sub/deep", FileType.FILE, 2, 0), 1, Removal.DELETED),
    ]


def test_file_overwritten_in_a_later_layer() -> None:
    index = stack([file("/f", "a")], [file("/g", "g")], [file("/f", "bbb", 0o600)])
    assert index.files["/f"] == FileEntry("/f", FileType.FILE, 3, 0o600, 0, 0, 2, "")
    assert index.shadowed == (ShadowedEntry(entry("/f", FileType.FILE, 1, 0), 2, Removal.OVERWRITTEN),)


def test_file_replacing_a_directory() -> None:
    index = stack(
        [directory("/x"), file("/x/a", "1"), directory("/x/d"), file("/x/d/b", "22")],
        [file("/x", "now a file")],
    )
    assert index.files == {"/x": entry("/x", FileType.FILE, 10, 1)}
    assert sorted(index.shadowed, key=lambda s: s.entry.path) == [
        ShadowedEntry(entry("/x/a", FileType.FILE, 1, 0), 1, Removal.OVERWRITTEN),
        ShadowedEntry(entry("/x/d/b", FileType.FILE, 2, 0), 1, Removal.OVERWRITTEN),
    ]


@pytest.mark.parametrize("explicit", [True, False], ids=["explicit-directory", "implicit-directory"])
@pytest.mark.parametrize(
    ("replacement", "kind"),
    [(file("/a", "now a file"), FileType.FILE), (symlink("/a", "/elsewhere"), FileType.SYMLINK)],
    ids=["file", "symlink"],
)
def test_non_directory_replacing_a_directory_hides_its_children(
    explicit: bool, replacement: F, kind: FileType
) -> None:
    lower = [directory("/a"), file("/a/b", "bb")] if explicit else [file("/a/b", "bb")]
    index = stack(lower, [replacement])
    assert list(index.files) == ["/a"]
    assert index.files["/a"].type is kind
    assert index.files["/a"].layer == 1
    assert index.shadowed == (ShadowedEntry(entry("/a/b", FileType.FILE, 2, 0), 1, Removal.OVERWRITTEN),)


def test_directory_over_an_implicit_directory_keeps_its_children() -> None:
    index = stack([file("/a/b", "bb")], [directory("/a"), file("/a/c", "c")])
    assert sorted(index.files) == ["/a", "/a/b", "/a/c"]
    assert index.shadowed == ()


def test_directory_replacing_a_file_and_symlink_replacing_a_file() -> None:
    index = stack(
        [file("/x", "1"), file("/y", "22")],
        [directory("/x"), file("/x/c", "c"), symlink("/y", "x")],
    )
    assert sorted(index.files) == ["/x", "/x/c", "/y"]
    assert index.files["/y"].type is FileType.SYMLINK
    assert index.shadowed == (
        ShadowedEntry(entry("/x", FileType.FILE, 1, 0), 1, Removal.OVERWRITTEN),
        ShadowedEntry(entry("/y", FileType.FILE, 2, 0), 1, Removal.OVERWRITTEN),
    )


def test_redeclared_parent_directories_are_not_shadowed() -> None:
    index = stack(
        [directory("/etc"), directory("/etc/ssl"), file("/etc/ssl/a", "a")],
        [directory("/etc", 0o700), directory("/etc/ssl"), file("/etc/ssl/b", "b")],
    )
    assert index.shadowed == ()
    assert sorted(index.files) == ["/etc", "/etc/ssl", "/etc/ssl/a", "/etc/ssl/b"]
    assert index.files["/etc"] == FileEntry("/etc", FileType.DIR, 0, 0o700, 0, 0, 1, "")
    assert index.files["/etc/ssl/a"].layer == 0


def test_deleted_then_recreated() -> None:
    index = stack([file("/a", "1")], [whiteout("/a")], [file("/a", "333")])
    assert index.files["/a"] == entry("/a", FileType.FILE, 3, 2)
    assert index.shadowed == (ShadowedEntry(entry("/a", FileType.FILE, 1, 0), 1, Removal.DELETED),)


def test_whiteout_of_missing_path_is_harmless() -> None:
    index = stack([file("/a", "1")], [whiteout("/never"), opaque("/nodir")])
    assert sorted(index.files) == ["/a"]
    assert index.shadowed == ()


def test_contents_survive_deletion_in_a_later_layer() -> None:
    wanted = ContentWanted(paths=frozenset({"/.env"}), patterns=("/etc/*",))
    index = stack(
        [directory("/etc"), file("/etc/hostname", "base")],
        [file("/.env", "SECRET=hunter2")],
        [whiteout("/.env"), file("/etc/hostname", "upper")],
        wanted=wanted,
    )
    assert index.contents == {
        (0, "/etc/hostname"): b"base",
        (1, "/.env"): b"SECRET=hunter2",
        (2, "/etc/hostname"): b"upper",
    }
    assert "/.env" not in index.files
    assert index.content("/.env") is None
    assert index.content("/etc/hostname") == b"upper"
    assert {(s.entry.path, s.entry.layer, s.by_layer, s.how) for s in index.shadowed} == {
        ("/.env", 1, 2, Removal.DELETED),
        ("/etc/hostname", 0, 2, Removal.OVERWRITTEN),
    }


def test_layer_sizes_per_layer() -> None:
    index = stack(
        [file("/a", "1234"), symlink("/l", "a")],
        [],
        [file("/b", "12"), hardlink("/c", "/b")],
    )
    assert index.layer_sizes == (5, 0, 2)
    assert index.files["/c"].size == 2


# --- bad input: always BadArchive, one line -------------------------------------------------

BIG = layer_tar([file("/a", bytes(range(256)) * 40), file("/b", "tail")])
GZ = compress(BIG, "gzip")
ZS = compress(BIG, "zstd")


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


def _patch_header(data: bytes, start: int, value: bytes) -> bytes:
    """Overwrite a field of the first header and fix its checksum, so only the field is bad."""
    header = bytearray(data[:512])
    header[start : start + len(value)] = value
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header) + data[512:]


def _pax_tar(headers: dict[str, str]) -> bytes:
    ti = info("f", size=1)
    ti.pax_headers = headers
    return raw_tar([(ti, b"x")])


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        pytest.param(GZ[: len(GZ) // 2], "gzip", id="truncated-gzip"),
        pytest.param(GZ[:-4], "gzip", id="gzip-without-size-trailer"),
        pytest.param(GZ[:10], "gzip", id="gzip-header-only"),
        pytest.param(_flip(GZ, len(GZ) // 2), "", id="corrupt-gzip"),
        pytest.param(GZ[:-8] + b"\0\0\0\0" + GZ[-4:], "gzip", id="gzip-bad-crc"),
        pytest.param(GZ + b"junk", "gzip", id="gzip-trailing-garbage"),
        pytest.param(ZS[: len(ZS) // 2], "zstd", id="truncated-zstd"),
        pytest.param(ZS[:-1], "zstd", id="zstd-missing-last-byte"),
        pytest.param(ZS[:5], "zstd", id="zstd-magic-only"),
        pytest.param(ZS[:4] + b"\xff" * 40, "zstd", id="corrupt-zstd"),
        pytest.param(ZS + b"garbage!", "zstd", id="zstd-trailing-garbage"),
        pytest.param(BIG[: 512 + 5000], "truncated inside /a", id="tar-truncated-mid-data"),
        pytest.param(BIG[:300], "truncated inside a header", id="tar-truncated-mid-header"),
        pytest.param(
            BIG[: BIG.index(b"tail") + 512 + 100],
            "truncated inside a header",
            id="tar-cut-in-end-marker",
        ),
        pytest.param(BIG[: BIG.index(b"tail") + 512], "end-of-archive", id="tar-without-end-marker"),
        pytest.param(bytes([0x42]) + random.Random(7).randbytes(4095), "checksum", id="random-bytes"),
        pytest.param(_flip(BIG, 0), "checksum", id="flipped-name-byte"),
        pytest.param(_patch_header(BIG, 124, b"99999999999\0"), "bad size", id="non-octal-size"),
        pytest.param(_patch_header(BIG, 100, b"0x644\0"), "bad mode", id="non-octal-mode"),
        pytest.param(_patch_header(BIG, 124, b"\xff" * 12), "negative size", id="negative-base256-size"),
        pytest.param(_pax_tar({"size": "lots"}), "pax size", id="bad-pax-size"),
        pytest.param(_pax_tar({"uid": "-x"}), "pax uid", id="bad-pax-uid"),
        pytest.param(_pax_tar({"comment": "c" * 600})[:900], "extended header", id="truncated-pax"),
    ],
)
def test_bad_layers_raise_bad_archive(data: bytes, fragment: str) -> None:
    message = bad(data)
    assert fragment in message


def _extended(typeflag: bytes, size: int) -> bytes:
    """BIG with its first header turned into an extended header (pax or GNU) of `size` bytes."""
    return _patch_header(_patch_header(BIG, 124, b"%011o\0" % size), 156, typeflag)


@pytest.mark.parametrize("typeflag", [b"x", b"g", b"L", b"K"])
@pytest.mark.parametrize("compression", ["none", "gzip"])
@pytest.mark.parametrize("size", [MAX_EXTENDED + 1, 1 << 32])
def test_extended_header_larger_than_1_mib_is_refused_before_reading(
    typeflag: bytes, compression: Compression, size: int
) -> None:
    message = bad(compress(_extended(typeflag, size), compression))
    assert message == f"layer X: layer is not a valid tar: extended header of {size} bytes (at most 1 MiB)"


def test_extended_header_of_almost_1_mib_is_read() -> None:
    comment = "c" * (MAX_EXTENDED - 100)
    ti = info("f", size=1)
    ti.pax_headers = {"comment": comment}
    stored = raw_tar([(ti, b"x")])
    assert len(stored) > MAX_EXTENDED  # the pax record itself is just under the limit
    assert read_raw(stored).entries == [("/f", FileType.FILE, 1, 0o644, 0, 0, "")]


def test_wanted_file_truncated() -> None:
    message = bad(BIG[: 512 + 5000], ContentWanted(paths=frozenset({"/a"})))
    assert "/a" in message


def test_zstd_truncated_anywhere_is_detected() -> None:
    stored = zstandard.ZstdCompressor(write_checksum=True).compress(LAYER)
    for cut in range(1, len(stored)):
        bad(stored[:cut])


# --- verify ---------------------------------------------------------------------------------


def test_verify_matching_hashes() -> None:
    stored = compress(LAYER, "gzip")
    result = read_raw(stored)
    verify(result, digest=sha256(stored), diff_id=sha256(LAYER), name="l")
    verify(result, digest=None, diff_id=None, name="l")
    with pytest.raises(DigestMismatch, match=r"^l: cannot verify a sha512 digest"):  # was skipped
        verify(result, digest="sha512:" + "0" * 128, diff_id="", name="l")
    verify(result, digest=None, diff_id=None, name="l", size=len(stored))
    verify(result, digest=None, diff_id=None, name="l", size=0)  # no size in the descriptor


def test_verify_stored_size() -> None:
    stored = compress(LAYER, "gzip")
    result = read_raw(stored)
    with pytest.raises(DigestMismatch) as caught:
        verify(result, digest=sha256(stored), diff_id=sha256(LAYER), name="layer 3", size=len(stored) + 1)
    assert str(caught.value) == f"layer 3: blob is {len(stored)} bytes, manifest says {len(stored) + 1}"


@pytest.mark.parametrize(
    ("digest", "diff_id", "fragment"),
    [
        pytest.param("sha256:" + "0" * 64, None, "manifest says sha256:000", id="wrong-digest"),
        pytest.param(None, "sha256:" + "1" * 64, "config says sha256:111", id="wrong-diff-id"),
        pytest.param(None, sha256(b"compressed?"), "uncompressed layer hashes to", id="diff-id-of-other"),
    ],
)
def test_verify_mismatch(digest: str | None, diff_id: str | None, fragment: str) -> None:
    result = read_raw(compress(LAYER, "gzip"))
    with pytest.raises(DigestMismatch) as caught:
        verify(result, digest=digest, diff_id=diff_id, name="layer 3")
    assert str(caught.value).startswith("layer 3: ")
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


def test_diff_id_of_compressed_layer_is_the_uncompressed_hash() -> None:
    stored = compress(LAYER, "zstd")
    result = read_raw(stored)
    with pytest.raises(DigestMismatch):
        verify(result, digest=None, diff_id=sha256(stored), name="l")


# --- plain layers inside a file: _RangeReader, RangeHasher, PendingDigests --------------------


def test_range_reader_stays_inside_its_range() -> None:
    data = bytes(range(256)) * 200  # 51,200 bytes: several read-ahead windows
    with embedded(data) as fd:
        reader = _RangeReader(fd, 1234, len(data))
        assert reader.advance(0, 3) == (data[: _RangeReader.READAHEAD], 0)  # reads ahead
        window, pos = reader.advance(10_003, 20_000) or (b"", -1)  # past the window: a skip
        assert (window, pos) == (data[10_003:30_003], 0)  # larger than one read-ahead window
        window, pos = reader.advance(20_000, 5) or (b"", -1)
        assert window[pos : pos + 5] == data[30_003:30_008]
        window, pos = reader.advance(len(data) - 30_003, 512) or (b"", -1)
        assert (window, pos) == (b"", 0)  # exactly at the end: nothing left, nothing past it read
        assert reader.advance(1, 512) is None  # the data ends before that position


def test_range_reader_windows_follow_the_parser() -> None:
    data = random.Random(3).randbytes(100_000)
    with embedded(data) as fd:
        reader = _RangeReader(fd, 1234, len(data))
        got, window, pos, at = [], b"", 0, 0
        for skip, step in ((0, 1), (1, 9000), (1, 7), (1, 30_000), (1, 512), (1, 1), (1, 60_000)):
            if pos + skip + step > len(window):
                window, pos = reader.advance(pos + skip, step) or (b"", -1)
            else:
                pos += skip
            got.append(window[pos : pos + step])
            pos += step
            at += skip
            assert got[-1] == data[at : at + step]
            at += step
        assert at == 99_527 and len(got[-1]) == 60_000


RANGES = [(0, 0), (1234, 5), (100, 9 << 20), (7 << 20, 3 << 20), (1, (10 << 20) - 1)]


@pytest.fixture(scope="module")
def blob_file() -> Iterator[tuple[int, bytes]]:
    data = random.Random(11).randbytes(10 << 20)  # 10 MiB: ranges span the child's 256 KiB buffer
    with tempfile.TemporaryFile() as handle:
        handle.write(data)
        handle.flush()
        yield handle.fileno(), data


def expected_digests(data: bytes) -> list[str]:
    return ["sha256:" + hashlib.sha256(data[start : start + size]).hexdigest() for start, size in RANGES]


def test_range_hasher_child_computes_every_range(
    blob_file: tuple[int, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    fd, data = blob_file

    def not_here(*_: object) -> str:
        raise AssertionError("hashed in this process, not in the child")

    monkeypatch.setattr("gatekeeper.sources.layers._hash_range", not_here)
    with RangeHasher(fd, RANGES) as hasher:
        assert hasher.result() == expected_digests(data)


@pytest.mark.parametrize(
    "how",
    ["no-child", "no-executable", "child-fails", "child-says-nonsense", "spawn-fails"],
)
def test_range_hasher_hashes_here_when_the_child_cannot(
    blob_file: tuple[int, bytes], monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    fd, data = blob_file
    child = how != "no-child"
    if how == "no-executable":
        monkeypatch.setattr(sys, "executable", "")
    elif how == "child-fails":
        monkeypatch.setattr("gatekeeper.sources.layers._HASH_CHILD", "import sys; sys.exit(3)")
    elif how == "child-says-nonsense":
        monkeypatch.setattr("gatekeeper.sources.layers._HASH_CHILD", "print('sha256 ' * 5)")
    elif how == "spawn-fails":
        monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    with RangeHasher(fd, RANGES, child=child) as hasher:
        assert hasher.result() == expected_digests(data)


def test_range_hasher_outlives_the_callers_file(blob_file: tuple[int, bytes]) -> None:
    _, data = blob_file
    with tempfile.TemporaryFile() as handle:
        handle.write(data)
        handle.flush()
        hasher = RangeHasher(handle.fileno(), RANGES)
        fallback = RangeHasher(handle.fileno(), RANGES, child=False)
    try:
        assert hasher.result() == expected_digests(data)
        assert fallback.result() == expected_digests(data)
    finally:
        hasher.close()
        fallback.close()


def test_range_hasher_range_past_the_end_is_a_bad_archive(blob_file: tuple[int, bytes]) -> None:
    fd, data = blob_file
    for child in (True, False):
        with (
            RangeHasher(fd, [(len(data) - 10, 20)], child=child) as hasher,
            pytest.raises(BadArchive) as caught,
        ):
            hasher.result()
        assert "truncated" in str(caught.value)


def test_range_hasher_close_stops_the_children(blob_file: tuple[int, bytes]) -> None:
    fd, _ = blob_file
    hasher = RangeHasher(fd, RANGES * 20, workers=2)
    procs = list(hasher._children)
    assert len(procs) == hasher.children == 2
    hasher.close()
    assert all(proc is not None and proc.returncode is not None for proc in procs)  # reaped
    assert hasher.children == 0
    hasher.close()  # idempotent


@pytest.mark.parametrize("workers", [1, 2, 3, 8])
def test_range_hasher_shares_ranges_among_workers(blob_file: tuple[int, bytes], workers: int) -> None:
    fd, data = blob_file
    with RangeHasher(fd, RANGES, workers=workers) as hasher:
        assert hasher.children == min(workers, len(RANGES))
        assert hasher.result() == expected_digests(data)


def test_range_hasher_hashes_small_ranges_here_by_default(blob_file: tuple[int, bytes]) -> None:
    fd, data = blob_file
    small = [(0, 1000), (5000, 1 << 20)]
    with RangeHasher(fd, small) as hasher:
        assert hasher.children == 0
        assert hasher.result() == ["sha256:" + hashlib.sha256(data[a : a + n]).hexdigest() for a, n in small]
    with RangeHasher(fd, small, child=True) as forced:
        assert forced.children == 1


def test_range_hasher_workers_by_default(
    blob_file: tuple[int, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    fd, _ = blob_file
    monkeypatch.setattr("gatekeeper.sources.layers._cpus", lambda: 2)
    with RangeHasher(fd, RANGES) as small:
        assert small.children == 1  # 31 MiB: not worth a second process
    monkeypatch.setattr(RangeHasher, "PARALLEL_BYTES", 1 << 20)
    with RangeHasher(fd, RANGES) as big:
        assert big.children == 2
    monkeypatch.setattr("gatekeeper.sources.layers._cpus", lambda: 1)
    with RangeHasher(fd, RANGES) as one_cpu:
        assert one_cpu.children == 1


def test_range_hasher_hashes_here_what_a_failed_spawn_left(
    blob_file: tuple[int, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    fd, data = blob_file
    real = subprocess.Popen
    calls = []

    def second_fails(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        calls.append(args)
        if len(calls) == 2:
            raise OSError("no more processes")
        return real(*args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", second_fails)
    with RangeHasher(fd, RANGES, workers=2) as hasher:
        assert hasher.children == 1
        assert hasher.result() == expected_digests(data)


def test_range_hasher_queues_the_largest_ranges_first(blob_file: tuple[int, bytes]) -> None:
    fd, _ = blob_file
    with RangeHasher(fd, RANGES, child=False) as hasher:
        jobs, queue = os.pipe()
        hasher._queue(queue)  # closes `queue`
        with os.fdopen(jobs, "rb") as pipe:
            queued = pipe.read()
    assert len(queued) == JOB * len(RANGES)
    order = [int(queued[i : i + JOB].split()[0]) for i in range(0, len(queued), JOB)]
    assert order == [4, 2, 3, 1, 0]  # by size: 10 MiB - 1, 9 MiB, 3 MiB, 5 bytes, 0 bytes
    assert [int(x) for x in queued[JOB : 2 * JOB].split()] == [2, 100, 9 << 20]


def test_range_hasher_uses_what_a_failing_child_hashed(
    blob_file: tuple[int, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    fd, data = blob_file
    # A child that hashes one range, then stops as on a short read: its answer counts, and the
    # ranges it never took are hashed here.
    one_then_fail = _HASH_CHILD.replace("sys.stdout.flush()", "sys.stdout.flush()\n    sys.exit(1)")
    assert one_then_fail != _HASH_CHILD
    monkeypatch.setattr("gatekeeper.sources.layers._HASH_CHILD", one_then_fail)
    here: list[tuple[int, int]] = []
    real = layers_module._hash_range

    def counted(fd: int, offset: int, size: int) -> str:
        here.append((offset, size))
        return real(fd, offset, size)

    monkeypatch.setattr("gatekeeper.sources.layers._hash_range", counted)
    with RangeHasher(fd, RANGES, workers=1) as hasher:
        assert hasher.result() == expected_digests(data)
    assert sorted(here) == sorted(r for r in RANGES if r != (1, (10 << 20) - 1))  # the largest went first


def test_range_hasher_without_a_pipe_hashes_here(
    blob_file: tuple[int, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    fd, data = blob_file

    def no_pipe() -> tuple[int, int]:
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(os, "pipe", no_pipe)
    with RangeHasher(fd, RANGES, workers=2) as hasher:
        assert hasher.children == 0
        assert hasher.result() == expected_digests(data)


def test_range_hasher_with_more_ranges_than_the_queue_holds(blob_file: tuple[int, bytes]) -> None:
    fd, data = blob_file
    many = [(i * 7, 1000 + i % 13) for i in range(5000)]  # 320,000 bytes of jobs: more than a pipe holds
    with RangeHasher(fd, many, child=True, workers=2) as hasher:
        assert hasher.children == 2
        got = hasher.result()
    assert got == ["sha256:" + hashlib.sha256(data[a : a + n]).hexdigest() for a, n in many]


def pending_for(fd: int, claimed: str) -> tuple[PendingDigests, LayerScan]:
    layer = LayerScan()
    pending = PendingDigests(RangeHasher(fd, [(100, 5000)]))
    pending.expect(0, layer, diff_id=claimed, name="img: layer L")
    return pending, layer


def test_pending_digests_settle_on_a_normal_exit(blob_file: tuple[int, bytes]) -> None:
    fd, data = blob_file
    right = "sha256:" + hashlib.sha256(data[100:5100]).hexdigest()
    pending, layer = pending_for(fd, right)
    with pending:
        assert layer.diff_id == ""  # not known before the check
    assert layer.diff_id == layer.digest == right

    pending, _ = pending_for(fd, "sha256:" + "0" * 64)
    message = r"^img: layer L: uncompressed layer hashes to sha256:\w+, config says sha256:0+$"
    with pytest.raises(DigestMismatch, match=message), pending:
        pass


def test_pending_digests_are_dropped_after_an_exception(blob_file: tuple[int, bytes]) -> None:
    fd, _ = blob_file
    pending, layer = pending_for(fd, "sha256:" + "0" * 64)  # would mismatch
    with pytest.raises(KeyError), pending:  # the body's own error, not a DigestMismatch
        raise KeyError("boom")
    assert layer.diff_id == ""


def test_compression_at() -> None:
    for stored, expected in [
        (compress(LAYER, "gzip"), "gzip"),
        (compress(LAYER, "zstd"), "zstd"),
        (LAYER, ""),
        (b"", ""),
    ]:
        with embedded(stored, 10, 0) as fd:
            assert compression_at(fd, 10) == expected


@hypothesis.given(st.binary(min_size=512, max_size=512))
def test_byte_sum_is_the_sum_of_a_block(block: bytes) -> None:
    assert _byte_sum(block) == sum(block)


@pytest.mark.parametrize("fill", [0x00, 0x01, 0x7F, 0x80, 0xFF])
def test_byte_sum_at_the_extremes(fill: int) -> None:
    block = bytes([fill]) * 512
    assert _byte_sum(block) == sum(block) == fill * 512


# --- the index's directory tree: walk and listdir against a full scan -----------------------------

NAMES = st.sampled_from(["a", "b", "c", "a.b"])
PATHS_IN_IMAGE = st.lists(NAMES, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts))
TYPES = st.sampled_from([FileType.FILE, FileType.DIR, FileType.SYMLINK])


@st.composite
def layer_scans(draw: st.DrawFn) -> LayerScan:
    scan = LayerScan()
    for path, kind in draw(st.lists(st.tuples(PATHS_IN_IMAGE, TYPES), max_size=12)):
        scan.entries.append((path, kind, 1, 0o755, 0, 0, "x" if kind is FileType.SYMLINK else ""))
    scan.whiteouts = draw(st.lists(PATHS_IN_IMAGE, max_size=3))
    scan.opaque_dirs = draw(st.lists(PATHS_IN_IMAGE, max_size=2))
    return scan


@hypothesis.given(
    st.lists(layer_scans(), min_size=1, max_size=4), st.sampled_from(["/", "/a", "/a/b", "/c/"])
)
@hypothesis.settings(max_examples=300)
def test_walk_and_listdir_follow_the_tree(scans: list[LayerScan], where: str) -> None:
    built = build_index(scans)
    assert built.tree is not None  # the builder's own tree
    rebuilt = FileIndex(files=built.files)  # a tree made from `files`
    root = where.rstrip("/") or "/"
    under = sorted(p for p in built.files if root == "/" or p.startswith(root + "/"))
    inside = sorted(p for p in built.files if p != "/" and (p[: p.rfind("/")] or "/") == root)
    for index in (built, rebuilt):
        walked = [e.path for e in index.walk(where)]
        if root == "/":
            assert walked == list(built.files)  # from the root: `files` order
        else:
            assert sorted(walked) == under and len(walked) == len(under)
            assert walked == sorted(walked, key=lambda p: p.split("/"))  # depth first, by path
        assert [e.path for e in index.listdir(where)] == inside


def test_of_type_groups_in_files_order() -> None:
    index = build_index([scan([file("/x"), directory("/d"), file("/d/y"), symlink("/z", "/x")])])
    assert [e.path for e in index.of_type(FileType.FILE)] == ["/x", "/d/y"]
    assert [e.path for e in index.of_type(FileType.DIR)] == ["/d"]
    assert [e.path for e in index.of_type(FileType.SYMLINK)] == ["/z"]
    assert index.of_type(FileType.FIFO) == ()
