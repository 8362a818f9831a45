"""`parse_reference`: skopeo-style transports, to ImageRef (or UsageError)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gatekeeper.errors import UsageError
from gatekeeper.sources import ImageRef, parse_reference


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # bare names go to the local engine
        ("app", ImageRef("docker-daemon", "app")),
        ("app:prod", ImageRef("docker-daemon", "app:prod")),
        ("library/nginx:1.27", ImageRef("docker-daemon", "library/nginx:1.27")),
        ("localhost:5000/team/app:1", ImageRef("docker-daemon", "localhost:5000/team/app:1")),
        (
            "ghcr.io/o/app@sha256:" + "a" * 64,
            ImageRef("docker-daemon", "ghcr.io/o/app@sha256:" + "a" * 64),
        ),
        ("sha256:" + "b" * 64, ImageRef("docker-daemon", "sha256:" + "b" * 64)),
        ("OCI:dir", ImageRef("docker-daemon", "OCI:dir")),
        # explicit engine
        ("docker-daemon:app", ImageRef("docker-daemon", "app")),
        ("docker-daemon:app:prod", ImageRef("docker-daemon", "app:prod")),
        ("docker-daemon:localhost:5000/a:b", ImageRef("docker-daemon", "localhost:5000/a:b")),
        # registries
        ("docker://registry.example/app:1", ImageRef("docker", "registry.example/app:1")),
        (
            "docker://localhost:5000/a/b@sha256:" + "c" * 64,
            ImageRef("docker", "localhost:5000/a/b@sha256:" + "c" * 64),
        ),
        ("docker://app", ImageRef("docker", "app")),
        # files that do not exist: split at the first ':' (the error then names the file)
        ("docker-archive:app.tar", ImageRef("docker-archive", "app.tar")),
        ("docker-archive:app.tar:app:test", ImageRef("docker-archive", "app.tar", "app:test")),
        ("oci:layout", ImageRef("oci", "layout")),
        ("oci:layout:v1", ImageRef("oci", "layout", "v1")),
        ("oci-archive:img.tar", ImageRef("oci-archive", "img.tar")),
        ("oci-archive:img.tar:latest", ImageRef("oci-archive", "img.tar", "latest")),
        ("oci:/abs/dir:tag", ImageRef("oci", "/abs/dir", "tag")),
    ],
)
def test_parse(text: str, expected: ImageRef) -> None:
    assert parse_reference(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        " app",
        "app ",
        "app\n",
        "\tdocker-archive:x.tar",
        "docker-daemon:",
        "docker-archive:",
        "oci:",
        "oci-archive:",
        "docker://",
        "docker:app",
        "docker:/app",
    ],
)
def test_invalid(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_reference(text)
    assert "\n" not in str(caught.value)


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("existing", "text", "expected"),
    [
        # an existing path wins, ':' and all
        ("a:b.tar", "docker-archive:a:b.tar", ImageRef("docker-archive", "a:b.tar")),
        (
            "a:b.tar",
            "docker-archive:a:b.tar:app:test",
            ImageRef("docker-archive", "a:b.tar", "app:test"),
        ),
        ("a:b.tar", "docker-archive:a:b.tar:app", ImageRef("docker-archive", "a:b.tar", "app")),
        ("x:1:2.tar", "oci-archive:x:1:2.tar:v1", ImageRef("oci-archive", "x:1:2.tar", "v1")),
        # only the shorter path exists: everything after it is the selector
        ("a", "docker-archive:a:b.tar:t", ImageRef("docker-archive", "a", "b.tar:t")),
        (
            "plain.tar",
            "docker-archive:plain.tar:app:1",
            ImageRef("docker-archive", "plain.tar", "app:1"),
        ),
        ("dir:with:colons/", "oci:dir:with:colons:v2", ImageRef("oci", "dir:with:colons", "v2")),
        ("dir:with:colons/", "oci:dir:with:colons", ImageRef("oci", "dir:with:colons")),
    ],
)
def test_existing_paths_with_colons(in_tmp: Path, existing: str, text: str, expected: ImageRef) -> None:
    if existing.endswith("/"):
        os.mkdir(existing)
    else:
        (in_tmp / existing).write_bytes(b"")
    assert parse_reference(text) == expected


def test_both_prefixes_exist_longest_wins(in_tmp: Path) -> None:
    (in_tmp / "a").write_bytes(b"")
    (in_tmp / "a:b.tar").write_bytes(b"")
    assert parse_reference("docker-archive:a:b.tar:t") == ImageRef("docker-archive", "a:b.tar", "t")


def test_absolute_existing_path_with_colon(tmp_path: Path) -> None:
    path = tmp_path / "img:v1.tar"
    path.write_bytes(b"")
    assert parse_reference(f"docker-archive:{path}:app:v1") == ImageRef("docker-archive", str(path), "app:v1")


@pytest.mark.parametrize(
    ("ref", "text", "display"),
    [
        (ImageRef("docker-daemon", "app:1"), "docker-daemon:app:1", "app:1"),
        (ImageRef("docker", "host/app:1"), "docker://host/app:1", "host/app:1"),
        (ImageRef("docker-archive", "a.tar"), "docker-archive:a.tar", "a.tar"),
        (ImageRef("docker-archive", "a.tar", "app:2"), "docker-archive:a.tar:app:2", "app:2"),
        (ImageRef("oci", "dir", "v1"), "oci:dir:v1", "v1"),
    ],
)
def test_str_and_display_name(ref: ImageRef, text: str, display: str) -> None:
    assert str(ref) == text
    assert ref.display_name == display
    if ref.transport != "docker-daemon":
        assert parse_reference(text) == ref
