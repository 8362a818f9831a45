"""docker-archive: `docker save` tarballs (legacy or Docker 25+ OCI layout), plain or compressed."""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import re
import tarfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import zstandard

from gatekeeper.errors import BadArchive, DigestMismatch, ImageNotFound, SourceError
from gatekeeper.facts.image import FileType, HistoryEntry, ImageFacts, Layer, Platform
from gatekeeper.facts.needs import ContentWanted, Need, Request
from gatekeeper.sources import ImageRef, SourceOptions, archive, open_image
from gatekeeper.sources import archive as archive_module
from gatekeeper.sources.layers import RangeHasher
from tests.imagegen import (
    Compression,
    Image,
    directory,
    exe,
    file,
    hardlink,
    sha256,
    symlink,
    whiteout,
    write_docker_archive,
    write_docker_archive_multi,
    write_docker_save_oci,
    write_members,
)

CONFIG_ONLY = Request()
SIZES = Request(Need.CONFIG | Need.SIZES)
FILESYSTEM = Request(
    Need.CONFIG | Need.FILESYSTEM,
    ContentWanted(paths=frozenset({"/etc/passwd"}), patterns=("*.env",)),
)

IMAGE = Image(
    layers=[
        [
            directory("/bin"),
            exe("/bin/busybox", "0123456789"),
            symlink("/bin/sh", "busybox"),
            hardlink("/bin/ls", "/bin/busybox"),
            directory("/etc"),
            file("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
        ],
        [directory("/app"), file("/app/.env", "TOKEN=secret"), file("/app/main", "main", 0o755)],
        [whiteout("/app/.env"), file("/etc/passwd", "root:x:0:0::/:/bin/sh\n")],
    ],
    config={"Env": ["PATH=/bin", "A=b=c"], "Cmd": ["sh"], "User": "1000", "WorkingDir": "/app"},
    history=[
        {"created_by": "ADD rootfs /", "created": "2026-01-01T00:00:00Z"},
        {"created_by": "ENV PATH=/bin", "empty_layer": True},
        {"created_by": "COPY app /app"},
        {"created_by": "USER 1000", "empty_layer": True},
        {"created_by": "RUN rm /app/.env", "comment": "buildkit.dockerfile.v0"},
    ],
)
TARS = IMAGE.layer_tars()
DIFF_IDS = [sha256(t) for t in TARS]
# regular file bytes once per inode + symlink targets
SIZES_BY_LAYER = [10 + 7 + 30, 12 + 4, 22]


def archive_ref(path: Path | str, selector: str = "") -> ImageRef:
    return ImageRef("docker-archive", str(path), selector)


def read(path: Path | str, request: Request = FILESYSTEM, selector: str = "") -> ImageFacts:
    return open_image(archive_ref(path, selector), request, SourceOptions())


def without_reference(facts: ImageFacts) -> ImageFacts:
    return dataclasses.replace(facts, reference="")


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    path = tmp_path / "app.tar"
    write_docker_archive(path, IMAGE)
    return path


def compressed_copy(path: Path, how: Compression) -> Path:
    data = path.read_bytes()
    out = path.with_name(path.name + (".gz" if how == "gzip" else ".zst"))
    if how == "gzip":
        out.write_bytes(gzip.compress(data, compresslevel=1))
    else:
        out.write_bytes(zstandard.ZstdCompressor().compress(data))
    return out


def rewrite(path: Path, change: dict[str, bytes | None]) -> None:
    """Rewrite a tar: replace (bytes) or drop (None) members by name; add new ones."""
    members: list[tuple[str, bytes]] = []
    with tarfile.open(path) as tar:
        for member in tar:
            fileobj = tar.extractfile(member) if member.isfile() else None
            if fileobj is not None:
                members.append((member.name, fileobj.read()))
    out: list[tuple[str, bytes]] = []
    for name, data in members:
        if name in change:
            new = change.pop(name)
            if new is not None:
                out.append((name, new))
        else:
            out.append((name, data))
    out += [(name, data) for name, data in change.items() if data is not None]
    with tarfile.open(path, "w") as tar:
        for name, data in out:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tar.addfile(ti, io.BytesIO(data))


def with_link(path: Path, name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> None:
    """Rewrite a tar with member `name` (replaced, or added at the end) a link to `target`."""
    members: list[tuple[tarfile.TarInfo, bytes | None]] = []
    with tarfile.open(path) as tar:
        for member in tar:
            fileobj = tar.extractfile(member) if member.isfile() else None
            members.append((member, fileobj.read() if fileobj is not None else None))
    link = tarfile.TarInfo(name)
    link.type, link.linkname = kind, target
    replaced = [(link, None) if m.name == name else (m, data) for m, data in members]
    if all(m.name != name for m, _ in members):
        replaced.append((link, None))
    with tarfile.open(path, "w") as tar:
        for member, data in replaced:
            tar.addfile(member, io.BytesIO(data) if data is not None else None)


def manifest_of(path: Path) -> list[dict[str, Any]]:
    with tarfile.open(path) as tar:
        fileobj = tar.extractfile("manifest.json")
        assert fileobj is not None
        doc: list[dict[str, Any]] = json.load(fileobj)
    return doc


# --- a legacy archive, read fully -----------------------------------------------------------


def test_legacy_archive_full_read(legacy: Path) -> None:
    facts = read(legacy)
    config_digest = sha256(IMAGE.config_json(DIFF_IDS))
    assert facts.reference == f"docker-archive:{legacy}"
    assert facts.source == "docker-archive"
    assert facts.digest == facts.config_digest == config_digest
    assert facts.repo_tags == ("app:test",)
    assert str(facts.platform) == "linux/amd64"
    assert facts.created == "2026-01-01T00:00:00Z"
    assert facts.config.user == "1000"
    assert facts.config.env == (("PATH", "/bin"), ("A", "b=c"))
    assert facts.config.cmd == ("sh",)
    assert facts.config.workdir == "/app"
    assert facts.layers == tuple(
        Layer(i, DIFF_IDS[i], DIFF_IDS[i], "", None, SIZES_BY_LAYER[i], cmd)
        for i, cmd in enumerate(["ADD rootfs /", "COPY app /app", "RUN rm /app/.env"])
    )
    assert facts.size == sum(SIZES_BY_LAYER)
    assert facts.compressed_size is None
    assert [h.layer_index for h in facts.history] == [0, None, 1, None, 2]
    assert facts.history[4] == HistoryEntry("RUN rm /app/.env", False, "", "buildkit.dockerfile.v0", 2)
    files = facts.files
    assert files is not None
    assert sorted(files.files) == [
        "/app",
        "/app/main",
        "/bin",
        "/bin/busybox",
        "/bin/ls",
        "/bin/sh",
        "/etc",
        "/etc/passwd",
    ]
    assert files.files["/bin/ls"].type is FileType.HARDLINK
    assert files.files["/bin/ls"].size == 10
    assert files.layer_sizes == tuple(SIZES_BY_LAYER)
    assert files.contents == {
        (0, "/etc/passwd"): b"root:x:0:0:root:/root:/bin/sh\n",
        (1, "/app/.env"): b"TOKEN=secret",
        (2, "/etc/passwd"): b"root:x:0:0::/:/bin/sh\n",
    }
    assert files.content("/etc/passwd") == b"root:x:0:0::/:/bin/sh\n"
    assert {(s.entry.path, s.by_layer, s.how.value) for s in files.shadowed} == {
        ("/app/.env", 2, "deleted"),
        ("/etc/passwd", 2, "overwritten"),
    }


@pytest.mark.parametrize("how", ["gzip", "zstd"])
def test_compressed_archive_streams_to_identical_facts(legacy: Path, how: Compression) -> None:
    packed = compressed_copy(legacy, how)
    for request in (FILESYSTEM, SIZES, CONFIG_ONLY):
        plain = read(legacy, request)
        streamed = read(packed, request)
        assert streamed.reference == f"docker-archive:{packed}"
        assert without_reference(streamed) == without_reference(plain)
    assert read(packed).files == read(legacy).files


@pytest.mark.parametrize("how", ["plain", "gzip"])
def test_request_decides_what_is_read(tmp_path: Path, how: str) -> None:
    # The layer is not a tar at all: only a request that needs layers may notice.
    garbage = b"this is not a tar" * 40
    path = tmp_path / "x.tar"
    write_docker_archive(path, Image(raw_layers=[garbage], config={"User": "app"}))
    if how == "gzip":
        path = compressed_copy(path, "gzip")
    facts = read(path, CONFIG_ONLY)
    assert facts.config.user == "app"
    assert facts.files is None
    assert [layer.size for layer in facts.layers] == [None]
    assert facts.size is None
    assert facts.layers[0].diff_id == sha256(garbage)
    for request in (SIZES, FILESYSTEM):
        with pytest.raises(BadArchive, match="checksum"):
            read(path, request)


@pytest.mark.parametrize("how", ["plain", "gzip"])
def test_sizes_request_gives_sizes_without_files(legacy: Path, how: str) -> None:
    path = legacy if how == "plain" else compressed_copy(legacy, "gzip")
    facts = read(path, SIZES)
    assert facts.files is None
    assert [layer.size for layer in facts.layers] == SIZES_BY_LAYER
    assert facts.size == sum(SIZES_BY_LAYER)


def test_filesystem_request_without_wanted_contents(legacy: Path) -> None:
    facts = read(legacy, Request(Need.FILESYSTEM))
    assert facts.files is not None
    assert facts.files.contents == {}
    assert "/bin/busybox" in facts.files.files


# --- several images in one archive ----------------------------------------------------------

OTHER = Image(layers=[[file("/other", "o")]], config={"Cmd": ["other"]})


@pytest.fixture
def two_images(tmp_path: Path) -> Path:
    path = tmp_path / "two.tar"
    write_docker_archive_multi(path, [(IMAGE, ["app:test"]), (OTHER, ["other:latest", "o:2"])])
    return path


@pytest.mark.parametrize(
    ("selector", "cmd"),
    [
        ("app:test", ("sh",)),
        ("docker.io/library/app:test", ("sh",)),
        ("other", ("other",)),
        ("other:latest", ("other",)),
        ("docker.io/library/other", ("other",)),
        ("o:2", ("other",)),
        ("library/app:test", ("sh",)),
        ("index.docker.io/library/other:latest", ("other",)),
        ("index.docker.io/other", ("other",)),
    ],
)
@pytest.mark.parametrize("how", ["plain", "gzip"])
def test_select_image_by_tag(two_images: Path, selector: str, cmd: tuple[str], how: str) -> None:
    path = two_images if how == "plain" else compressed_copy(two_images, "gzip")
    facts = read(path, FILESYSTEM, selector)
    assert facts.config.cmd == cmd
    assert facts.reference == f"docker-archive:{path}:{selector}"
    assert facts.files is not None
    assert ("/other" in facts.files.files) == (cmd == ("other",))


def test_two_images_without_tag_is_ambiguous(two_images: Path) -> None:
    with pytest.raises(SourceError) as caught:
        read(two_images)
    assert type(caught.value) is SourceError
    assert "holds 2 images (app:test, other:latest, o:2); add :TAG" in str(caught.value)


@pytest.mark.parametrize("selector", ["app:prod", "app", "test", "docker.io/app:test:x"])
def test_unknown_tag(two_images: Path, selector: str) -> None:
    with pytest.raises(ImageNotFound) as caught:
        read(two_images, CONFIG_ONLY, selector)
    assert f"no image tagged {selector!r} (tags: app:test, other:latest, o:2)" in str(caught.value)


def test_single_image_with_a_selector_that_does_not_match(legacy: Path) -> None:
    with pytest.raises(ImageNotFound):
        read(legacy, CONFIG_ONLY, "nope")
    assert read(legacy, CONFIG_ONLY, "app:test").repo_tags == ("app:test",)


# --- Docker 25+ docker save: OCI layout + manifest.json ------------------------------------


@pytest.mark.parametrize("compression", ["none", "gzip", "zstd"])
@pytest.mark.parametrize("layer_links", [False, True])
@pytest.mark.parametrize("how", ["plain", "gzip"])
def test_oci_style_docker_save(
    tmp_path: Path, legacy: Path, compression: Compression, layer_links: bool, how: str
) -> None:
    path = tmp_path / "new.tar"
    written = write_docker_save_oci(path, IMAGE, compression=compression, layer_links=layer_links)
    if how == "gzip":
        path = compressed_copy(path, "gzip")
    facts = read(path)
    old = read(legacy)
    assert facts.config_digest == written.config_digest == old.config_digest
    assert facts.files == old.files
    assert (facts.config, facts.history, facts.repo_tags) == (
        old.config,
        old.history,
        old.repo_tags,
    )
    assert [(x.diff_id, x.size) for x in facts.layers] == [(x.diff_id, x.size) for x in old.layers]


def test_oci_style_docker_save_config_digest_checked(tmp_path: Path) -> None:
    path = tmp_path / "new.tar"
    written = write_docker_save_oci(path, IMAGE)
    config_name = "blobs/sha256/" + written.config_digest.split(":")[1]
    config = json.loads(written.blobs[written.config_digest])
    config["config"]["User"] = "root"
    rewrite(path, {config_name: json.dumps(config).encode()})
    with pytest.raises(DigestMismatch, match="config blobs/sha256/"):
        read(path, CONFIG_ONLY)


def test_oci_style_docker_save_select_by_tag(tmp_path: Path) -> None:
    path = tmp_path / "new.tar"
    write_docker_save_oci(path, IMAGE, tags=("app:1", "app:latest"))
    for selector in ("app", "app:1", "docker.io/library/app:latest"):
        assert read(path, CONFIG_ONLY, selector).repo_tags == ("app:1", "app:latest")


# --- broken archives -------------------------------------------------------------------------


def _layer_names(path: Path) -> list[str]:
    names: list[str] = manifest_of(path)[0]["Layers"]
    return names


def _edit_manifest(path: Path, **fields: Any) -> None:
    doc = manifest_of(path)
    doc[0].update(fields)
    rewrite(path, {"manifest.json": json.dumps(doc).encode()})


def _truncate(path: Path, keep: int) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:keep])


def break_missing_manifest(path: Path) -> None:
    rewrite(path, {"manifest.json": None})


def break_missing_layer(path: Path) -> None:
    rewrite(path, {_layer_names(path)[1]: None})


def break_layer_not_listed(path: Path) -> None:
    _edit_manifest(path, Layers=[*_layer_names(path)[:2], "nope/layer.tar"])


def break_extra_layer(path: Path) -> None:
    _edit_manifest(path, Layers=[*_layer_names(path), _layer_names(path)[0]])


def break_missing_layer_entry(path: Path) -> None:
    _edit_manifest(path, Layers=_layer_names(path)[:2])


def break_config_tampered(path: Path) -> None:
    config_name = manifest_of(path)[0]["Config"]
    config = json.loads(IMAGE.config_json(DIFF_IDS))
    config["config"]["User"] = "0"
    rewrite(path, {config_name: json.dumps(config).encode()})


def break_config_missing(path: Path) -> None:
    rewrite(path, {manifest_of(path)[0]["Config"]: None})


def break_layer_tampered(path: Path) -> None:
    name = _layer_names(path)[0]
    tar = bytearray(TARS[0])
    at = tar.index(b"0123456789")
    tar[at] = ord("X")  # same length, still a valid tar, different diff_id
    rewrite(path, {name: bytes(tar)})


def break_layer_swapped(path: Path) -> None:
    names = _layer_names(path)
    _edit_manifest(path, Layers=[names[1], names[0], names[2]])


def break_manifest_not_json(path: Path) -> None:
    rewrite(path, {"manifest.json": b"[{"})


def break_manifest_nested(path: Path) -> None:
    rewrite(path, {"manifest.json": b"[" * 100_000})


def break_manifest_empty(path: Path) -> None:
    rewrite(path, {"manifest.json": b"[]"})


def break_manifest_no_config(path: Path) -> None:
    rewrite(path, {"manifest.json": b'[{"RepoTags": ["app:test"], "Layers": []}]'})


def break_manifest_layers_not_strings(path: Path) -> None:
    _edit_manifest(path, Layers=[{"x": 1}])


def break_config_not_json(path: Path) -> None:
    name = manifest_of(path)[0]["Config"]
    _edit_manifest(path, Config="plain-name.json")
    rewrite(path, {name: None, "plain-name.json": b"{not json"})


def break_config_nested(path: Path) -> None:
    name = manifest_of(path)[0]["Config"]
    _edit_manifest(path, Config="plain-name.json")
    rewrite(path, {name: None, "plain-name.json": b'{"a": ' * 100_000})


def break_truncated_in_layer(path: Path) -> None:
    _truncate(path, 3 * 512)


def break_truncated_in_header(path: Path) -> None:
    _truncate(path, 512 + 512 + 100)


def break_garbage(path: Path) -> None:
    path.write_bytes(b"this is a text file, not a tarball\n" * 30)


def break_empty(path: Path) -> None:
    path.write_bytes(b"")


def break_json_file(path: Path) -> None:
    path.write_text('[{"Config": "x.json"}]')


BROKEN = [
    pytest.param(break_missing_manifest, BadArchive, "manifest.json is missing", id="no-manifest"),
    pytest.param(break_missing_layer, BadArchive, "is missing", id="layer-missing"),
    pytest.param(break_layer_not_listed, BadArchive, "nope/layer.tar is missing", id="bad-name"),
    pytest.param(break_extra_layer, BadArchive, "lists 4 layers, config has 3", id="extra-layer"),
    pytest.param(break_missing_layer_entry, BadArchive, "lists 2 layers, config has 3", id="too-few"),
    pytest.param(break_config_tampered, DigestMismatch, "hashes to", id="config-digest"),
    pytest.param(break_config_missing, BadArchive, "is missing", id="config-missing"),
    pytest.param(break_layer_tampered, DigestMismatch, "config says", id="layer-diff-id"),
    pytest.param(break_layer_swapped, DigestMismatch, "config says", id="layers-out-of-order"),
    pytest.param(break_manifest_not_json, BadArchive, "not valid JSON", id="manifest-json"),
    pytest.param(
        break_manifest_nested,
        BadArchive,
        "manifest.json is not valid JSON: nested too deeply",
        id="manifest-nested",
    ),
    pytest.param(break_manifest_empty, BadArchive, "lists no images", id="manifest-empty"),
    pytest.param(break_manifest_no_config, BadArchive, "without Config", id="manifest-no-config"),
    pytest.param(break_manifest_layers_not_strings, BadArchive, "Layers", id="manifest-layers"),
    pytest.param(break_config_not_json, BadArchive, "not valid JSON", id="config-json"),
    pytest.param(
        break_config_nested, BadArchive, "config is not valid JSON: nested too deeply", id="config-nested"
    ),
    pytest.param(break_truncated_in_layer, BadArchive, "", id="truncated-in-layer"),
    pytest.param(break_truncated_in_header, BadArchive, "", id="truncated-in-header"),
    pytest.param(break_garbage, BadArchive, "not a readable tar", id="not-a-tar"),
    pytest.param(break_empty, BadArchive, "not a readable tar", id="empty-file"),
    pytest.param(break_json_file, BadArchive, "not a readable tar", id="json-not-tar"),
]


def read_deferred(path: Path, request: Request = FILESYSTEM) -> ImageFacts:
    """open_image with the background checks settled when the ExitStack closes (as api.check)."""
    with ExitStack() as pending:
        facts = open_image(archive_ref(path), request, SourceOptions(), defer=pending)
    return facts


@pytest.mark.parametrize(("breaker", "error", "fragment"), BROKEN)
@pytest.mark.parametrize("how", ["plain", "gzip", "deferred"])
def test_broken_archives(
    tmp_path: Path, breaker: Any, error: type[BadArchive], fragment: str, how: str
) -> None:
    path = tmp_path / "app.tar"
    write_docker_archive(path, IMAGE)
    breaker(path)
    if how == "gzip":
        path = compressed_copy(path, "gzip")
    reader = read_deferred if how == "deferred" else read
    with pytest.raises(BadArchive) as caught:
        reader(path, FILESYSTEM)
    assert isinstance(caught.value, error)
    message = str(caught.value)
    assert fragment in message
    assert message.startswith(f"docker-archive:{path}: ")
    assert "\n" not in message


@pytest.mark.parametrize("how", ["gzip", "zstd"])
@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_truncated_compressed_archive(legacy: Path, how: Compression, keep: float) -> None:
    packed = compressed_copy(legacy, how)
    data = packed.read_bytes()
    packed.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(BadArchive) as caught:
        read(packed, FILESYSTEM)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("how", ["gzip", "zstd"])
def test_corrupt_compressed_archive(legacy: Path, how: Compression) -> None:
    packed = compressed_copy(legacy, how)
    data = bytearray(packed.read_bytes())
    for at in range(len(data) // 3, len(data) // 3 + 16):
        data[at] ^= 0xFF
    packed.write_bytes(bytes(data))
    with pytest.raises(BadArchive) as caught:
        read(packed, FILESYSTEM)
    assert str(caught.value).startswith(f"docker-archive:{packed}: ")
    assert "\n" not in str(caught.value)


def test_missing_file_is_image_not_found(tmp_path: Path) -> None:
    with pytest.raises(ImageNotFound, match="no such file"):
        read(tmp_path / "nope.tar")


def test_directory_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as caught:
        read(tmp_path)
    assert type(caught.value) is SourceError
    assert "cannot open" in str(caught.value)


def test_config_only_reads_no_layer_data(legacy: Path) -> None:
    # Layers that would not even verify: config-only requests never look at them.
    path = legacy
    rewrite(path, {_layer_names(path)[0]: b"garbage"})
    facts = read(path, CONFIG_ONLY)
    assert facts.files is None
    assert all(layer.size is None for layer in facts.layers)
    with pytest.raises(BadArchive):
        read(path, SIZES)


def test_layer_media_types_left_empty(tmp_path: Path) -> None:
    # docker-archive layers carry no descriptor: digest = diff_id, no media type, no stored size.
    path = tmp_path / "n.tar"
    write_docker_save_oci(path, IMAGE, compression="gzip")
    facts = read(path, SIZES)
    assert [x.media_type for x in facts.layers] == ["", "", ""]
    assert [x.digest for x in facts.layers] == DIFF_IDS
    assert [x.compressed_size for x in facts.layers] == [None, None, None]


@pytest.fixture(params=["in-process", "child"])
def hashing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Small test archives are hashed in-process; "child" makes even them go to a child process."""
    if request.param == "child":
        monkeypatch.setattr(RangeHasher, "CHILD_BYTES", 0)
    return str(request.param)


@pytest.mark.usefixtures("hashing")
def test_layer_hashes_are_checked_when_the_deferred_checks_settle(tmp_path: Path) -> None:
    path = tmp_path / "app.tar"
    write_docker_archive(path, IMAGE)
    break_layer_tampered(path)
    pending = ExitStack()
    facts = open_image(archive_ref(path), FILESYSTEM, SourceOptions(), defer=pending)
    assert facts.files is not None  # read, not yet trusted: the hash check still runs
    with pytest.raises(DigestMismatch, match="config says"):
        pending.close()


@pytest.mark.usefixtures("hashing")
def test_deferred_checks_of_a_sound_archive_give_the_same_facts(legacy: Path) -> None:
    assert read_deferred(legacy) == read(legacy)


@pytest.mark.parametrize("breaker", [break_layer_tampered, break_layer_swapped])
def test_layer_checks_through_a_child_process(
    tmp_path: Path, breaker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    spawned: list[int] = []
    real_init = RangeHasher.__init__

    def init(self: RangeHasher, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        spawned.append(self.children)

    monkeypatch.setattr(RangeHasher, "CHILD_BYTES", 0)
    monkeypatch.setattr(RangeHasher, "__init__", init)
    path = tmp_path / "app.tar"
    write_docker_archive(path, IMAGE)
    assert read(path).files is not None
    breaker(path)
    with pytest.raises(DigestMismatch, match="config says"):
        read_deferred(path)
    assert spawned == [1, 1]


@pytest.mark.parametrize("how", ["plain", "gzip"])
def test_explicit_platform_must_match_the_archive(
    legacy: Path, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = legacy if how == "plain" else compressed_copy(legacy, "gzip")
    arm = SourceOptions(platform=Platform("linux", "arm64"), platform_requested=True)
    scanned: list[str] = []

    def spying(real: Any) -> Any:
        def spy(*args: Any, **kwargs: Any) -> Any:
            scanned.append("layer")
            return real(*args, **kwargs)

        return spy

    for name in ("scan_blob", "scan_tar_range"):
        monkeypatch.setattr(archive_module, name, spying(getattr(archive_module, name)))
    with pytest.raises(SourceError) as caught:
        open_image(archive_ref(path), FILESYSTEM, arm)
    if how == "plain":  # refused from the config, before any layer was read (a gzip stream
        assert scanned == []  # holds its layers before its config: it can only refuse after)
    message = f"docker-archive:{path}: the image is for linux/amd64, not linux/arm64 (--platform)"
    assert str(caught.value) == message
    default_only = SourceOptions(platform=Platform("linux", "arm64"))  # not named by the user
    assert open_image(archive_ref(path), CONFIG_ONLY, default_only).platform == Platform("linux", "amd64")
    amd = SourceOptions(platform=Platform("linux", "amd64"), platform_requested=True)
    assert open_image(archive_ref(path), CONFIG_ONLY, amd).platform == Platform("linux", "amd64")


@pytest.mark.parametrize(
    ("kind", "target"),
    [(tarfile.SYMTYPE, "../nowhere/layer.tar"), (tarfile.LNKTYPE, "nowhere/layer.tar")],
    ids=["symlink", "hardlink"],
)
@pytest.mark.parametrize("how", ["plain", "gzip", "deferred"])
def test_layer_linked_to_a_missing_member(legacy: Path, kind: bytes, target: str, how: str) -> None:
    name = _layer_names(legacy)[0]
    with_link(legacy, name, target, kind)
    path = compressed_copy(legacy, "gzip") if how == "gzip" else legacy
    reader = read_deferred if how == "deferred" else read
    with pytest.raises(BadArchive) as caught:
        reader(path, SIZES)
    assert type(caught.value) is BadArchive
    if how == "gzip":  # the stream is read as it comes: the link is followed by name
        assert str(caught.value) == f"docker-archive:{path}: layer nowhere/layer.tar is missing"
    else:
        assert str(caught.value) == f"docker-archive:{path}: layer: {name} links to a missing member"


@pytest.mark.parametrize("missing", ["manifest.json", "config"])
def test_json_member_linked_to_a_missing_member(legacy: Path, missing: str) -> None:
    name = manifest_of(legacy)[0]["Config"] if missing == "config" else missing
    with_link(legacy, name, "nowhere.json")
    with pytest.raises(BadArchive) as caught:
        read(legacy, CONFIG_ONLY)
    assert type(caught.value) is BadArchive
    assert str(caught.value) == f"docker-archive:{legacy}: {name} links to a missing member"


def test_json_member_over_the_limit(legacy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "MAX_JSON", 100)
    with pytest.raises(BadArchive) as caught:
        read(legacy, CONFIG_ONLY)
    assert str(caught.value) == (
        f"docker-archive:{legacy}: manifest.json is implausibly large (more than 100 bytes)"
    )


@pytest.mark.parametrize("how", ["plain", "gzip"])
def test_config_stored_as_a_link_is_read_through_it(legacy: Path, how: str) -> None:
    expected = read(legacy)
    config_name = manifest_of(legacy)[0]["Config"]
    _edit_manifest(legacy, Config="config-link.json")
    with_link(legacy, "config-link.json", config_name)
    path = compressed_copy(legacy, "gzip") if how == "gzip" else legacy
    facts = read(path)
    assert facts.config_digest == sha256(IMAGE.config_json(DIFF_IDS))
    assert without_reference(facts) == without_reference(expected)


def _with_diff_id(path: Path, index: int, value: str) -> None:
    """Rewrite the config (under a name that is not its digest) with one diff_id replaced."""
    config = json.loads(IMAGE.config_json(DIFF_IDS))
    config["rootfs"]["diff_ids"][index] = value
    old_name = manifest_of(path)[0]["Config"]
    _edit_manifest(path, Config="edited.json")
    rewrite(path, {old_name: None, "edited.json": json.dumps(config).encode()})


@pytest.mark.parametrize(
    "value",
    ["junk", "", "sha256", ":" + "a" * 64, "sha256:", "SHA256:" + "a" * 64, "sha256:a\n", "sha256 :a"],
)
@pytest.mark.parametrize("how", ["plain", "gzip"])
def test_diff_id_that_is_not_a_digest(legacy: Path, value: str, how: str) -> None:
    _with_diff_id(legacy, 1, value)
    path = compressed_copy(legacy, "gzip") if how == "gzip" else legacy
    with pytest.raises(BadArchive) as caught:
        read(path, CONFIG_ONLY)
    assert type(caught.value) is BadArchive
    assert str(caught.value) == (
        f"docker-archive:{path}: config: rootfs.diff_ids[1] is not a digest: {value!r}"
    )


@pytest.mark.parametrize("other", ["sha512:" + "0" * 128, "x:y"])
def test_diff_id_of_another_algorithm_is_refused(legacy: Path, other: str) -> None:
    # it was accepted unverified: one odd prefix switched the layer check off (found by fuzzing)
    _with_diff_id(legacy, 1, other)
    algo = other.partition(":")[0]
    with pytest.raises(
        DigestMismatch, match=rf"cannot verify a {algo} digest .*: layers are checked by sha256$"
    ):
        read(legacy)
    assert read(legacy, CONFIG_ONLY).layers[1].diff_id == other  # no layer read: nothing to check


def test_gzip_archive_of_several_members(legacy: Path, tmp_path: Path) -> None:
    """Concatenated gzip members (bgzip, `cat a.gz b.gz`): gzip -d and docker load read them."""
    raw = legacy.read_bytes()
    cut = len(raw) // 3
    packed = tmp_path / "members.tar.gz"
    packed.write_bytes(
        gzip.compress(raw[:cut]) + gzip.compress(raw[cut : 2 * cut]) + gzip.compress(raw[2 * cut :])
    )
    assert without_reference(read(packed)) == without_reference(read(legacy))


# --- found by fuzzing -----------------------------------------------------------------------


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]


@pytest.mark.parametrize("what", ["manifest", "config", "layer"])
def test_link_loops_between_members_are_bad_archives(tmp_path: Path, legacy: Path, what: str) -> None:
    # tarfile follows links by recursion: a loop was a RecursionError (exit 4, a traceback)
    members = _members(legacy)
    doc = json.loads(members["manifest.json"])
    name = {"manifest": "manifest.json", "config": doc[0]["Config"], "layer": doc[0]["Layers"][1]}[what]
    del members[name]
    looped = tmp_path / "loop.tar"
    folder, _, base = name.rpartition("/")
    prefix = folder + "/" if folder else ""
    for links in ([(name, base)], [(name, "x"), (prefix + "x", base)]):  # itself; a two-link loop
        write_members(looped, list(members.items()), links)
        with pytest.raises(BadArchive, match=rf": {re.escape(name)} is a link loop$"):
            read(looped)


@pytest.mark.parametrize("how", ["plain", "gzip"])
def test_docker_save_blob_must_hash_to_its_name(tmp_path: Path, how: str) -> None:
    # Docker 25+ saves name layers blobs/sha256/<hex>: only the diff_id was checked, so a gzip
    # layer whose compressed bytes changed (here its header's mtime) was judged as sound
    path = tmp_path / "new.tar"
    write_docker_save_oci(path, IMAGE, compression="gzip")
    name = _layer_names(path)[0]
    blob = bytearray(_members(path)[name])
    blob[4] ^= 0xFF  # gzip MTIME: the uncompressed tar (the diff_id) is unchanged
    rewrite(path, {name: bytes(blob)})
    if how == "gzip":
        path = compressed_copy(path, "gzip")
    with pytest.raises(
        DigestMismatch, match=rf"layer {name}: blob hashes to sha256:[0-9a-f]{{64}}, manifest says"
    ):
        read(path, SIZES)


@pytest.mark.usefixtures("hashing")
def test_plain_docker_save_blob_under_another_name(tmp_path: Path) -> None:
    # an uncompressed layer parsed in place: its bytes must hash to the name it is stored under
    path = tmp_path / "new.tar"
    write_docker_save_oci(path, IMAGE)
    first, *rest = _layer_names(path)
    other = "blobs/sha256/" + "0" * 64
    rewrite(path, {first: None, other: _members(path)[first]})
    _edit_manifest(path, Layers=[other, *rest])
    with pytest.raises(DigestMismatch, match=rf"layer {other}: blob hashes to {DIFF_IDS[0]}, manifest says"):
        read(path)


@pytest.mark.parametrize(
    ("how", "damage", "message"),
    [
        ("gzip", lambda b: b[:-8], "compressed data ends before the end-of-stream marker"),
        ("gzip", lambda b: b + b"garbage!", r"cannot decompress \(gzip\): .*incorrect header check"),
        ("zstd", lambda b: b[:-1], r"cannot decompress \(zstd\): data ends inside a frame \(truncated\?\)"),
        # (this one lacked the archive's name and "cannot decompress")
        (
            "zstd",
            lambda b: b + b"garbage!",
            r"^docker-archive:.*: cannot decompress \(zstd\): data continues with",
        ),
    ],
)
def test_compressed_archive_is_read_to_its_end(
    legacy: Path, how: Compression, damage: Callable[[bytes], bytes], message: str
) -> None:
    # Found by fuzzing: reading stopped at the tar's end-of-archive blocks, so a gzip archive
    # without its CRC trailer, with garbage after it, or a zstd one cut by a byte was accepted
    packed = compressed_copy(legacy, how)
    sound = read(packed)
    assert (sound.files, sound.config) == (read(legacy).files, read(legacy).config)
    packed.write_bytes(damage(packed.read_bytes()))
    with pytest.raises(BadArchive, match=message):
        read(packed)


def _curly_first_image() -> Image:
    return Image(layers=[[file("/{weird}.txt", "x"), file("/etc/passwd", "root:x:0:0::/root:/bin/sh\n")]])


@pytest.mark.parametrize(
    "case", ["readme", "manifest-link", "curly-layer", "config-two-links", "padded-manifest"]
)
def test_compressed_archive_reads_like_the_plain_one(tmp_path: Path, case: str) -> None:
    # Found by fuzzing: the one-pass reader of compressed archives guessed each member's kind
    # from its first byte, scanned every other member as a layer and failed the image on it
    path = tmp_path / "app.tar"
    image = _curly_first_image() if case == "curly-layer" else IMAGE
    write_docker_archive(path, image)
    members = _members(path)
    doc = json.loads(members["manifest.json"])
    links: list[tuple[str, str]] = []
    if case == "readme":
        members["README.txt"] = b"saved by CI; not a layer\n"
    elif case == "manifest-link":
        members["meta/manifest.json"] = members.pop("manifest.json")
        links = [("manifest.json", "meta/manifest.json")]
    elif case == "config-two-links":
        config = doc[0]["Config"]
        members["real.json"] = members.pop(config)
        links = [(config, "middle.json"), ("middle.json", "real.json")]
    elif case == "padded-manifest":
        members["manifest.json"] = b"\xef\xbb\xbf\n  " + members["manifest.json"]
    write_members(path, list(members.items()), links)
    plain, packed = read(path), read(compressed_copy(path, "gzip"))
    assert (packed.files, packed.config, packed.layers) == (plain.files, plain.config, plain.layers)


@pytest.mark.parametrize("how", ["plain", "gzip"])
def test_manifest_paths_with_a_dot_slash(legacy: Path, how: str) -> None:
    # member names are matched without `./`; manifest.json's paths were not (found by fuzzing)
    expected = read(legacy)
    doc = manifest_of(legacy)
    _edit_manifest(legacy, Config="./" + doc[0]["Config"], Layers=["./" + x for x in doc[0]["Layers"]])
    path = legacy if how == "plain" else compressed_copy(legacy, "gzip")
    facts = read(path)
    assert (facts.files, facts.config_digest) == (expected.files, expected.config_digest)
