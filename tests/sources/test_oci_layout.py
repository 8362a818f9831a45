"""OCI image layouts (`oci:DIR[:tag]`, `oci-archive:X.tar[:tag]`) and _oci's config parsing."""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.errors import BadArchive, DigestMismatch, ImageNotFound, SourceError
from gatekeeper.facts.image import FileType, Healthcheck, HistoryEntry, ImageFacts, Platform
from gatekeeper.facts.needs import ContentWanted, Need, Request
from gatekeeper.sources import ImageRef, SourceOptions, open_image
from gatekeeper.sources._oci import parse_config
from tests.imagegen import (
    LAYER_TYPES,
    OCI_INDEX,
    Compression,
    Image,
    Written,
    compress,
    directory,
    exe,
    file,
    hardlink,
    sha256,
    symlink,
    whiteout,
    write_blob,
    write_docker_archive,
    write_oci_archive,
    write_oci_layout,
    write_oci_platforms,
)

CONFIG_ONLY = Request()
SIZES = Request(Need.CONFIG | Need.SIZES)
FILESYSTEM = Request(Need.CONFIG | Need.FILESYSTEM, ContentWanted(paths=frozenset({"/etc/os-release"})))

IMAGE = Image(
    layers=[
        [
            directory("/bin"),
            exe("/bin/busybox", "BUSYBOX"),
            hardlink("/bin/cat", "/bin/busybox"),
            symlink("/bin/sh", "busybox"),
            directory("/etc"),
            file("/etc/os-release", "ID=test\n"),
        ],
        [file("/etc/os-release", "ID=upper\n"), whiteout("/bin/cat"), file("/tmp/x", "x" * 300)],
    ],
    config={"Cmd": ["/bin/sh"], "Labels": {"b": "2", "a": "1"}},
    history=[
        {"created_by": "ADD base /"},
        {"created_by": "LABEL a=1", "empty_layer": True},
        {"created_by": "RUN change"},
    ],
)
TARS = IMAGE.layer_tars()
SIZE_BY_LAYER = [7 + 7 + 8, 9 + 300]


def ref(path: Path | str, selector: str = "", transport: str = "oci") -> ImageRef:
    return ImageRef(transport, str(path), selector)


def read(image_ref: ImageRef, request: Request = FILESYSTEM, platform: Platform | None = None) -> ImageFacts:
    options = SourceOptions(platform=platform) if platform is not None else SourceOptions()
    return open_image(image_ref, request, options)


def arm64() -> Platform:
    return Platform("linux", "arm64")


def tar_layout(root: Path, out: Path) -> Path:
    """An oci-archive of a layout directory."""
    with tarfile.open(out, "w") as tar:
        for name in sorted(os.listdir(root)):
            tar.add(root / name, arcname=name)
    return out


def index_doc(root: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((root / "index.json").read_text())
    return doc


def blob_path(root: Path, digest: str) -> Path:
    return root / "blobs" / "sha256" / digest.split(":")[1]


def replace_manifest(root: Path, written: Written, change: Callable[[dict[str, Any]], None]) -> None:
    """Write a changed manifest (content-addressed, so it verifies) and point index.json at it."""
    doc = json.loads(written.blobs[written.manifest_digest])
    change(doc)
    data = json.dumps(doc).encode()
    digest = write_blob(root, data)
    index = index_doc(root)
    index["manifests"][0].update(digest=digest, size=len(data))
    (root / "index.json").write_text(json.dumps(index))


# --- a single image, every compression, directory and tarball -------------------------------


@pytest.mark.parametrize("compression", ["none", "gzip", "zstd"])
@pytest.mark.parametrize("transport", ["oci", "oci-archive"])
def test_read_layout(tmp_path: Path, compression: Compression, transport: str) -> None:
    if transport == "oci":
        path = tmp_path / "layout"
        written = write_oci_layout(path, IMAGE, compression)["latest"]
    else:
        path = tmp_path / "image.tar"
        written = write_oci_archive(path, IMAGE, "latest", compression)
    stored = [compress(t, compression) for t in TARS]
    facts = read(ref(path, "", transport))
    assert facts.reference == f"{transport}:{path}"
    assert facts.source == transport
    assert facts.digest == written.manifest_digest
    assert facts.config_digest == written.config_digest
    assert facts.available_platforms == ()
    assert [x.media_type for x in facts.layers] == [LAYER_TYPES[compression]] * 2
    assert [x.digest for x in facts.layers] == [sha256(s) for s in stored]
    assert [x.diff_id for x in facts.layers] == [sha256(t) for t in TARS]
    assert [x.compressed_size for x in facts.layers] == [len(s) for s in stored]
    assert [x.size for x in facts.layers] == SIZE_BY_LAYER
    manifest = json.loads(written.blobs[written.manifest_digest])
    assert facts.compressed_size == sum(d["size"] for d in manifest["layers"])
    assert facts.size == sum(SIZE_BY_LAYER)
    assert [x.created_by for x in facts.layers] == ["ADD base /", "RUN change"]
    assert facts.config.labels == (("a", "1"), ("b", "2"))
    files = facts.files
    assert files is not None
    assert sorted(files.files) == [
        "/bin",
        "/bin/busybox",
        "/bin/sh",
        "/etc",
        "/etc/os-release",
        "/tmp/x",
    ]
    assert files.content("/etc/os-release") == b"ID=upper\n"
    assert files.contents[(0, "/etc/os-release")] == b"ID=test\n"
    assert {(s.entry.path, s.by_layer, s.how.value) for s in files.shadowed} == {
        ("/bin/cat", 1, "deleted"),
        ("/etc/os-release", 1, "overwritten"),
    }
    assert files.files["/tmp/x"].type is FileType.FILE


def test_same_facts_from_every_file_source(tmp_path: Path) -> None:
    write_oci_layout(tmp_path / "layout", IMAGE, "zstd")
    write_oci_archive(tmp_path / "oci.tar", IMAGE, "v1", "gzip")
    write_docker_archive(tmp_path / "docker.tar", IMAGE)
    layout = read(ref(tmp_path / "layout"))
    archive = read(ref(tmp_path / "oci.tar", "v1", "oci-archive"))
    docker = read(ImageRef("docker-archive", str(tmp_path / "docker.tar")))
    for other in (archive, docker):
        assert other.files == layout.files
        assert other.config == layout.config
        assert other.history == layout.history
        assert other.platform == layout.platform
        assert other.created == layout.created
        assert [(x.diff_id, x.size, x.created_by) for x in other.layers] == [
            (x.diff_id, x.size, x.created_by) for x in layout.layers
        ]
    # Only the image config is shared: the config digest (image ID) is the same everywhere.
    assert layout.config_digest == archive.config_digest == docker.config_digest


@pytest.mark.parametrize("transport", ["oci", "oci-archive"])
def test_request_decides_what_is_read(tmp_path: Path, transport: str) -> None:
    root = tmp_path / "layout"
    written = write_oci_layout(root, IMAGE)["latest"]
    for desc in json.loads(written.blobs[written.manifest_digest])["layers"]:
        blob_path(root, desc["digest"]).unlink()
    path = root if transport == "oci" else tar_layout(root, tmp_path / "x.tar")
    facts = read(ref(path, "", transport), CONFIG_ONLY)
    assert facts.files is None
    assert [x.size for x in facts.layers] == [None, None]
    assert facts.compressed_size == sum(x.compressed_size or 0 for x in facts.layers) > 0
    assert facts.config.cmd == ("/bin/sh",)
    for request in (SIZES, FILESYSTEM):
        with pytest.raises(BadArchive, match="is missing"):
            read(ref(path, "", transport), request)


def test_sizes_request_gives_no_files(tmp_path: Path) -> None:
    write_oci_layout(tmp_path, IMAGE)
    facts = read(ref(tmp_path), SIZES)
    assert facts.files is None
    assert [x.size for x in facts.layers] == SIZE_BY_LAYER


# --- choosing the image: tags, platforms, attestations --------------------------------------

A = Image(layers=[[file("/a", "a")]], config={"Cmd": ["a"]})
B = Image(layers=[[file("/b", "bb")]], config={"Cmd": ["b"]}, architecture="arm64")
C = Image(layers=[[file("/c", "ccc")]], config={"Cmd": ["c"]}, architecture="arm")


@pytest.fixture
def tagged(tmp_path: Path) -> Path:
    write_oci_layout(tmp_path, [("v1", A), ("v2", B)])
    index = index_doc(tmp_path)
    index["manifests"][1]["annotations"]["io.containerd.image.name"] = "docker.io/library/b:v2"
    (tmp_path / "index.json").write_text(json.dumps(index))
    return tmp_path


@pytest.mark.parametrize(
    ("selector", "cmd"),
    [("v1", ("a",)), ("v2", ("b",)), ("docker.io/library/b:v2", ("b",))],
)
def test_select_by_ref_name(tagged: Path, selector: str, cmd: tuple[str]) -> None:
    facts = read(ref(tagged, selector), CONFIG_ONLY)
    assert facts.config.cmd == cmd
    assert facts.reference == f"oci:{tagged}:{selector}"


def test_several_tags_need_a_selector(tagged: Path) -> None:
    with pytest.raises(SourceError) as caught:
        read(ref(tagged), CONFIG_ONLY)
    assert type(caught.value) is SourceError
    assert "holds 2 images (v1, v2); add :TAG to choose one" in str(caught.value)


def test_unknown_tag(tagged: Path) -> None:
    with pytest.raises(ImageNotFound) as caught:
        read(ref(tagged, "v3"), CONFIG_ONLY)
    assert "no image named 'v3' (names: v1, v2)" in str(caught.value)


def test_oci_archive_tag(tmp_path: Path) -> None:
    write_oci_archive(tmp_path / "a.tar", A, "stable")
    assert read(ref(tmp_path / "a.tar", "stable", "oci-archive")).config.cmd == ("a",)
    with pytest.raises(ImageNotFound, match="names: stable"):
        read(ref(tmp_path / "a.tar", "latest", "oci-archive"))


PLATFORMS = [("linux/amd64", A), ("linux/arm64", B), ("linux/arm/v7", C)]
AVAILABLE = (Platform("linux", "amd64"), Platform("linux", "arm64"), Platform("linux", "arm", "v7"))


@pytest.mark.parametrize("nested", [True, False], ids=["buildx-nested", "containerd-flat"])
@pytest.mark.parametrize("selector", ["", "latest"])
@pytest.mark.parametrize(
    ("platform", "cmd"),
    [
        (None, ("a",)),
        (Platform("linux", "amd64"), ("a",)),
        (Platform("linux", "arm64"), ("b",)),
        (Platform("linux", "arm", "v7"), ("c",)),
        (Platform("linux", "arm"), ("c",)),
    ],
)
def test_multi_platform(
    tmp_path: Path, nested: bool, selector: str, platform: Platform | None, cmd: tuple[str]
) -> None:
    written = write_oci_platforms(tmp_path, PLATFORMS, nested=nested)
    facts = read(ref(tmp_path, selector), FILESYSTEM, platform)
    assert facts.config.cmd == cmd
    assert facts.available_platforms == AVAILABLE
    wanted = str(platform) if platform is not None and platform.variant else None
    key = wanted or {("a",): "linux/amd64", ("b",): "linux/arm64", ("c",): "linux/arm/v7"}[cmd]
    assert facts.digest == written[key].manifest_digest
    assert facts.files is not None
    assert len(facts.files.files) == 1


@pytest.mark.parametrize("nested", [True, False])
@pytest.mark.parametrize("transport", ["oci", "oci-archive"])
def test_unknown_platform_lists_what_is_there(tmp_path: Path, nested: bool, transport: str) -> None:
    root = tmp_path / "layout"
    write_oci_platforms(root, PLATFORMS, nested=nested)
    path = root if transport == "oci" else tar_layout(root, tmp_path / "multi.tar")
    with pytest.raises(SourceError) as caught:
        read(ref(path, "", transport), CONFIG_ONLY, Platform("linux", "s390x"))
    assert "no image for platform linux/s390x (available: linux/amd64, linux/arm64, linux/arm/v7)" in str(
        caught.value
    )
    assert "unknown" not in str(caught.value).partition("available")[2]


def test_attestations_are_skipped_even_when_listed_first(tmp_path: Path) -> None:
    write_oci_platforms(tmp_path, [("linux/arm64", B)], nested=True)
    nested_digest = index_doc(tmp_path)["manifests"][0]["digest"]
    nested = json.loads(blob_path(tmp_path, nested_digest).read_bytes())
    nested["manifests"].reverse()  # the attestation first
    assert nested["manifests"][0]["platform"]["os"] == "unknown"
    data = json.dumps(nested).encode()
    index = index_doc(tmp_path)
    index["manifests"][0].update(digest=write_blob(tmp_path, data), size=len(data))
    (tmp_path / "index.json").write_text(json.dumps(index))
    facts = read(ref(tmp_path), FILESYSTEM, arm64())
    assert facts.config.cmd == ("b",)
    assert facts.available_platforms == (arm64(),)
    with pytest.raises(SourceError, match=r"available: linux/arm64\)"):
        read(ref(tmp_path), FILESYSTEM)  # linux/amd64 by default


def test_single_image_with_attestation_at_top_level(tmp_path: Path) -> None:
    write_oci_platforms(tmp_path, [("linux/arm64", B)], nested=False)
    assert len(index_doc(tmp_path)["manifests"]) == 2
    facts = read(ref(tmp_path), FILESYSTEM, arm64())
    assert facts.config.cmd == ("b",)


def test_only_attestations(tmp_path: Path) -> None:
    write_oci_platforms(tmp_path, [("linux/arm64", B)], nested=False)
    index = index_doc(tmp_path)
    index["manifests"] = index["manifests"][1:]
    (tmp_path / "index.json").write_text(json.dumps(index))
    with pytest.raises(ImageNotFound, match="only attestations"):
        read(ref(tmp_path), CONFIG_ONLY)


def _wrap(root: Path, inner: dict[str, Any], levels: int) -> dict[str, Any]:
    desc = inner
    for _ in range(levels):
        data = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [desc]}).encode()
        desc = {
            "mediaType": OCI_INDEX,
            "digest": write_blob(root, data),
            "size": len(data),
            "platform": {"os": "linux", "architecture": "amd64"},
        }
    return desc


@pytest.mark.parametrize(("levels", "ok"), [(1, True), (4, True), (5, False)])
def test_nested_indexes(tmp_path: Path, levels: int, ok: bool) -> None:
    write_oci_layout(tmp_path, A)
    manifest = index_doc(tmp_path)["manifests"][0]
    manifest["platform"] = {"os": "linux", "architecture": "amd64"}
    top = _wrap(tmp_path, manifest, levels)
    top["annotations"] = {"org.opencontainers.image.ref.name": "latest"}
    (tmp_path / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))
    if ok:
        facts = read(ref(tmp_path, "latest"))
        assert facts.config.cmd == ("a",)
        assert facts.digest == manifest["digest"]
        assert facts.available_platforms == (Platform("linux", "amd64"),)
    else:
        with pytest.raises(BadArchive, match="nested too deeply"):
            read(ref(tmp_path, "latest"))


# --- broken layouts -------------------------------------------------------------------------

UNCOMPRESSED = Image(layers=[[file("/data", "0123456789")], [file("/more", "m")]])


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Written]:
    root = tmp_path / "layout"
    return root, write_oci_layout(root, UNCOMPRESSED, "none")["latest"]


def _layers(written: Written) -> list[dict[str, Any]]:
    layers: list[dict[str, Any]] = json.loads(written.blobs[written.manifest_digest])["layers"]
    return layers


def tamper_config(root: Path, w: Written) -> None:
    path = blob_path(root, w.config_digest)
    path.write_bytes(path.read_bytes().replace(b'"amd64"', b'"arm64"'))


def tamper_manifest(root: Path, w: Written) -> None:
    path = blob_path(root, w.manifest_digest)
    path.write_bytes(path.read_bytes() + b" ")


def tamper_layer(root: Path, w: Written) -> None:
    path = blob_path(root, _layers(w)[0]["digest"])
    path.write_bytes(path.read_bytes().replace(b"0123456789", b"0123456780"))


def tamper_layer_descriptor(root: Path, w: Written) -> None:
    # A consistent manifest that names another (valid) blob than the config expects.
    def change(doc: dict[str, Any]) -> None:
        doc["layers"] = list(reversed(doc["layers"]))

    replace_manifest(root, w, change)


def drop_layer_blob(root: Path, w: Written) -> None:
    blob_path(root, _layers(w)[1]["digest"]).unlink()


def drop_config_blob(root: Path, w: Written) -> None:
    blob_path(root, w.config_digest).unlink()


def drop_manifest_blob(root: Path, w: Written) -> None:
    blob_path(root, w.manifest_digest).unlink()


def drop_index(root: Path, w: Written) -> None:
    (root / "index.json").unlink()


def index_not_json(root: Path, w: Written) -> None:
    (root / "index.json").write_text('{"manifests": [')


def index_nested(root: Path, w: Written) -> None:
    (root / "index.json").write_bytes(b"[" * 100_000)


def manifest_nested(root: Path, w: Written) -> None:
    nested = b"[" * 100_000
    index = index_doc(root)
    index["manifests"][0].update(digest=write_blob(root, nested), size=len(nested))
    (root / "index.json").write_text(json.dumps(index))


def index_not_object(root: Path, w: Written) -> None:
    (root / "index.json").write_text("[]")


def index_without_manifests(root: Path, w: Written) -> None:
    (root / "index.json").write_text('{"schemaVersion": 2}')


def index_descriptor_without_digest(root: Path, w: Written) -> None:
    (root / "index.json").write_text('{"manifests": [{"mediaType": "x"}]}')


def index_path_traversal(root: Path, w: Written) -> None:
    index = index_doc(root)
    index["manifests"][0]["digest"] = "sha256:../../../etc/passwd"
    (root / "index.json").write_text(json.dumps(index))


def fewer_layers(root: Path, w: Written) -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["layers"] = doc["layers"][:1]

    replace_manifest(root, w, change)


def manifest_without_layers(root: Path, w: Written) -> None:
    def change(doc: dict[str, Any]) -> None:
        del doc["layers"]

    replace_manifest(root, w, change)


def config_without_rootfs(root: Path, w: Written) -> None:
    config = json.loads(w.blobs[w.config_digest])
    del config["rootfs"]
    data = json.dumps(config).encode()

    def change(doc: dict[str, Any]) -> None:
        doc["config"].update(digest=write_blob(root, data), size=len(data))

    replace_manifest(root, w, change)


def layer_not_a_tar(root: Path, w: Written) -> None:
    junk = b"<html>not a layer</html>" * 30

    def change(doc: dict[str, Any]) -> None:
        doc["layers"][0].update(digest=write_blob(root, junk), size=len(junk))

    replace_manifest(root, w, change)


def layer_size_wrong(root: Path, w: Written) -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["layers"][0]["size"] += 7  # the digest still matches the blob

    replace_manifest(root, w, change)


BROKEN = [
    pytest.param(tamper_config, DigestMismatch, "blob sha256:", id="config-tampered"),
    pytest.param(layer_size_wrong, DigestMismatch, "bytes, manifest says", id="layer-size-wrong"),
    pytest.param(tamper_manifest, DigestMismatch, "blob sha256:", id="manifest-tampered"),
    pytest.param(tamper_layer, DigestMismatch, "manifest says sha256:", id="layer-tampered"),
    pytest.param(tamper_layer_descriptor, DigestMismatch, "config says", id="layers-swapped"),
    pytest.param(drop_layer_blob, BadArchive, "is missing", id="layer-blob-missing"),
    pytest.param(drop_config_blob, BadArchive, "is missing", id="config-blob-missing"),
    pytest.param(drop_manifest_blob, BadArchive, "is missing", id="manifest-blob-missing"),
    pytest.param(drop_index, BadArchive, "index.json is missing", id="index-missing"),
    pytest.param(index_not_json, BadArchive, "index.json is not valid JSON", id="index-json"),
    pytest.param(
        index_nested, BadArchive, "index.json is not valid JSON: nested too deeply", id="index-nested"
    ),
    pytest.param(
        manifest_nested, BadArchive, "manifest is not valid JSON: nested too deeply", id="manifest-nested"
    ),
    pytest.param(index_not_object, BadArchive, "not a JSON object", id="index-array"),
    pytest.param(index_without_manifests, BadArchive, "without a manifests list", id="no-list"),
    pytest.param(index_descriptor_without_digest, BadArchive, "without a digest", id="no-digest"),
    pytest.param(index_path_traversal, BadArchive, "invalid digest", id="traversal"),
    pytest.param(fewer_layers, BadArchive, "lists 1 layers, config has 2", id="layer-count"),
    pytest.param(manifest_without_layers, BadArchive, "without config or layers", id="no-layers"),
    pytest.param(config_without_rootfs, BadArchive, "no rootfs.diff_ids", id="no-rootfs"),
    pytest.param(layer_not_a_tar, BadArchive, "checksum", id="layer-not-a-tar"),
]


@pytest.mark.parametrize(("breaker", "error", "fragment"), BROKEN)
@pytest.mark.parametrize("transport", ["oci", "oci-archive"])
def test_broken_layouts(
    tmp_path: Path,
    layout: tuple[Path, Written],
    breaker: Callable[[Path, Written], None],
    error: type[BadArchive],
    fragment: str,
    transport: str,
) -> None:
    root, written = layout
    breaker(root, written)
    path = root if transport == "oci" else tar_layout(root, tmp_path / "broken.tar")
    with pytest.raises(BadArchive) as caught:
        read(ref(path, "", transport), FILESYSTEM)
    assert isinstance(caught.value, error)
    message = str(caught.value)
    assert fragment in message
    assert message.startswith(f"{transport}:{path}")
    assert "\n" not in message


def test_empty_index(tmp_path: Path) -> None:
    (tmp_path / "index.json").write_text('{"schemaVersion": 2, "manifests": []}')
    with pytest.raises(ImageNotFound, match="lists no images"):
        read(ref(tmp_path))


def test_schema1_manifest_is_refused(layout: tuple[Path, Written]) -> None:
    root, written = layout

    def change(doc: dict[str, Any]) -> None:
        doc["schemaVersion"] = 1

    replace_manifest(root, written, change)
    with pytest.raises(SourceError, match="schema 1"):
        read(ref(root))


def test_compressed_layer_tampered(tmp_path: Path) -> None:
    written = write_oci_layout(tmp_path, UNCOMPRESSED, "gzip")["latest"]
    path = blob_path(tmp_path, _layers(written)[1]["digest"])
    path.write_bytes(path.read_bytes()[:-6])
    with pytest.raises(BadArchive, match="gzip"):
        read(ref(tmp_path))


@pytest.mark.parametrize(
    ("make", "error", "fragment"),
    [
        pytest.param(lambda p: None, ImageNotFound, "no such file", id="missing"),
        pytest.param(lambda p: p.mkdir(), SourceError, "cannot open", id="directory"),
        pytest.param(lambda p: p.write_bytes(b"nope" * 200), BadArchive, "not a readable tar", id="not-tar"),
        pytest.param(lambda p: p.write_bytes(b""), BadArchive, "not a readable tar", id="empty"),
    ],
)
def test_oci_archive_file_problems(
    tmp_path: Path, make: Callable[[Path], object], error: type[SourceError], fragment: str
) -> None:
    path = tmp_path / "x.tar"
    make(path)
    with pytest.raises(SourceError) as caught:
        read(ref(path, "", "oci-archive"))
    assert type(caught.value) is error
    assert fragment in str(caught.value)


@pytest.mark.parametrize("blob", ["config", "layer"])
def test_oci_archive_blob_linked_to_a_missing_member(
    tmp_path: Path, layout: tuple[Path, Written], blob: str
) -> None:
    root, written = layout
    digest = written.config_digest if blob == "config" else _layers(written)[0]["digest"]
    path = blob_path(root, digest)
    path.unlink()
    path.symlink_to("missing")
    archive = tar_layout(root, tmp_path / "dangling.tar")
    with pytest.raises(BadArchive) as caught:
        read(ref(archive, "", "oci-archive"), SIZES)
    assert type(caught.value) is BadArchive
    hex_digest = digest.removeprefix("sha256:")
    assert str(caught.value) == (
        f"oci-archive:{archive}: blobs/sha256/{hex_digest} links to a missing member"
    )


def test_truncated_oci_archive(tmp_path: Path) -> None:
    path = tmp_path / "x.tar"
    write_oci_archive(path, IMAGE)
    data = path.read_bytes()
    for keep in (700, len(data) // 2, len(data) - 10240):
        path.write_bytes(data[:keep])
        with pytest.raises(BadArchive):
            read(ref(path, "", "oci-archive"))


def test_missing_layout_directory(tmp_path: Path) -> None:
    with pytest.raises(ImageNotFound, match="no such directory"):
        read(ref(tmp_path / "nope"))


def test_layout_given_as_a_file_points_at_oci_archive(tmp_path: Path) -> None:
    write_oci_archive(tmp_path / "app.tar", IMAGE)
    expected = r"is a file, not an OCI layout directory \(for a tar: oci-archive:"
    with pytest.raises(ImageNotFound, match=expected):
        read(ref(tmp_path / "app.tar"))


# --- _oci.parse_config ----------------------------------------------------------------------


def config(doc: dict[str, Any]) -> bytes:
    base: dict[str, Any] = {"rootfs": {"type": "layers", "diff_ids": ["sha256:" + "a" * 64] * 3}}
    return json.dumps({**base, **doc}).encode()


def test_history_maps_to_layers_skipping_empty_entries() -> None:
    parsed = parse_config(
        config(
            {
                "history": [
                    {"created_by": "ADD base", "created": "t0"},
                    {"created_by": "ENV A=1", "empty_layer": True},
                    {"created_by": "LABEL x", "empty_layer": True},
                    {"created_by": "RUN one", "comment": "c"},
                    "not an entry",
                    {"created_by": "CMD x", "empty_layer": True},
                    {"created_by": "RUN two"},
                    {"created_by": "RUN extra, more than layers"},
                    {"created_by": "EXPOSE 80", "empty_layer": False},
                ]
            }
        )
    )
    assert parsed.history == (
        HistoryEntry("ADD base", False, "t0", "", 0),
        HistoryEntry("ENV A=1", True, "", "", None),
        HistoryEntry("LABEL x", True, "", "", None),
        HistoryEntry("RUN one", False, "", "c", 1),
        HistoryEntry("CMD x", True, "", "", None),
        HistoryEntry("RUN two", False, "", "", 2),
        HistoryEntry("RUN extra, more than layers", False, "", "", None),
        HistoryEntry("EXPOSE 80", False, "", "", None),
    )


@pytest.mark.parametrize("flag", ["false", "true", 1, None])
def test_only_a_json_true_marks_an_empty_layer(flag: object) -> None:
    # bool("false") is True: the entry took no layer and shifted the history's map (fuzzing)
    parsed = parse_config(config({"history": [{"created_by": "RUN a", "empty_layer": flag}]}))
    assert parsed.history == (HistoryEntry("RUN a", False, "", "", 0),)


def test_schema_version_true_is_not_schema_1() -> None:
    from gatekeeper.sources._oci import parse_manifest

    layer = {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "sha256:" + "b" * 64, "size": 1}
    cfg = {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + "a" * 64, "size": 1}
    manifest = parse_manifest({"schemaVersion": True, "config": cfg, "layers": [layer]}, "m")
    assert len(manifest.layers) == 1
    with pytest.raises(SourceError, match="schema 1"):
        parse_manifest({"schemaVersion": 1, "config": cfg, "layers": [layer]}, "m")


@pytest.mark.parametrize("history", [None, "text", []])
def test_history_absent(history: object) -> None:
    assert parse_config(config({"history": history})).history == ()


def test_config_fields() -> None:
    parsed = parse_config(
        config(
            {
                "architecture": "arm",
                "variant": "v7",
                "created": "2026-02-03T00:00:00Z",
                "config": {
                    "User": "app:app",
                    "Env": ["A=1", "EMPTY=", "NOEQ"],
                    "Entrypoint": "/entry.sh",
                    "Cmd": ["run", "--fast"],
                    "WorkingDir": "/srv",
                    "ExposedPorts": {"8080/tcp": {}, "53/udp": {}},
                    "Volumes": {"/data": {}},
                    "Labels": {"z": "1", "a": "2"},
                    "StopSignal": "SIGTERM",
                    "Healthcheck": {
                        "Test": ["CMD-SHELL", "curl -f localhost"],
                        "Interval": 30_000_000_000,
                        "Retries": 3,
                    },
                },
            }
        )
    )
    cfg = parsed.config
    assert cfg.user == "app:app"
    assert cfg.env == (("A", "1"), ("EMPTY", ""), ("NOEQ", ""))
    assert cfg.entrypoint == ("/entry.sh",)
    assert cfg.cmd == ("run", "--fast")
    assert cfg.workdir == "/srv"
    assert cfg.exposed_ports == ("53/udp", "8080/tcp")
    assert cfg.volumes == ("/data",)
    assert cfg.labels == (("a", "2"), ("z", "1"))
    assert cfg.stop_signal == "SIGTERM"
    assert cfg.healthcheck == Healthcheck(("CMD-SHELL", "curl -f localhost"), 30_000_000_000, 0, 0, 3)
    assert parsed.platform == Platform("linux", "arm", "v7")
    assert parsed.created == "2026-02-03T00:00:00Z"
    assert parsed.diff_ids == ("sha256:" + "a" * 64,) * 3


@pytest.mark.parametrize("runtime", [{}, None])
def test_container_config_is_not_the_runtime_config(runtime: dict[str, Any] | None) -> None:
    # container_config holds the build step (`#(nop) ...`), never what the image runs.
    parsed = parse_config(
        config(
            {
                "config": runtime,
                "container_config": {"Cmd": ["/bin/sh", "-c", "#(nop) COPY x /"], "User": "0"},
            }
        )
    )
    assert parsed.config.cmd is None
    assert parsed.config.user == ""


def test_container_config_used_only_without_config() -> None:
    parsed = parse_config(config({"container_config": {"Cmd": ["old"]}}))
    assert parsed.config.cmd == ("old",)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"{", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1]", "not a JSON object"),
        (b"{}", "no rootfs.diff_ids"),
        (b'{"rootfs": {"diff_ids": [1]}}', "no rootfs.diff_ids"),
        (b'{"rootfs": []}', "no rootfs.diff_ids"),
    ],
)
def test_bad_configs(raw: bytes, fragment: str) -> None:
    with pytest.raises(BadArchive, match=fragment):
        parse_config(raw, "cfg")


@pytest.mark.parametrize("transport", ["oci", "oci-archive"])
def test_explicit_platform_must_match_a_single_manifest(
    tmp_path: Path, layout: tuple[Path, Written], transport: str
) -> None:
    root, _ = layout
    path = root if transport == "oci" else tar_layout(root, tmp_path / "one.tar")
    named = SourceOptions(platform=arm64(), platform_requested=True)
    with pytest.raises(SourceError) as caught:
        open_image(ref(path, "", transport), FILESYSTEM, named)
    assert str(caught.value).endswith(": the image is for linux/amd64, not linux/arm64 (--platform)")
    assert read(ref(path, "", transport), FILESYSTEM, arm64()).platform == Platform("linux", "amd64")


def test_special_files_in_a_layout_are_refused(layout: tuple[Path, Written]) -> None:
    # Found by fuzzing: a FIFO blocked open() for ever, and a layer linked to /dev/zero was
    # drained (and hashed) without end
    root, written = layout
    layer = blob_path(root, _layers(written)[0]["digest"])
    layer.unlink()
    layer.symlink_to("/dev/zero")
    with pytest.raises(BadArchive, match=rf": blobs/sha256/{layer.name} is not a regular file$"):
        read(ref(root))
    (root / "index.json").unlink()
    os.mkfifo(root / "index.json")
    with pytest.raises(BadArchive, match=r": index.json is not a regular file$"):
        read(ref(root))


def _config_as_sha512(root: Path, written: Written, config: bytes) -> None:
    """Store `config` as blobs/sha512/<hex of the original config>, pointed at by a new manifest."""
    digest = "sha512:" + hashlib.sha512(written.blobs[written.config_digest]).hexdigest()
    target = root / "blobs" / "sha512" / digest.split(":")[1]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(config)
    manifest = json.loads(written.blobs[written.manifest_digest])
    manifest["config"]["digest"] = digest
    body = json.dumps(manifest).encode()
    index = json.loads((root / "index.json").read_bytes())
    index["manifests"][0].update(digest=write_blob(root, body), size=len(body))
    (root / "index.json").write_text(json.dumps(index))


def test_sha512_blobs_are_verified(layout: tuple[Path, Written]) -> None:
    # they were skipped (found by fuzzing): a tampered config under a sha512 name was judged
    root, written = layout
    config = written.blobs[written.config_digest]
    _config_as_sha512(root, written, config)
    assert read(ref(root), CONFIG_ONLY).config_digest.startswith("sha512:")
    _config_as_sha512(root, written, config.replace(b'"amd64"', b'"arm64"'))
    with pytest.raises(DigestMismatch, match=r"hashes to sha512:\w+, expected sha512:"):
        read(ref(root), CONFIG_ONLY)


def test_digests_of_unknown_algorithms_are_refused(layout: tuple[Path, Written]) -> None:
    root, written = layout
    index = json.loads((root / "index.json").read_bytes())
    index["manifests"][0]["digest"] = "md5:0123"
    (root / "index.json").write_text(json.dumps(index))
    (root / "blobs" / "md5").mkdir()
    (root / "blobs" / "md5" / "0123").write_bytes(written.blobs[written.manifest_digest])
    with pytest.raises(
        DigestMismatch, match=r"cannot verify a md5 digest \(sha256 and sha512 are checked\)$"
    ):
        read(ref(root))


def test_config_descriptor_size_must_match(layout: tuple[Path, Written]) -> None:
    root, written = layout

    def one_more(doc: dict[str, Any]) -> None:
        doc["config"]["size"] += 1

    replace_manifest(root, written, one_more)
    size = len(written.blobs[written.config_digest])
    with pytest.raises(
        BadArchive, match=rf"blob {written.config_digest} is {size} bytes, the descriptor says {size + 1}$"
    ):
        read(ref(root), CONFIG_ONLY)
