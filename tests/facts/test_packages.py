"""Package databases: dpkg status and status.d, apk installed, rpm SQLite; layer attribution."""

from __future__ import annotations

import sqlite3
import struct
from collections import Counter

import pytest

from gatekeeper.facts import packages
from gatekeeper.facts.image import FileEntry, FileIndex, FileType
from gatekeeper.facts.packages import (
    PACKAGE_DATABASES,
    Inventory,
    Package,
    PackageDatabaseError,
    dpkg_installed,
    parse_apk,
    parse_dpkg,
    parse_rpm_sqlite,
    read_packages,
    rpm_header,
)
from tests.factories import image
from tests.imagegen import F, file, whiteout

DPKG_STATUS = """\
Package: build-essential
Status: install ok installed
Priority: optional
Section: devel
Installed-Size: 20
Maintainer: Matthias Klose <doko@debian.org>
Architecture: amd64
Version: 12.9
Depends: libc6-dev | libc-dev, gcc (>= 4:12.2), g++ (>= 4:12.2), make, dpkg-dev (>= 1.17.11)
Description: Informational list of build-essential packages
 If you do not plan to build Debian packages, you don't need this
 package.  Starting with dpkg (>= 1.14.18) this package is required
 .
 This package contains an informational list of packages.

Package: gcc-12
Status: install ok installed
Priority: optional
Section: devel
Installed-Size: 68465
Architecture: amd64
Source: gcc-12
Version: 12.2.0-14
Description: GNU C compiler

Package: libc6-dev
Status: install ok installed
Installed-Size: 12604
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u4
Description: GNU C Library: Development Libraries and Header Files

Package: make
Status: hold ok installed
Installed-Size: 1667
Architecture: amd64
Version: 4.3-4.1
Description: utility for directing compilation

Package: gcc-12-base
Status: install ok installed
Installed-Size: 98
Architecture: amd64
Version: 12.2.0-14

Package: vim-tiny
Status: deinstall ok config-files
Installed-Size: 1737
Architecture: amd64
Version: 2:9.0.1378-2
Conffiles:
 /etc/vim/vimrc.tiny 2a2d8ad8d5aab6aa0a5df6e8d2a1b0d1

Package: nano
Status: purge ok not-installed
Architecture: amd64
Version: 7.2-1
"""

APK_INSTALLED = """\
C:Q1p6DBuF5kDbm2xLP9pZ6AQ6P5X1I=
P:musl
V:1.2.4-r2
A:x86_64
S:383152
I:622592
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
F:lib
R:ld-musl-x86_64.so.1

C:Q1zQ8mBqj5o9bQ8c4m1l0X1+fA1b0=
P:build-base
V:0.5-r3
A:x86_64
S:1670
I:4096
T:Meta package for build base
D:binutils file gcc g++ make libc-dev fortify-headers patch

C:Q1abc=
P:musl-dev
V:1.2.4-r2
A:x86_64
I:1286144
"""


def _header(fields: list[tuple[int, int, bytes]]) -> bytes:
    """An rpm header blob as rpmdb stores it: il, dl, index entries, data store."""
    index, store = b"", b""
    for tag, kind, data in fields:
        if kind == 4:
            store += b"\0" * (-len(store) % 4)
        index += struct.pack(">iIiI", tag, kind, len(store), 1)
        store += data
    return struct.pack(">ii", len(fields), len(store)) + index + store


def rpm_blob(name: str, version: str, release: str, size: int, epoch: int | None = None) -> bytes:
    fields = [(1000, 6, name.encode() + b"\0"), (1001, 6, version.encode() + b"\0")]
    fields.append((1002, 6, release.encode() + b"\0"))
    if epoch is not None:
        fields.append((1003, 4, struct.pack(">i", epoch)))
    fields.append((1009, 4, struct.pack(">i", size)))
    return _header(fields)


def rpmdb(*blobs: object, wal: bool = True, column: str = "BLOB NOT NULL") -> bytes:
    """An rpmdb.sqlite with these Packages.blob values (of `column`'s type, as rpm declares it)."""
    con = sqlite3.connect(":memory:")
    con.execute(f"CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob {column})")
    con.executemany("INSERT INTO Packages (blob) VALUES (?)", [(b,) for b in blobs])
    con.commit()
    data = bytearray(con.serialize())
    if wal:  # rpm opens its database in WAL mode, which the file header records
        data[18:20] = b"\x02\x02"
    return bytes(data)


def files_of(*layers: list[F]) -> FileIndex:
    facts = image(layers)
    assert facts.files is not None
    return facts.files


def test_dpkg_keeps_only_installed_packages() -> None:
    packages = parse_dpkg(DPKG_STATUS.encode(), "/var/lib/dpkg/status", 2)
    assert [(p.name, p.version) for p in packages] == [
        ("build-essential", "12.9"),
        ("gcc-12", "12.2.0-14"),
        ("libc6-dev", "2.36-9+deb12u4"),
        ("make", "4.3-4.1"),
        ("gcc-12-base", "12.2.0-14"),
    ]
    gcc = packages[1]
    assert gcc == Package("gcc-12", "12.2.0-14", "/var/lib/dpkg/status", 2, "dpkg", 68465 * 1024)


@pytest.mark.parametrize(
    ("status", "installed"),
    [
        ("install ok installed", True),
        ("hold ok installed", True),
        ("deinstall ok config-files", False),
        ("purge ok not-installed", False),
        ("install ok half-installed", False),
        ("install ok unpacked", False),
        ("", False),
    ],
)
def test_dpkg_status_field(status: str, installed: bool) -> None:
    assert dpkg_installed(status) is installed


def test_dpkg_status_d_entries_have_no_status() -> None:
    assert dpkg_installed(None, required=False)
    assert not dpkg_installed(None)


def test_apk_installed() -> None:
    packages = parse_apk(APK_INSTALLED.encode(), "/lib/apk/db/installed", 0)
    assert [(p.name, p.version, p.size) for p in packages] == [
        ("musl", "1.2.4-r2", 622592),
        ("build-base", "0.5-r3", 4096),
        ("musl-dev", "1.2.4-r2", 1286144),
    ]
    assert {p.manager for p in packages} == {"apk"}


def test_rpm_header() -> None:
    assert rpm_header(rpm_blob("gcc", "11.4.1", "3.el9", 12345)) == ("gcc", "11.4.1-3.el9", 12345)
    assert rpm_header(rpm_blob("shadow-utils", "4.9", "8.el9", 1, epoch=2))[1] == "2:4.9-8.el9"


def test_rpm_header_garbage() -> None:
    with pytest.raises(PackageDatabaseError):
        rpm_header(b"\0\0\0\x09\0\0\0\x10" + b"x" * 20)


def test_rpm_sqlite_in_wal_mode_is_read_in_memory() -> None:
    data = rpmdb(
        rpm_blob("glibc", "2.34", "100.el9", 6_000_000),
        rpm_blob("gcc", "11.4.1", "3.el9", 90_000_000),
        rpm_blob("gpg-pubkey", "fd431d51", "4ae0493b", 0),
    )
    packages = parse_rpm_sqlite(data, "/var/lib/rpm/rpmdb.sqlite", 1)
    assert [(p.name, p.version, p.size, p.manager) for p in packages] == [
        ("glibc", "2.34-100.el9", 6_000_000, "rpm"),
        ("gcc", "11.4.1-3.el9", 90_000_000, "rpm"),
    ]


def test_rpm_sqlite_rejects_other_bytes() -> None:
    with pytest.raises(PackageDatabaseError, match="not an SQLite"):
        parse_rpm_sqlite(b"\0" * 64, "/var/lib/rpm/rpmdb.sqlite", 0)


def test_wanted_covers_every_database() -> None:
    for path in (
        "/var/lib/dpkg/status",
        "/var/lib/dpkg/status.d/libc6",
        "/lib/apk/db/installed",
        "/usr/lib/apk/db/installed",
        "/var/lib/rpm/rpmdb.sqlite",
        "/usr/lib/sysimage/rpm/rpmdb.sqlite",
    ):
        assert PACKAGE_DATABASES(path, 1000), path
    assert not PACKAGE_DATABASES("/var/lib/dpkg/available", 1000)
    assert not PACKAGE_DATABASES("/var/lib/rpm/rpmdb.sqlite", 64 << 20)


def test_read_packages_attributes_each_package_to_the_layer_that_installed_it() -> None:
    first = "Package: base-files\nStatus: install ok installed\nVersion: 12.4\n"
    second = first + "\nPackage: make\nStatus: install ok installed\nVersion: 4.3-4.1\n"
    third = second + "\nPackage: curl\nStatus: install ok installed\nVersion: 7.88\n"
    inventory = read_packages(
        files_of(
            [file("/var/lib/dpkg/status", first)],
            [file("/var/lib/dpkg/status", second)],
            [file("/app/x", "x")],
            [file("/var/lib/dpkg/status", third)],
        )
    )
    assert {p.name: p.layer for p in inventory.packages} == {"base-files": 0, "make": 1, "curl": 3}
    assert inventory.databases == ("/var/lib/dpkg/status",)
    assert inventory.summary() == "3 dpkg packages"


def test_upgraded_package_belongs_to_the_upgrading_layer() -> None:
    old = "Package: openssl\nStatus: install ok installed\nVersion: 3.0.11\n"
    new = "Package: openssl\nStatus: install ok installed\nVersion: 3.0.13\n"
    inventory = read_packages(
        files_of([file("/var/lib/dpkg/status", old)], [file("/var/lib/dpkg/status", new)])
    )
    assert [(p.version, p.layer) for p in inventory.packages] == [("3.0.13", 1)]


def test_deleted_database_breaks_the_chain() -> None:
    status = "Package: make\nStatus: install ok installed\nVersion: 4.3\n"
    inventory = read_packages(
        files_of(
            [file("/var/lib/dpkg/status", status)],
            [whiteout("/var/lib/dpkg/status")],
            [file("/var/lib/dpkg/status", status)],
        )
    )
    assert [(p.name, p.layer) for p in inventory.packages] == [("make", 2)]


def test_deleted_database_lists_nothing() -> None:
    status = "Package: make\nStatus: install ok installed\nVersion: 4.3\n"
    inventory = read_packages(
        files_of([file("/var/lib/dpkg/status", status)], [whiteout("/var/lib/dpkg/status")])
    )
    assert inventory == Inventory()
    assert inventory.summary() == "no package database found"


def test_distroless_status_d() -> None:
    inventory = read_packages(
        files_of(
            [
                file("/var/lib/dpkg/status.d/libc6", "Package: libc6\nVersion: 2.36-9\n"),
                file("/var/lib/dpkg/status.d/libc6.md5sums", "d41d8cd9  lib/x\n"),
                file(
                    "/var/lib/dpkg/status.d/libpython3.11-minimal",
                    "Package: libpython3.11-minimal\nVersion: 3.11.2-6\nInstalled-Size: 5000\n",
                ),
            ]
        )
    )
    assert sorted(p.name for p in inventory.packages) == ["libc6", "libpython3.11-minimal"]
    assert inventory.databases == ("/var/lib/dpkg/status.d",)


def test_apk_and_wolfi_paths() -> None:
    alpine = read_packages(files_of([file("/lib/apk/db/installed", APK_INSTALLED)]))
    wolfi = read_packages(files_of([file("/usr/lib/apk/db/installed", APK_INSTALLED)]))
    assert alpine.summary() == wolfi.summary() == "3 apk packages"


def test_rpm_sqlite_in_an_image() -> None:
    data = rpmdb(rpm_blob("make", "4.3", "8.el9", 1_700_000))
    inventory = read_packages(files_of([file("/var/lib/rpm/rpmdb.sqlite", data)]))
    assert [(p.name, p.manager) for p in inventory.packages] == [("make", "rpm")]


def test_unreadable_rpm_sqlite_is_a_note() -> None:
    inventory = read_packages(files_of([file("/var/lib/rpm/rpmdb.sqlite", b"SQLite format 3\0")]))
    assert inventory.packages == ()
    assert inventory.unparsed[0].startswith("rpm database present (not parsed:")


@pytest.mark.parametrize("value", ["text", None, 3, 1.5], ids=["text", "null", "integer", "real"])
def test_rpm_sqlite_blob_column_of_another_type_is_a_note(value: object) -> None:
    data = rpmdb(rpm_blob("make", "4.3", "8.el9", 1), value, wal=False, column="")  # any type goes
    with pytest.raises(PackageDatabaseError) as caught:
        parse_rpm_sqlite(data, "/var/lib/rpm/rpmdb.sqlite", 0)
    assert str(caught.value) == "Packages.blob is not a blob"
    inventory = read_packages(files_of([file("/var/lib/rpm/rpmdb.sqlite", data)]))
    assert inventory == Inventory(
        unparsed=(
            "rpm database present (not parsed: Packages.blob is not a blob): /var/lib/rpm/rpmdb.sqlite",
        )
    )


def test_each_database_version_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: Counter[int] = Counter()

    def spy(data: bytes, path: str, layer: int) -> tuple[Package, ...]:
        calls[layer] += 1
        return parse_dpkg(data, path, layer)

    monkeypatch.setattr(packages, "_SOURCES", (("/var/lib/dpkg/status", "dpkg", spy),))
    first = "Package: make\nStatus: install ok installed\nVersion: 4.3\n"
    second = first + "\nPackage: curl\nStatus: install ok installed\nVersion: 7.88\n"
    inventory = read_packages(
        files_of(
            [file("/var/lib/dpkg/status", first)],
            [file("/app/x", "x")],
            [file("/var/lib/dpkg/status", second)],
        )
    )
    assert [(p.name, p.layer) for p in inventory.packages] == [("make", 0), ("curl", 2)]
    assert calls == {0: 1, 2: 1}


def test_berkeley_db_rpm_is_only_detected() -> None:
    inventory = read_packages(files_of([file("/var/lib/rpm/Packages", b"\0" * 512)]))
    assert inventory.unparsed == ("rpm database present (not parsed): /var/lib/rpm/Packages",)
    assert inventory.summary() == "rpm database present (not parsed): /var/lib/rpm/Packages"


def test_rpm_sqlite_too_big_to_capture_is_a_note() -> None:
    path = "/var/lib/rpm/rpmdb.sqlite"
    files = FileIndex({path: FileEntry(path, FileType.FILE, 40 << 20, 0o644, 0, 0, 0)})
    assert read_packages(files).unparsed == (f"rpm database present (not parsed): {path}",)
