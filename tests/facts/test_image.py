"""FileIndex lookups (symlinks, hardlinks, PATH search) and the small value types of facts.image."""

from __future__ import annotations

import pytest

from gatekeeper.facts.image import (
    FileEntry,
    FileIndex,
    FileType,
    Healthcheck,
    ImageConfig,
    ImageFacts,
    Layer,
    Platform,
    normalize_path,
)


def f(path: str, mode: int = 0o644, size: int = 1, layer: int = 0) -> FileEntry:
    return FileEntry(path, FileType.FILE, size, mode, 0, 0, layer)


def d(path: str) -> FileEntry:
    return FileEntry(path, FileType.DIR, 0, 0o755, 0, 0, 0)


def ln(path: str, target: str) -> FileEntry:
    return FileEntry(path, FileType.SYMLINK, 0, 0o777, 0, 0, 0, target)


def hl(path: str, target: str, mode: int = 0o755, size: int = 1) -> FileEntry:
    return FileEntry(path, FileType.HARDLINK, size, mode, 0, 0, 0, target)


ENTRIES = [
    ln("/bin", "usr/bin"),  # merged /usr, relative
    ln("/lib", "/usr/lib"),  # absolute
    d("/usr"),
    d("/usr/bin"),
    f("/usr/bin/dash", 0o755, 100),
    ln("/usr/bin/sh", "dash"),
    f("/usr/bin/env", 0o755),
    ln("/usr/bin/python3", "python3.12"),
    f("/usr/bin/python3.12", 0o755),
    d("/usr/bin/subdir"),
    d("/usr/lib"),
    f("/usr/lib/libc.so", 0o755),
    ln("/usr/lib64", "lib"),
    d("/usr/local"),
    d("/usr/local/bin"),
    ln("/usr/local/bin/python", "/etc/alternatives/python"),
    d("/etc"),
    f("/etc/passwd", 0o644, 30),
    hl("/etc/passwd.hard", "/etc/passwd", 0o644, 30),
    d("/etc/alternatives"),
    ln("/etc/alternatives/python", "/usr/bin/python3"),
    d("/loop"),
    ln("/loop/a", "b"),
    ln("/loop/b", "a"),
    ln("/self", "self"),
    ln("/up", "../../../etc/passwd"),
    ln("/dangling", "/nope"),
    d("/data"),
    f("/data/readme"),
    d("/sbin"),
    hl("/sbin/dash-hard", "/usr/bin/dash"),
    hl("/sbin/orphan", "/gone"),
    d("/first"),
    f("/first/tool", 0o644),
    d("/second"),
    f("/second/tool", 0o700),
    d("/third"),
    f("/third/tool", 0o755),
    f("/usr/bin/script", 0o4711),
]
FS = FileIndex(
    files={e.path: e for e in ENTRIES},
    contents={
        (0, "/etc/passwd"): b"root:x:0:0::/root:/bin/sh\n",
        (0, "/usr/bin/dash"): b"\x7fELF",
    },
)
BY_PATH = {e.path: e for e in ENTRIES}


@pytest.mark.parametrize(
    ("path", "found"),
    [
        ("/usr/bin/dash", "/usr/bin/dash"),
        ("/bin/dash", "/usr/bin/dash"),  # relative symlinked directory
        ("/bin/sh", "/usr/bin/dash"),  # directory link, then file link
        ("/lib/libc.so", "/usr/lib/libc.so"),  # absolute symlinked directory
        ("/usr/lib64/libc.so", "/usr/lib/libc.so"),  # link to a sibling
        ("/usr/local/bin/python", "/usr/bin/python3.12"),  # abs -> abs -> relative
        ("/up", "/etc/passwd"),  # `..` above / stays at /
        ("/bin", "/usr/bin"),  # the final component is followed too
        ("/lib", "/usr/lib"),
        ("bin/sh", "/usr/bin/dash"),
        ("./bin//sh", "/usr/bin/dash"),
        ("/usr/bin/subdir/../sh", "/usr/bin/dash"),
        ("/etc/passwd.hard", "/etc/passwd.hard"),  # hardlinks are entries of their own
        ("/loop/a", None),
        ("/loop/b", None),
        ("/self", None),
        ("/dangling", None),
        ("/nope", None),
        ("/nope/deeper", None),
        ("/etc/passwd/child", None),  # a file is no directory
        ("/", None),
        ("", None),
    ],
)
def test_resolve(path: str, found: str | None) -> None:
    entry = FS.resolve(path)
    assert (entry.path if entry is not None else None) == found
    if found is not None:
        assert entry == BY_PATH[found]


def test_resolve_gives_up_after_max_links() -> None:
    chain = FileIndex(
        files={
            "/l0": ln("/l0", "/l1"),
            "/l1": ln("/l1", "/l2"),
            "/l2": ln("/l2", "/l3"),
            "/l3": f("/l3"),
        }
    )
    assert chain.resolve("/l0") == f("/l3")
    assert chain.resolve("/l0", max_links=4) == f("/l3")
    assert chain.resolve("/l0", max_links=3) is None


def test_resolve_through_implicit_directories() -> None:
    # Layer tars may omit parent directories (`tar` of single files does).
    index = FileIndex(
        files={
            "/opt/app/run": f("/opt/app/run", 0o755),
            "/opt/link": ln("/opt/link", "app/run"),
            "/srv/file": f("/srv/file"),
        }
    )
    assert index.resolve("/opt/app/run") == f("/opt/app/run", 0o755)
    assert index.resolve("/opt/link") == f("/opt/app/run", 0o755)
    assert index.find_executable("run", "/opt/app") == f("/opt/app/run", 0o755)
    assert index.resolve("/opt/app") is None  # no entry for the directory itself
    assert index.resolve("/opt/app/missing") is None
    assert index.resolve("/srv/file/child") is None


@pytest.mark.parametrize(
    ("name", "search_path", "found"),
    [
        ("sh", "/usr/local/bin:/usr/bin:/bin", "/usr/bin/dash"),
        ("sh", "/bin", "/usr/bin/dash"),
        ("python", "/usr/local/sbin:/usr/local/bin", "/usr/bin/python3.12"),
        ("env", "", None),
        ("env", "::/usr/bin:", "/usr/bin/env"),
        ("env", "/nope:/etc:/usr/bin", "/usr/bin/env"),
        ("readme", "/data", None),  # not executable
        ("subdir", "/usr/bin", None),  # a directory
        ("missing", "/usr/bin:/bin", None),
        ("tool", "/first:/second:/third", "/second/tool"),  # non-executable ones are skipped
        ("tool", "/third:/second", "/third/tool"),  # PATH order
        ("dash-hard", "/sbin", "/usr/bin/dash"),  # a hardlink is its target
        ("orphan", "/sbin", "/sbin/orphan"),  # hardlink to nothing: itself, if executable
        ("script", "/usr/bin", "/usr/bin/script"),  # setuid, executable by owner only
        ("/usr/bin/env", "", "/usr/bin/env"),  # a path is not searched
        ("/bin/sh", "/nope", "/usr/bin/dash"),
        ("usr/bin/env", "/nope", "/usr/bin/env"),  # has a '/': relative to /
        ("/data/readme", "/usr/bin", None),
        ("/dangling", "/", None),
        ("loop/a", "", None),
    ],
)
def test_find_executable(name: str, search_path: str, found: str | None) -> None:
    entry = FS.find_executable(name, search_path)
    assert (entry.path if entry is not None else None) == found


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/etc/passwd", b"root:x:0:0::/root:/bin/sh\n"),
        ("etc/passwd", b"root:x:0:0::/root:/bin/sh\n"),
        ("/up", b"root:x:0:0::/root:/bin/sh\n"),  # through a symlink
        ("/etc/passwd.hard", b"root:x:0:0::/root:/bin/sh\n"),  # through a hardlink
        ("/bin/sh", b"\x7fELF"),  # symlinked dir + symlink
        ("/sbin/dash-hard", b"\x7fELF"),  # hardlink
        ("/usr/bin/env", None),  # not captured
        ("/sbin/orphan", None),  # hardlink to a missing file
        ("/usr/bin", None),
        ("/loop/a", None),
        ("/nope", None),
    ],
)
def test_content(path: str, data: bytes | None) -> None:
    assert FS.content(path) == data


def test_content_is_never_stale() -> None:
    # The live file comes from layer 2; only layer 0's bytes were captured.
    index = FileIndex(
        files={"/etc/conf": f("/etc/conf", layer=2)},
        contents={(0, "/etc/conf"): b"old"},
    )
    assert index.content("/etc/conf") is None


def test_get_does_not_follow_links() -> None:
    assert FS.get("bin/sh") is None  # /bin is a link: no entry under that spelling
    assert FS.get("/usr/bin/sh") == ln("/usr/bin/sh", "dash")
    assert FS.get("./usr//bin/sh") == ln("/usr/bin/sh", "dash")
    assert FS.get("/nope") is None


def test_walk() -> None:
    assert sorted(e.path for e in FS.walk("/usr/local")) == [
        "/usr/local/bin",
        "/usr/local/bin/python",
    ]
    assert sorted(e.path for e in FS.walk("usr/local/")) == [
        "/usr/local/bin",
        "/usr/local/bin/python",
    ]
    assert {e.path for e in FS.walk()} == set(BY_PATH)
    assert list(FS.walk("/usr/bin/dash")) == []
    assert [e.path for e in FS.walk("/sec")] == []  # a prefix of a name is not a directory


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        (".env", "/.env"),
        ("./.env", "/.env"),
        ("/.env", "/.env"),
        ("./a//b", "/a/b"),
        ("/", "/"),
        ("", "/"),
        (".", "/"),
        ("./", "/"),
        ("//", "/"),
        ("//etc", "/etc"),
        ("///etc//passwd/", "/etc/passwd"),
        ("etc/passwd", "/etc/passwd"),
        ("././etc", "/etc"),
        ("/a/./b/.", "/a/b"),
        ("a/../b", "/b"),
        ("../../x", "/x"),
        ("..", "/"),
        (".wh..wh..opq", "/.wh..wh..opq"),
        ("...", "/..."),
        ("/a b/c", "/a b/c"),
    ],
)
def test_normalize_path(raw: str, norm: str) -> None:
    assert normalize_path(raw) == norm
    assert normalize_path(norm) == norm


@pytest.mark.parametrize(
    ("entry", "executable"),
    [
        (f("/x", 0o755), True),
        (f("/x", 0o100), True),
        (f("/x", 0o001), True),
        (f("/x", 0o644), False),
        (hl("/x", "/y", 0o755), True),
        (d("/x"), False),
        (ln("/x", "/y"), False),
    ],
)
def test_is_executable(entry: FileEntry, executable: bool) -> None:
    assert entry.is_executable is executable


@pytest.mark.parametrize(
    ("text", "platform"),
    [
        ("linux/amd64", Platform("linux", "amd64")),
        ("linux/arm64/v8", Platform("linux", "arm64", "v8")),
        ("windows/amd64", Platform("windows", "amd64")),
    ],
)
def test_platform_parse(text: str, platform: Platform) -> None:
    assert Platform.parse(text) == platform
    assert str(platform) == text


@pytest.mark.parametrize("text", ["", "linux", "linux/", "/amd64", "a/b/c/d", "linux//v7"])
def test_platform_parse_invalid(text: str) -> None:
    with pytest.raises(ValueError, match="os/arch"):
        Platform.parse(text)


@pytest.mark.parametrize(
    ("check", "disabled", "text"),
    [
        (Healthcheck(("CMD", "curl", "-f", "http://x/")), False, "curl -f http://x/"),
        (Healthcheck(("CMD-SHELL", "curl -f x || exit 1")), False, "curl -f x || exit 1"),
        (Healthcheck(("NONE",)), True, "NONE"),
        (Healthcheck(()), True, "NONE"),
    ],
)
def test_healthcheck(check: Healthcheck, disabled: bool, text: str) -> None:
    assert check.disabled is disabled
    assert check.command_text == text


def test_image_config_lookups() -> None:
    cfg = ImageConfig(env=(("A", "1"), ("B", ""), ("A", "2")), labels=(("k", "v"),))
    assert cfg.env_value("A") == "1"
    assert cfg.env_value("B") == ""
    assert cfg.env_value("C") is None
    assert cfg.label_map == {"k": "v"}


@pytest.mark.parametrize(
    ("sizes", "compressed", "total", "total_compressed"),
    [
        ([10, 20], [3, 4], 30, 7),
        ([10, None], [3, 4], None, 7),
        ([10, 20], [None, 4], 30, None),
        ([], [], 0, 0),
    ],
)
def test_image_sizes(
    sizes: list[int | None],
    compressed: list[int | None],
    total: int | None,
    total_compressed: int | None,
) -> None:
    layers = tuple(
        Layer(i, f"sha256:{i}", size=s, compressed_size=c)
        for i, (s, c) in enumerate(zip(sizes, compressed, strict=True))
    )
    facts = ImageFacts("r", "oci", "d", "c", Platform(), ImageConfig(), (), layers)
    assert facts.size == total
    assert facts.compressed_size == total_compressed
