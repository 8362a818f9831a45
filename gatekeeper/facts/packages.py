"""Installed packages, read from the package databases the layer pass captured.

Pure: bytes from `FileIndex.contents` in, `Package` values out. dpkg (`/var/lib/dpkg/status`, and
the one-file-per-package `status.d/` of distroless images), apk (`/lib/apk/db/installed`, or
`/usr/lib/apk/db/installed` on Wolfi) and rpm when its database is SQLite (`rpmdb.sqlite`, read in
memory with `sqlite3.Connection.deserialize`; nothing is written to disk). Berkeley DB and NDB rpm
databases are only detected.

Each package is attributed to the layer that installed it: a database is rewritten by every
install, so a package belongs to the oldest of the consecutive database versions that list it with
the same version.
"""

from __future__ import annotations

import contextlib
import sqlite3
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from gatekeeper.facts.image import FileIndex, FileType, Removal
from gatekeeper.facts.needs import ContentWanted

DPKG_STATUS = "/var/lib/dpkg/status"
DPKG_STATUS_DIR = "/var/lib/dpkg/status.d"
APK_INSTALLED = ("/lib/apk/db/installed", "/usr/lib/apk/db/installed")
RPM_SQLITE = ("/var/lib/rpm/rpmdb.sqlite", "/usr/lib/sysimage/rpm/rpmdb.sqlite")
RPM_UNPARSED = (
    "/var/lib/rpm/Packages",
    "/var/lib/rpm/Packages.db",
    "/usr/lib/sysimage/rpm/Packages",
    "/usr/lib/sysimage/rpm/Packages.db",
)
RPM_MAX_BYTES = 32 << 20
"""rpmdb.sqlite of a UBI or Fedora image is a few MB; bigger ones are detected, not parsed."""

PACKAGE_DATABASES = ContentWanted(
    paths=frozenset((DPKG_STATUS, *APK_INSTALLED, *RPM_SQLITE)),
    patterns=(DPKG_STATUS_DIR + "/*",),
    max_size=RPM_MAX_BYTES,
)
"""What a rule that reads packages adds to its `Request`."""

KIB = 1024
# rpm header tags and types (rpm/lib/rpmtag.h)
_NAME, _VERSION, _RELEASE, _EPOCH, _SIZE = 1000, 1001, 1002, 1003, 1009
_INT32, _STRING = 4, 6
_ENTRY = struct.Struct(">iIiI")  # tag, type, offset, count
_SQLITE_MAGIC = b"SQLite format 3\0"


@dataclass(frozen=True, slots=True)
class Package:
    name: str
    version: str
    source_path: str
    """The database file that lists it."""
    layer: int
    """The layer that installed it (see the module docs)."""
    manager: str = "dpkg"
    """`dpkg`, `apk` or `rpm`."""
    size: int | None = None
    """Installed size in bytes, as the database records it."""


@dataclass(frozen=True)
class Inventory:
    """Every package found in the image, and the databases that could only be detected."""

    packages: tuple[Package, ...] = ()
    databases: tuple[str, ...] = ()
    """Paths of the databases that were read."""
    unparsed: tuple[str, ...] = ()
    """Notes such as `rpm database present (not parsed): /var/lib/rpm/Packages`."""

    def summary(self) -> str:
        """`92 dpkg packages`, `14 apk packages`, or `no package database found`."""
        counts: dict[str, int] = {}
        for package in self.packages:
            counts[package.manager] = counts.get(package.manager, 0) + 1
        parts = [f"{n} {manager} package{'s' if n != 1 else ''}" for manager, n in counts.items()]
        parts += self.unparsed
        if not parts and self.databases:
            return "0 packages"
        return ", ".join(parts) or "no package database found"


Parser = Callable[[bytes, str, int], tuple[Package, ...]]


class PackageDatabaseError(ValueError):
    """A database whose bytes cannot be read."""


def _stanzas(data: bytes) -> Iterator[dict[str, str]]:
    """RFC 822-style paragraphs (dpkg) or `K:value` blocks (apk), split on blank lines."""
    fields: dict[str, str] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        if not line.strip():
            if fields:
                yield fields
            fields = {}
        elif not line[0].isspace():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    if fields:
        yield fields


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


def dpkg_installed(status: str | None, *, required: bool = True) -> bool:
    """`install ok installed` and `hold ok installed` are installed; `deinstall ok config-files`
    and `purge ok not-installed` are not. Distroless status.d entries have no Status at all."""
    if status is None:
        return not required
    words = status.split()
    return len(words) == 3 and words[2] == "installed"


def parse_dpkg(data: bytes, path: str, layer: int, *, require_status: bool = True) -> tuple[Package, ...]:
    packages = []
    for fields in _stanzas(data):
        name = fields.get("Package")
        if not name or not dpkg_installed(fields.get("Status"), required=require_status):
            continue
        kib = _int(fields.get("Installed-Size"))
        size = kib * KIB if kib is not None else None
        packages.append(Package(name, fields.get("Version", ""), path, layer, "dpkg", size))
    return tuple(packages)


def parse_apk(data: bytes, path: str, layer: int) -> tuple[Package, ...]:
    return tuple(
        Package(fields["P"], fields.get("V", ""), path, layer, "apk", _int(fields.get("I")))
        for fields in _stanzas(data)
        if fields.get("P")
    )


def rpm_header(blob: bytes) -> tuple[str, str, int | None]:
    """(name, epoch:version-release, size) from an rpm header blob as rpmdb stores it."""
    try:
        count, data_len = struct.unpack_from(">ii", blob)
        start = 8 + count * _ENTRY.size
        if count < 1 or start + data_len > len(blob):
            raise PackageDatabaseError("truncated rpm header")
        store = blob[start : start + data_len]
        values: dict[int, str | int] = {}
        for i in range(count):
            tag, kind, offset, _ = _ENTRY.unpack_from(blob, 8 + i * _ENTRY.size)
            if tag in (_NAME, _VERSION, _RELEASE) and kind == _STRING:
                end = store.index(b"\0", offset)
                values[tag] = store[offset:end].decode("utf-8", "replace")
            elif tag in (_EPOCH, _SIZE) and kind == _INT32:
                values[tag] = struct.unpack_from(">i", store, offset)[0]
    except (struct.error, ValueError) as exc:
        raise PackageDatabaseError(f"bad rpm header: {exc}") from None
    name, epoch = str(values.get(_NAME, "")), values.get(_EPOCH)
    version = f"{values.get(_VERSION, '')}-{values.get(_RELEASE, '')}"
    size = values.get(_SIZE)
    return (
        name,
        f"{epoch}:{version}" if epoch else version,
        size if isinstance(size, int) else None,
    )


def parse_rpm_sqlite(data: bytes, path: str, layer: int) -> tuple[Package, ...]:
    """The `Packages` table of an rpm SQLite database, deserialised in memory."""
    if not data.startswith(_SQLITE_MAGIC):
        raise PackageDatabaseError("not an SQLite database")
    image = bytearray(data)
    image[18:20] = b"\x01\x01"  # WAL mode needs a file beside it; read it as a rollback journal
    try:
        with contextlib.closing(sqlite3.connect(":memory:")) as con:
            con.execute("PRAGMA trusted_schema = OFF")
            con.deserialize(bytes(image))
            con.execute("PRAGMA query_only = ON")
            rows = con.execute("SELECT blob FROM Packages").fetchall()
    except sqlite3.Error as exc:
        raise PackageDatabaseError(str(exc)) from None
    packages = []
    for (blob,) in rows:
        # SQLite columns are dynamically typed: TEXT, NULL or an INTEGER fit a BLOB column too
        # (and bytes() of a large integer would allocate that many bytes).
        if not isinstance(blob, bytes):
            raise PackageDatabaseError("Packages.blob is not a blob")
        name, version, size = rpm_header(blob)
        if name and name != "gpg-pubkey":  # imported signing keys, not software
            packages.append(Package(name, version, path, layer, "rpm", size))
    return tuple(packages)


def _versions(files: FileIndex, path: str) -> list[tuple[int, bytes]]:
    """Captured versions of one database file, oldest first, back to its last deletion."""
    live = files.files.get(path)
    if live is None or live.type is not FileType.FILE:
        return []
    deleted = {s.entry.layer for s in files.shadowed if s.entry.path == path and s.how is Removal.DELETED}
    layers = sorted((la for la, p in files.contents if p == path and la <= live.layer), reverse=True)
    chain: list[tuple[int, bytes]] = []
    for layer in layers:
        if layer in deleted:
            break
        chain.append((layer, files.contents[(layer, path)]))
    return chain[::-1]


def _attributed(chain: list[tuple[int, bytes]], parse: Parser, path: str) -> tuple[Package, ...]:
    """The packages of the newest version, each dated to the oldest version that lists it."""
    parsed = [(layer, parse(data, path, layer)) for layer, data in chain]  # each version once
    final_layer, final = parsed[-1]
    seen = [(layer, {(p.name, p.version) for p in packages}) for layer, packages in parsed[:-1]]
    result = []
    for package in final:
        first = final_layer
        for layer, keys in reversed(seen):
            if (package.name, package.version) not in keys:
                break
            first = layer
        result.append(replace(package, layer=first))
    return tuple(result)


_SOURCES: tuple[tuple[str, str, Parser], ...] = (
    (DPKG_STATUS, "dpkg", parse_dpkg),
    *((path, "apk", parse_apk) for path in APK_INSTALLED),
    *((path, "rpm", parse_rpm_sqlite) for path in RPM_SQLITE),
)


def _status_d(files: FileIndex) -> tuple[Package, ...]:
    packages: list[Package] = []
    for entry in files.walk(DPKG_STATUS_DIR):
        if entry.type is not FileType.FILE or entry.path.endswith(".md5sums"):
            continue
        data = files.contents.get((entry.layer, entry.path))
        if data is not None:
            packages += parse_dpkg(data, entry.path, entry.layer, require_status=False)
    return tuple(packages)


def read_packages(files: FileIndex) -> Inventory:
    """Every installed package the captured databases list."""
    packages: list[Package] = []
    databases: list[str] = []
    unparsed: list[str] = []
    for path, manager, parse in _SOURCES:
        chain = _versions(files, path)
        if not chain:
            if files.files.get(path) is not None:  # too big to capture, or not a regular file
                unparsed.append(f"{manager} database present (not parsed): {path}")
            continue
        try:
            packages += _attributed(chain, parse, path)
        except PackageDatabaseError as exc:
            unparsed.append(f"{manager} database present (not parsed: {exc}): {path}")
            continue
        databases.append(path)
    distroless = _status_d(files)
    if distroless:
        packages += distroless
        databases.append(DPKG_STATUS_DIR)
    unparsed += [
        f"rpm database present (not parsed): {path}"
        for path in RPM_UNPARSED
        if files.files.get(path) is not None
    ]
    return Inventory(tuple(packages), tuple(databases), tuple(unparsed))
