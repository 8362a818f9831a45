"""The docker-daemon source, against the real engine (tests marked `docker`) and without one.

The images come from tests/data/images/ and are built once per session by tests/conftest.py with
both builders. The ground truth for every daemon read is the engine's own export (`docker save`),
read through `docker-archive:`, and the same image copied by skopeo to an OCI layout and through the
loopback registry.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.errors import BadArchive, DaemonUnavailable, ImageNotFound, SourceError
from gatekeeper.facts.image import FileIndex, FileType, ImageFacts, Platform, Removal
from gatekeeper.facts.needs import ContentWanted, Need, Request
from gatekeeper.sources import ImageRef, SourceOptions, open_image, parse_reference
from gatekeeper.sources.archive import read_save_stream
from gatekeeper.sources.daemon import Step, _ChunkReader, _Errors, instruction, layer_flags
from tests.conftest import Builder, BuiltImage, docker_cli, unavailable
from tests.imagegen import BUSYBOX_LIKE, Image, write_docker_archive

CONFIG = Request(Need.CONFIG)
SIZES = Request(Need.CONFIG | Need.SIZES)
WANTED = ContentWanted(frozenset({"/etc/passwd", "/etc/group", "/data/original.txt", "/data/hardlink.txt"}))
FILES = Request(Need.CONFIG | Need.FILESYSTEM, WANTED)
BUILDERS: tuple[Builder, ...] = ("classic", "buildkit")


def options(**environ: str) -> SourceOptions:
    return SourceOptions(environ={**os.environ, **environ})


def read(reference: str, request: Request) -> ImageFacts:
    return open_image(parse_reference(reference), request, options())


def history_of(facts: ImageFacts) -> list[tuple[str, bool, int | None]]:
    return [(h.created_by, h.empty_layer, h.layer_index) for h in facts.history]


def comparable(facts: ImageFacts, *, sizes: bool = True) -> dict[str, object]:
    """What every source must agree on for one image (digests and timestamps aside)."""
    view: dict[str, object] = {
        "config": facts.config,
        "platform": facts.platform,
        "created": facts.created,
        "history": history_of(facts),
        "layers": [(layer.diff_id, layer.created_by) for layer in facts.layers],
    }
    if sizes:
        view["sizes"] = [layer.size for layer in facts.layers]
    if facts.files is not None:
        view["files"] = dict(facts.files.files)
        view["shadowed"] = facts.files.shadowed
    return view


def run(*command: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed:\n{result.stderr.strip()}", pytrace=False)


def symlink_bytes(files: FileIndex, layer: int) -> int:
    """Symlink target bytes in one layer (live and shadowed versions)."""
    entries = [*files.files.values(), *(s.entry for s in files.shadowed)]
    return sum(
        len(e.link_target.encode()) for e in entries if e.layer == layer and e.type is FileType.SYMLINK
    )


# ---------------------------------------------------------------- without an engine


@pytest.mark.parametrize(
    ("created_by", "expected"),
    [
        ("/bin/sh -c #(nop)  ENV A=b", "ENV"),
        ("/bin/sh -c #(nop) WORKDIR /app", "WORKDIR"),
        ("/bin/sh -c #(nop) COPY file:abc in /etc/ ", "COPY"),
        ("/bin/sh -c apt-get update", "RUN"),
        ("|1 BUILD_NOTE=x /bin/sh -c rm /f", "RUN"),
        # the marker inside a RUN's command: still a RUN (it made a layer; ENV would not have)
        ("/bin/sh -c echo '#(nop) ENV x' > /notes", "RUN"),
        ("/bin/sh -c printf %s #(nop) WORKDIR", "RUN"),
        ("/bin/bash -o pipefail -c #(nop)  ENV A=b", "ENV"),
        ("#(nop) COPY file:abc in /", "COPY"),
        ("/bin/busybox --install -s /bin", "RUN"),
        ("RUN |1 BUILD_NOTE=x /bin/sh -c true # buildkit", "RUN"),
        ("COPY busybox /bin/busybox # buildkit", "COPY"),
        ('HEALTHCHECK &{["CMD" "true"] "30s" "3s" "0s" \'\\x03\'}', "HEALTHCHECK"),
        ("WORKDIR /app", "WORKDIR"),
        ("", ""),
    ],
)
def test_instruction_names(created_by: str, expected: str) -> None:
    assert instruction(created_by) == expected


def test_sizes_alone_decide_when_they_can() -> None:
    steps = [Step("COPY a /a", 10), Step("ENV A=b", 0), Step("RUN make", 5)]
    assert layer_flags(steps, 2) == [True, False, True]


def test_zero_size_steps_are_ranked_by_instruction() -> None:
    # BuildKit on dockerd 20.10: RUN, COPY and every WORKDIR but `/` make a layer, maybe of 0 bytes.
    steps = [
        Step("COPY busybox /bin/busybox # buildkit", 1000),
        Step("RUN /bin/busybox --install -s /bin # buildkit", 0),
        Step("ENV A=b", 0),
        Step("WORKDIR /", 0),
        Step("RUN |1 X=y /bin/sh -c rm /f # buildkit", 0),
        Step("WORKDIR /app", 0),
        Step("WORKDIR /app", 0),
        Step("COPY app.sh /app/app.sh # buildkit", 18),
        Step('CMD ["/app/app.sh"]', 0),
    ]
    assert layer_flags(steps, 6) == [True, True, False, False, True, True, True, True, False]
    # one layer fewer (newer BuildKit drops empty ones): the repeated WORKDIR goes first
    assert layer_flags(steps, 5) == [True, True, False, False, True, True, False, True, False]


def test_workdir_keyword_in_any_case() -> None:
    assert layer_flags([Step("/bin/sh -c #(nop) workdir /app", 0)], 1) == [True]
    steps = [
        Step("/bin/sh -c #(nop) workdir /", 0),
        Step("/bin/sh -c true", 0),
        Step("/bin/sh -c #(nop) Workdir /app", 0),
        Step("/bin/sh -c #(nop)  WORKDIR /app", 0),
    ]
    # `/` never makes a layer; of the others the repeated /app is the least likely
    assert layer_flags(steps, 2) == [False, True, True, False]
    assert layer_flags(steps, 3) == [False, True, True, True]


def test_parent_images_pin_classic_workdir_layers() -> None:
    # Classic: WORKDIR makes a layer only if it created the directory, RUN only if it changed
    # something. Names alone would pick the RUN; the intermediate images' layer counts say it
    # was the second WORKDIR (the first named a directory the COPY had made).
    steps = [
        Step("/bin/sh -c #(nop) COPY dir:abc in /srv ", 100, "sha256:" + "1" * 64),
        Step("/bin/sh -c #(nop) WORKDIR /srv", 0, "sha256:" + "2" * 64),
        Step("/bin/sh -c #(nop) WORKDIR /app", 0, "sha256:" + "3" * 64),
        Step("/bin/sh -c true", 0, "sha256:" + "4" * 64),
        Step('/bin/sh -c #(nop)  CMD ["sh"]', 0, "sha256:" + "5" * 64),
    ]
    counts = {"1": 1, "2": 1, "3": 2, "4": 2}
    asked: list[str] = []

    def layers_of(image_id: str) -> int | None:
        asked.append(image_id)
        return counts[image_id[-1]]

    assert layer_flags(steps, 2) == [True, False, False, True, False]
    assert layer_flags(steps, 2, layers_of) == [True, False, True, False, False]
    assert len(asked) == 4  # the newest step's count is the image's own


def test_inconsistent_parent_counts_are_ignored() -> None:
    steps = [
        Step("/bin/sh -c #(nop) WORKDIR /a", 0, "sha256:" + "1" * 64),
        Step("/bin/sh -c #(nop) WORKDIR /b", 0, "sha256:" + "2" * 64),
    ]
    assert layer_flags(steps, 1, lambda _: 7) == [True, False]
    assert layer_flags(steps, 1, lambda _: None) == [True, False]


def test_history_shorter_than_the_layers() -> None:
    assert layer_flags([], 3) == []
    assert layer_flags([Step("/bin/sh -c true", 0), Step("ENV A=b", 0)], 3) == [True, True]


def test_engine_not_running() -> None:
    missing = "unix:///nonexistent/gatekeeper-test/docker.sock"
    with pytest.raises(DaemonUnavailable) as caught:
        open_image(ImageRef("docker-daemon", "app:test"), CONFIG, options(DOCKER_HOST=missing))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"cannot reach the Docker engine at {missing}: no such socket")
    assert f"DOCKER_HOST={missing}" in message


def test_engine_refusing_connections() -> None:
    with pytest.raises(DaemonUnavailable, match=r"tcp://127\.0\.0\.1:1: connection refused"):
        open_image(parse_reference("app:test"), CONFIG, options(DOCKER_HOST="tcp://127.0.0.1:1"))


def test_bad_tls_settings_are_reported_not_raised() -> None:
    environ = {
        "DOCKER_HOST": "tcp://127.0.0.1:1",
        "DOCKER_TLS_VERIFY": "1",
        "DOCKER_CERT_PATH": "/nonexistent/gatekeeper-test/certs",
    }
    with pytest.raises(DaemonUnavailable, match="certificate"):
        open_image(parse_reference("app:test"), CONFIG, options(**environ))


def test_docker_sdk_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "docker", None)
    with pytest.raises(SourceError, match="docker Python SDK is not installed") as caught:
        open_image(parse_reference("docker-daemon:app:test"), CONFIG, options())
    assert not isinstance(caught.value, DaemonUnavailable)


def test_a_broken_export_is_a_source_error_not_a_bad_archive(tmp_path: Path) -> None:
    import requests.exceptions

    path = tmp_path / "image.tar"
    write_docker_archive(path, BUSYBOX_LIKE)
    data = path.read_bytes()

    def chunks() -> Iterator[bytes]:
        yield data[:2048]
        raise requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead")

    ref = ImageRef("docker-daemon", "app:test")
    stream = _ChunkReader(chunks(), _Errors("app:test", options()))
    with pytest.raises(SourceError, match="app:test: the image export broke off") as caught:
        read_save_stream(stream, ref, FILES, source="docker-daemon", options=options())
    assert not isinstance(caught.value, BadArchive)


def test_chunk_reader_reads_across_chunks(tmp_path: Path) -> None:
    path = tmp_path / "image.tar"
    write_docker_archive(path, BUSYBOX_LIKE)
    data = path.read_bytes()
    pieces = [data[i : i + 1000] for i in range(0, len(data), 1000)]
    stream = _ChunkReader(iter(pieces), _Errors("app:test", options()))
    facts = read_save_stream(
        stream, ImageRef("docker-daemon", "app:test"), FILES, source="x", options=options()
    )
    assert facts.files is not None
    assert facts.files.content("/etc/passwd") is not None
    assert _ChunkReader(iter(pieces), _Errors("x", options())).read() == data


# ---------------------------------------------------------------- against the engine


@pytest.fixture(scope="module", params=BUILDERS)
def busybox(request: pytest.FixtureRequest, busybox_images: dict[Builder, BuiltImage]) -> BuiltImage:
    builder: Builder = request.param
    return busybox_images[builder]


@pytest.fixture(scope="module")
def exported(busybox: BuiltImage, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`docker save` of the image, the engine's own account of it."""
    path = tmp_path_factory.mktemp("save") / f"busybox-{busybox.builder}.tar"
    run(docker_cli(), "save", "-o", str(path), busybox.tag)
    return path


@pytest.mark.docker
def test_config_only_read(busybox: BuiltImage, docker_client: Any) -> None:
    facts = read(busybox.daemon_ref, CONFIG)
    inspect = docker_client.api.inspect_image(busybox.tag)

    assert facts.reference == f"docker-daemon:{busybox.tag}"
    assert facts.source == "docker-daemon"
    assert facts.config_digest == busybox.image_id
    assert facts.digest in {busybox.image_id, *(d.split("@")[1] for d in inspect["RepoDigests"])}
    assert busybox.tag in facts.repo_tags
    assert facts.platform == Platform("linux", inspect["Architecture"], inspect.get("Variant", ""))
    assert facts.files is None

    config = facts.config
    assert config.user == "10001:10001"
    assert config.env_value("APP_ENV") == "production"
    assert config.env_value("GREETING") == "hello world"
    assert config.label_map["org.opencontainers.image.title"] == "gk-test busybox"
    assert config.workdir == "/app"
    assert config.exposed_ports == ("8080/tcp",)
    assert config.cmd == ("/app/app.sh",)
    assert config.healthcheck is not None
    assert config.healthcheck.test == ("CMD", "/bin/wget", "-q", "-O-", "http://localhost:8080/")
    assert config.healthcheck.interval_ns == 30_000_000_000
    assert config.healthcheck.timeout_ns == 3_000_000_000
    assert config.healthcheck.start_period_ns == 5_000_000_000
    assert config.healthcheck.retries == 3

    # every layer is claimed by exactly one history entry, in order
    indexes = [h.layer_index for h in facts.history if not h.empty_layer]
    assert indexes == list(range(len(facts.layers)))
    assert [layer.diff_id for layer in facts.layers] == inspect["RootFS"]["Layers"]
    for entry in facts.history:
        if instruction(entry.created_by) in {"ENV", "LABEL", "ARG", "EXPOSE", "USER", "CMD"}:
            assert entry.empty_layer, entry.created_by
    assert "busybox" in facts.layers[0].created_by

    # sizes come free with the history and add up to what `docker images` shows
    sizes = [layer.size for layer in facts.layers]
    assert None not in sizes
    assert facts.size == inspect["Size"]
    assert facts.layers[0].size == Path("/bin/busybox").stat().st_size


@pytest.mark.docker
def test_history_mapping_matches_the_export(busybox: BuiltImage, exported: Path) -> None:
    daemon = read(busybox.daemon_ref, CONFIG)
    archive = read(f"docker-archive:{exported}", CONFIG)
    assert history_of(daemon) == history_of(archive)
    assert comparable(daemon, sizes=False) == comparable(archive, sizes=False)
    workdirs = [h for h in daemon.history if instruction(h.created_by) == "WORKDIR"]
    assert len(workdirs) == 2
    if busybox.builder == "classic":
        # the first WORKDIR /app created the directory (a layer), the second changed nothing
        assert [w.empty_layer for w in workdirs] == [False, True]
        noop = [h for h in daemon.history if h.created_by.endswith("-c true")]
        assert [h.empty_layer for h in noop] == [True]


@pytest.mark.docker
def test_sizes_match_the_layer_scanner(busybox: BuiltImage, exported: Path) -> None:
    daemon = read(busybox.daemon_ref, SIZES)
    scanned = read(f"docker-archive:{exported}", FILES)
    assert scanned.files is not None
    assert scanned.files.layer_sizes == tuple(layer.size for layer in scanned.layers)
    for mine, theirs in zip(daemon.layers, scanned.layers, strict=True):
        assert mine.size is not None
        assert theirs.size is not None
        if busybox.builder == "classic":
            assert mine.size == theirs.size, mine.created_by
        else:
            # dockerd 20.10 counts BuildKit's own layers without symlink target bytes
            links = symlink_bytes(scanned.files, theirs.index)
            assert mine.size in {theirs.size, theirs.size - links}, mine.created_by


@pytest.mark.docker
def test_filesystem_read(busybox: BuiltImage, docker_client: Any) -> None:
    facts = read(busybox.daemon_ref, FILES)
    files = facts.files
    assert files is not None
    assert facts.config_digest == busybox.image_id
    assert busybox.tag in facts.repo_tags

    passwd = files.content("/etc/passwd")
    assert passwd is not None
    assert b"app:x:10001:10001:" in passwd
    assert files.content("/etc/group") == b"root:x:0:\napp:x:10001:\n"

    # added in one layer, deleted in a later one: gone from the filesystem, still shipped
    assert files.get("/data/tmp-secret.txt") is None
    [secret] = [s for s in files.shadowed if s.entry.path == "/data/tmp-secret.txt"]
    assert secret.how is Removal.DELETED
    assert secret.by_layer > secret.entry.layer
    assert "rm /data/tmp-secret.txt" in facts.layers[secret.by_layer].created_by

    # a hardlink pair (the tar stores one as a file, the other as a link to it) and a symlink
    pair = [files.get("/data/original.txt"), files.get("/data/hardlink.txt")]
    assert all(entry is not None for entry in pair)
    kinds = sorted(entry.type.value for entry in pair if entry is not None)
    assert kinds == ["file", "hardlink"]
    link = next(e for e in pair if e is not None and e.type is FileType.HARDLINK)
    assert link.link_target in {"/data/original.txt", "/data/hardlink.txt"} - {link.path}
    assert link.size == 6
    symlink = files.get("/data/symlink.txt")
    assert symlink is not None
    assert symlink.type is FileType.SYMLINK
    assert symlink.link_target == "/data/original.txt"
    assert files.content("/data/symlink.txt") == b"hello\n"

    sh = files.find_executable("sh", facts.config.env_value("PATH") or "/bin")
    assert sh is not None
    assert sh.path == "/bin/busybox"
    app = files.get("/app/app.sh")
    assert app is not None
    assert (app.uid, app.gid, app.is_executable) == (10001, 10001, True)
    inspect = docker_client.api.inspect_image(busybox.tag)
    assert [layer.diff_id for layer in facts.layers] == inspect["RootFS"]["Layers"]


@pytest.mark.docker
def test_explicit_platform_must_match_the_engine_image(
    busybox: BuiltImage, docker_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    inspect = docker_client.api.inspect_image(busybox.tag)
    own = Platform("linux", inspect["Architecture"], inspect.get("Variant", ""))
    other = Platform("linux", "s390x" if own.architecture != "s390x" else "amd64")
    ref = parse_reference(busybox.daemon_ref)

    def no_export(*_: Any, **__: Any) -> None:
        raise AssertionError("the export started before the platform was checked")

    monkeypatch.setattr("gatekeeper.sources.daemon._from_export", no_export)
    with pytest.raises(SourceError) as caught:
        open_image(ref, FILES, replace(options(), platform=other, platform_requested=True))
    assert str(caught.value) == f"{busybox.daemon_ref}: the image is for {own}, not {other} (--platform)"
    # the same platform named explicitly, or another one only as the default: no error
    assert open_image(ref, CONFIG, replace(options(), platform=own, platform_requested=True)).platform == own
    assert open_image(ref, CONFIG, replace(options(), platform=other)).platform == own


@pytest.mark.docker
def test_unknown_image(docker_client: Any) -> None:
    with pytest.raises(ImageNotFound) as caught:
        read("docker-daemon:gk-test/no-such-image:nope", CONFIG)
    assert str(caught.value) == "gk-test/no-such-image:nope: no such image in the local Docker engine"


@pytest.mark.docker
def test_invalid_name_is_a_source_error(docker_client: Any) -> None:
    with pytest.raises(SourceError, match="invalid reference format") as caught:
        read("docker-daemon:Not/A/Valid/NAME", CONFIG)
    assert not isinstance(caught.value, ImageNotFound)
    assert "\n" not in str(caught.value)


@pytest.mark.docker
def test_image_without_history(docker_client: Any, tmp_path: Path) -> None:
    # Some builders (ko, nix, ...) write no history: sizes must then come from the layers.
    path = tmp_path / "nohistory.tar"
    tag = "gk-test/no-history:latest"
    write_docker_archive(path, Image(layers=BUSYBOX_LIKE.layers, history=[]), tags=(tag,))
    with path.open("rb") as handle:
        docker_client.api.load_image(handle.read())

    config_only = read(tag, CONFIG)
    assert config_only.history == ()
    assert [layer.size for layer in config_only.layers] == [None]

    sized = read(tag, SIZES)
    archive = read(f"docker-archive:{path}", SIZES)
    assert sized.size is not None
    assert sized.size == archive.size
    assert sized.repo_tags == (tag,)


# ---------------------------------------------------------------- one image, every source


@pytest.fixture(scope="module")
def pushed(busybox: BuiltImage, registry: str, skopeo: str) -> str:
    """The image copied to the loopback registry by skopeo: `host:port/repo:tag`."""
    target = f"{registry}/gk-test/busybox:{busybox.builder}"
    run(skopeo, "copy", "-q", "--dest-tls-verify=false", busybox.daemon_ref, f"docker://{target}")
    return target


@pytest.mark.docker
@pytest.mark.registry
def test_same_facts_from_every_source(
    busybox: BuiltImage, exported: Path, pushed: str, skopeo: str, tmp_path: Path
) -> None:
    daemon = read(busybox.daemon_ref, FILES)
    expected = comparable(daemon)
    assert comparable(read(f"docker-archive:{exported}", FILES)) == expected

    # skopeo's default conversion to an OCI manifest rewrites the config as an OCI config, which
    # has no Healthcheck field: HEALTHCHECK is lost. Keeping the Docker manifest keeps the config.
    run(skopeo, "copy", "-q", busybox.daemon_ref, f"oci:{tmp_path / 'oci'}:{busybox.builder}")
    converted = read(f"oci:{tmp_path / 'oci'}:{busybox.builder}", FILES)
    assert converted.config.healthcheck is None
    assert comparable(replace(converted, config=daemon.config)) == expected
    kept = f"oci:{tmp_path / 'oci-v2s2'}:{busybox.builder}"
    run(skopeo, "copy", "-q", "--format", "v2s2", busybox.daemon_ref, kept)
    assert comparable(read(kept, FILES)) == expected

    # and back from the registry
    source = f"docker://{pushed}"
    pulled_oci = tmp_path / "pulled-oci"
    pull = (skopeo, "copy", "-q", "--src-tls-verify=false", "--preserve-digests", source)
    run(*pull, f"oci:{pulled_oci}:latest")
    from_layout = read(f"oci:{pulled_oci}:latest", FILES)
    assert comparable(from_layout) == expected
    assert from_layout.config_digest == busybox.image_id  # the config travelled byte for byte
    pulled_archive = tmp_path / "pulled.tar"
    run(skopeo, "copy", "-q", "--src-tls-verify=false", source, f"docker-archive:{pulled_archive}")
    assert comparable(read(f"docker-archive:{pulled_archive}", FILES)) == expected

    # config-only: the daemon's own sizes agree with the scans (classic; see the sizes test)
    config_only = comparable(read(busybox.daemon_ref, SIZES))
    scanned = comparable(read(f"oci:{pulled_oci}:latest", SIZES))
    if busybox.builder == "buildkit":
        del config_only["sizes"]
        del scanned["sizes"]
    assert config_only == scanned


@pytest.mark.docker
@pytest.mark.registry
def test_registry_source_agrees_with_the_daemon(busybox: BuiltImage, pushed: str) -> None:
    """gatekeeper's own registry reader (gatekeeper/sources/registry.py) on the pushed image."""
    daemon = read(busybox.daemon_ref, FILES)
    remote = read(f"docker://{pushed}", FILES)
    assert comparable(remote) == comparable(daemon)
    assert remote.config_digest == busybox.image_id
    assert remote.compressed_size is not None
    config_only = read(f"docker://{pushed}", CONFIG)
    assert comparable(config_only, sizes=False) == comparable(read(busybox.daemon_ref, CONFIG), sizes=False)


# ---------------------------------------------------------------- a Debian-based image


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("builder", BUILDERS)
def test_debian_based_image(
    builder: Builder,
    python_images: dict[Builder, BuiltImage],
    docker_client: Any,
    tmp_path: Path,
) -> None:
    image = python_images[builder]
    inspect = docker_client.api.inspect_image(image.tag)
    config_only = read(image.daemon_ref, SIZES)
    assert config_only.config.user == "app"
    assert config_only.config.workdir == "/app"
    assert config_only.config.env_value("LANG") == "C.UTF-8"
    assert config_only.size == inspect["Size"]
    assert config_only.config.healthcheck is not None

    path = tmp_path / "python-app.tar"
    run(docker_cli(), "save", "-o", str(path), image.tag)
    archive = read(f"docker-archive:{path}", CONFIG)
    assert history_of(config_only) == history_of(archive)
    # the base layers (debootstrap tree, python) came from `docker import` / the classic builder
    assert config_only.layers[0].size == archive_sizes(path)[0]

    # /etc/os-release is a symlink: the bytes are kept under the path of the file it points at
    paths = {"/etc/passwd", "/etc/os-release", "/usr/lib/os-release", "/app/app.py"}
    wanted = ContentWanted(frozenset(paths))
    request = Request(Need.FILESYSTEM, wanted)
    daemon = read(image.daemon_ref, request)
    assert comparable(daemon) == comparable(read(f"docker-archive:{path}", request))
    assert daemon.files is not None
    passwd = daemon.files.content("/etc/passwd")
    assert passwd is not None
    assert b"app:x:10001:10001:" in passwd
    os_release = daemon.files.content("/etc/os-release")
    assert os_release is not None
    assert b"bookworm" in os_release
    assert daemon.files.content("/app/app.py") == b'print("hello from gk-test/python-app")\n'
    assert daemon.files.find_executable("python3", "/usr/local/bin:/usr/bin:/bin") is not None


def archive_sizes(path: Path) -> list[int | None]:
    return [layer.size for layer in read(f"docker-archive:{path}", SIZES).layers]


def test_unavailable_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        unavailable("no engine")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        unavailable("no engine")
