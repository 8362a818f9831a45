"""The registry source against a loopback registry served from this file (no other network)."""

from __future__ import annotations

import base64
import gzip
import json
import logging
import os
import re
import socket
import stat
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import pytest

from gatekeeper.errors import (
    BadArchive,
    DigestMismatch,
    ImageNotFound,
    RegistryAuthError,
    RegistryError,
    SourceError,
    UsageError,
)
from gatekeeper.facts.image import ImageFacts, Platform
from gatekeeper.facts.needs import ContentWanted, Need, Request
from gatekeeper.sources import ImageRef, SourceOptions, open_image, parse_reference
from gatekeeper.sources.oci_layout import open_oci
from gatekeeper.sources.registry import (
    Challenge,
    Credentials,
    RegistryClient,
    RegistryRef,
    RetryPolicy,
    TokenCache,
    find_credentials,
    new_session,
    open_registry,
    parse_registry_reference,
    parse_www_authenticate,
    proxies_for,
    registry_scheme,
)
from tests.imagegen import (
    OCI_INDEX,
    OCI_MANIFEST,
    Compression,
    Image,
    Written,
    directory,
    exe,
    file,
    hardlink,
    oci_blobs,
    sha256,
    symlink,
    whiteout,
    write_oci_layout,
)

DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+prettyjws"
USER, PASSWORD = "alice", "s3cret"
STATIC_TOKEN = "static-registry-token"
REFRESH_TOKEN = "refresh-me"

IMAGE = Image(
    layers=[
        [
            directory("/bin"),
            exe("/bin/app", b"\x7fELF app"),
            symlink("/bin/sh", "app"),
            hardlink("/bin/app2", "/bin/app"),
            directory("/etc"),
            file("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
            file("/etc/secret.key", "-----BEGIN PRIVATE KEY-----\n"),
        ],
        [
            whiteout("/etc/secret.key"),
            file("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:10001:10001::/:/bin/sh\n"),
            directory("/data", mode=0o777),
        ],
    ],
    config={"User": "10001", "Cmd": ["app"], "Env": ["PATH=/bin"]},
)
ARM_IMAGE = replace(IMAGE, architecture="arm64")
FILES = Request(Need.FILESYSTEM, ContentWanted(paths=frozenset({"/etc/passwd"})))
SIZES = Request(Need.SIZES)
CONFIG_ONLY = Request()


# --- the loopback registry ------------------------------------------------------------------------


@dataclass
class Behaviour:
    """What the fake registry does; tests flip these switches."""

    auth: Literal["none", "bearer", "basic"] = "none"
    login_required: bool = False
    """The token endpoint wants valid Basic credentials (else anonymous tokens are issued)."""
    deny_all: bool = False
    forbidden: bool = False
    fail_first: int = 0
    always_fail: bool = False
    redirect: Literal["", "same", "cross"] = ""
    replaced: dict[str, bytes] = field(default_factory=dict)
    """Digest -> other bytes served in its place."""
    truncated: dict[str, int] = field(default_factory=dict)
    """Digest -> how many more times to break the download off halfway."""
    wrong_digest_header: bool = False
    oauth_post_404: bool = False
    token_key: str = "token"
    content_type: str = ""
    delay: float = 0.0
    error_body: bytes = b""
    """Served in place of the JSON error body of a 403."""
    token_body: bytes = b""
    """Served in place of the token endpoint's JSON answer."""
    token_gzip: bool = False
    """token_body goes out gzip-encoded (Content-Encoding: gzip)."""
    realm: str = ""
    """The Bearer challenge's realm, in place of this server's /token."""
    redirect_to: str = ""
    """Where blob redirects point, in place of this server's /storage/."""


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that time out or hang up early are part of the tests


class FakeRegistry:
    """A distribution-API registry on 127.0.0.1 with a token endpoint and a blob 'storage'."""

    def __init__(self) -> None:
        self.manifests: dict[tuple[str, str], tuple[str, bytes]] = {}
        self.blobs: dict[tuple[str, str], bytes] = {}
        self.behaviour = Behaviour()
        self.tokens: set[str] = {STATIC_TOKEN}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._failures = 0
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self.port = int(self._server.server_address[1])
        self.host = f"127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # what tests look at

    def paths(self, prefix: str = "") -> list[str]:
        return [s.path for s in self.seen if s.path.startswith(prefix)]

    def blob_requests(self, digest: str) -> list[Seen]:
        return [s for s in self.seen if s.path.endswith(f"/blobs/{digest}")]

    # pushing

    def push(self, repo: str, written: Written, tag: str = "latest") -> str:
        for digest, data in written.blobs.items():
            self.blobs[(repo, digest)] = data
        return self.put_manifest(repo, tag, written.blobs[written.manifest_digest])

    def put_manifest(self, repo: str, tag: str, body: bytes, media_type: str = "") -> str:
        media_type = media_type or json.loads(body).get("mediaType", OCI_MANIFEST)
        digest = sha256(body)
        self.manifests[(repo, tag)] = (media_type, body)
        self.manifests[(repo, digest)] = (media_type, body)
        return digest

    # serving

    def handle(self, h: BaseHTTPRequestHandler, body: bytes) -> None:
        url = urlsplit(h.path)
        headers = {k.lower(): v for k, v in h.headers.items()}
        with self._lock:
            self.seen.append(Seen(h.command, url.path, parse_qs(url.query), headers, body))
        if url.path == "/token":
            return self._token(h, headers, parse_qs(url.query), body)
        if url.path.startswith("/storage/"):
            repo, _, digest = url.path.removeprefix("/storage/").rpartition("/")
            return self._blob(h, repo, digest, redirect=False)
        return self._registry(h, url.path, headers)

    def _registry(self, h: BaseHTTPRequestHandler, path: str, headers: dict[str, str]) -> None:
        b = self.behaviour
        if b.delay:
            time.sleep(b.delay)
        if b.always_fail or self._fail_now():
            return _send(h, 500, _errors("UNKNOWN", "storage backend exploded, again"))
        match = re.fullmatch(r"/v2/(.+)/(manifests|blobs)/([^/]+)", path)
        if match is None:
            return _send(h, 404, _errors("NAME_UNKNOWN", "no such endpoint"))
        repo, kind, ref = match.groups()
        if not self._authorized(headers.get("authorization", "")):
            return self._challenge(h, repo)
        if b.forbidden:
            body = b.error_body or _errors("DENIED", "requested access to the resource is denied")
            return _send(h, 403, body)
        if kind == "manifests":
            return self._manifest(h, repo, ref)
        return self._blob(h, repo, ref, redirect=bool(b.redirect))

    def _fail_now(self) -> bool:
        with self._lock:
            self._failures += 1
            return self._failures <= self.behaviour.fail_first

    def _authorized(self, authorization: str) -> bool:
        b = self.behaviour
        if b.deny_all:
            return False
        if b.auth == "bearer":
            return authorization.removeprefix("Bearer ") in self.tokens
        if b.auth == "basic":
            return authorization == _basic(USER, PASSWORD)
        return True

    def _challenge(self, h: BaseHTTPRequestHandler, repo: str) -> None:
        if self.behaviour.auth == "basic":
            challenge = 'Basic realm="fake registry"'
        else:
            challenge = (
                f'Bearer realm="{self.behaviour.realm or f"http://{self.host}/token"}",service="fake,registry",'
                f'scope="repository:{repo}:pull,push"'
            )
        body = _errors("UNAUTHORIZED", "authentication required")
        _send(h, 401, body, {"WWW-Authenticate": challenge})

    def _manifest(self, h: BaseHTTPRequestHandler, repo: str, ref: str) -> None:
        found = self.manifests.get((repo, ref))
        if found is None:
            return _send(h, 404, _errors("MANIFEST_UNKNOWN", f"manifest unknown: {ref}"))
        media_type, body = found
        digest = sha256(body)
        body = self.behaviour.replaced.get(digest, body)
        header_digest = sha256(b"x" + body) if self.behaviour.wrong_digest_header else digest
        headers = {"Docker-Content-Digest": header_digest}
        _send(h, 200, body, headers, self.behaviour.content_type or media_type)

    def _blob(self, h: BaseHTTPRequestHandler, repo: str, digest: str, *, redirect: bool) -> None:
        data = self.blobs.get((repo, digest))
        if data is None:
            return _send(h, 404, _errors("BLOB_UNKNOWN", f"blob unknown: {digest}"))
        if redirect:
            host = f"localhost:{self.port}" if self.behaviour.redirect == "cross" else self.host
            location = self.behaviour.redirect_to or f"http://{host}/storage/{repo}/{digest}"
            return _send(h, 307, b"", {"Location": location})
        if self._truncate_now(digest):
            h.close_connection = True
            return _send(h, 200, data, {}, "application/octet-stream", cut=len(data) // 2)
        _send(h, 200, self.behaviour.replaced.get(digest, data), {}, "application/octet-stream")

    def _truncate_now(self, digest: str) -> bool:
        with self._lock:
            left = self.behaviour.truncated.get(digest, 0)
            self.behaviour.truncated[digest] = left - 1
            return left > 0

    def _token(
        self,
        h: BaseHTTPRequestHandler,
        headers: dict[str, str],
        query: dict[str, list[str]],
        body: bytes,
    ) -> None:
        b = self.behaviour
        if h.command == "POST":
            if b.oauth_post_404:
                return _send(h, 404, b"not here")
            form = parse_qs(body.decode())
            if form.get("refresh_token") != [REFRESH_TOKEN]:
                return _send(h, 401, _errors("UNAUTHORIZED", "bad refresh token"))
            return self._issue(h, "access_token")
        authorization = headers.get("authorization")
        if authorization is not None and authorization != _basic(USER, PASSWORD):
            return _send(h, 401, _errors("UNAUTHORIZED", "incorrect username or password"))
        if b.login_required and authorization is None:
            return _send(h, 401, _errors("UNAUTHORIZED", "login required"))
        return self._issue(h, b.token_key)

    def _issue(self, h: BaseHTTPRequestHandler, key: str) -> None:
        if self.behaviour.token_body:
            if self.behaviour.token_gzip:
                body = gzip.compress(self.behaviour.token_body)
                return _send(h, 200, body, {"Content-Encoding": "gzip"})
            return _send(h, 200, self.behaviour.token_body)
        with self._lock:
            token = f"tok-{len(self.tokens)}"
            self.tokens.add(token)
        _send(h, 200, json.dumps({key: token, "expires_in": 300}).encode())


def _handler_for(fake: FakeRegistry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            fake.handle(self, b"")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            fake.handle(self, self.rfile.read(length))

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def _send(
    h: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json",
    *,
    cut: int | None = None,
) -> None:
    """Answer; with `cut`, announce the whole body but send only its first `cut` bytes."""
    h.send_response(status)
    h.send_header("Content-Type", content_type)
    h.send_header("Content-Length", str(len(body)))
    for key, value in (headers or {}).items():
        h.send_header(key, value)
    h.end_headers()
    h.wfile.write(body[:cut])


def _errors(code: str, message: str) -> bytes:
    return json.dumps({"errors": [{"code": code, "message": message, "detail": None}]}).encode()


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def fake() -> Iterator[FakeRegistry]:
    reg = FakeRegistry()
    yield reg
    reg.close()


# --- helpers --------------------------------------------------------------------------------------

NO_WAIT = RetryPolicy(attempts=3, base_delay=0.0)


def options(environ: dict[str, str] | None = None, **kwargs: Any) -> SourceOptions:
    return SourceOptions(timeout=5.0, environ=environ or {}, **kwargs)


def read(
    reg: FakeRegistry,
    name: str = "app:latest",
    request: Request = CONFIG_ONLY,
    opts: SourceOptions | None = None,
    retry: RetryPolicy = NO_WAIT,
) -> ImageFacts:
    ref = ImageRef("docker", f"{reg.host}/{name}")
    return open_registry(ref, request, opts or options(), retry=retry)


def docker_config(tmp_path: Path, config: dict[str, Any]) -> dict[str, str]:
    """An environment whose DOCKER_CONFIG directory holds `config` as config.json."""
    directory_path = tmp_path / "dockercfg"
    directory_path.mkdir(exist_ok=True)
    (directory_path / "config.json").write_text(json.dumps(config))
    return {"DOCKER_CONFIG": str(directory_path)}


def login(host: str) -> dict[str, Any]:
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    return {"auths": {host: {"auth": auth}}}


def to_docker_v2(written: Written) -> Written:
    """The same image as a Docker v2 schema 2 manifest (Docker config and layer types)."""
    doc = json.loads(written.blobs[written.manifest_digest])
    doc["mediaType"] = DOCKER_MANIFEST
    doc["config"]["mediaType"] = DOCKER_CONFIG_TYPE
    for layer in doc["layers"]:
        layer["mediaType"] = DOCKER_LAYER
    body = json.dumps(doc, indent=3).encode()
    blobs = dict(written.blobs)
    blobs[sha256(body)] = body
    return Written(sha256(body), written.config_digest, blobs)


def index_of(media_type: str, entries: list[dict[str, Any]]) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": media_type, "manifests": entries}).encode()


def entry(
    media_type: str, body: bytes, platform: tuple[str, str] | None = None, **annotations: str
) -> dict[str, Any]:
    found: dict[str, Any] = {"mediaType": media_type, "digest": sha256(body), "size": len(body)}
    if platform is not None:
        found["platform"] = {"os": platform[0], "architecture": platform[1]}
    if annotations:
        found["annotations"] = annotations
    return found


def push_multiarch(reg: FakeRegistry, outer: str = OCI_INDEX) -> tuple[Written, Written]:
    """linux/amd64 + linux/arm64 + a BuildKit attestation manifest, tagged `multi`."""
    amd, arm = oci_blobs(IMAGE), oci_blobs(ARM_IMAGE)
    reg.push("app", amd, "amd")
    reg.push("app", arm, "arm")
    attestation = oci_blobs(Image(layers=[[file("/intoto.json", "{}")]], os="unknown"))
    reg.push("app", attestation, "att")
    att_body = attestation.blobs[attestation.manifest_digest]
    entries = [
        entry(OCI_MANIFEST, amd.blobs[amd.manifest_digest], ("linux", "amd64")),
        entry(OCI_MANIFEST, arm.blobs[arm.manifest_digest], ("linux", "arm64")),
        entry(
            OCI_MANIFEST,
            att_body,
            ("unknown", "unknown"),
            **{"vnd.docker.reference.type": "attestation-manifest"},
        ),
    ]
    reg.put_manifest("app", "multi", index_of(outer, entries), outer)
    return amd, arm


def write_helper(tmp_path: Path, name: str, script: str) -> str:
    """A `docker-credential-<name>` Python script in its own bin directory; returns the dir."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / f"docker-credential-{name}"
    path.write_text(f"#!{sys.executable}\n{script}")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(bin_dir)


HELPER = """import json, sys
server = sys.stdin.read().strip()
if sys.argv[1:] != ["get"] or server != {server!r}:
    print("credentials not found in native keychain")
    sys.exit(1)
print(json.dumps({{"ServerURL": server, "Username": {user!r}, "Secret": {secret!r}}}))
"""


# --- references -----------------------------------------------------------------------------------

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("text", "expected", "api_host"),
    [
        ("alpine", RegistryRef("docker.io", "library/alpine", "latest"), "registry-1.docker.io"),
        ("alpine:3.19", RegistryRef("docker.io", "library/alpine", "3.19"), "registry-1.docker.io"),
        ("user/app", RegistryRef("docker.io", "user/app", "latest"), "registry-1.docker.io"),
        ("docker.io/alpine", RegistryRef("docker.io", "library/alpine", "latest"), None),
        (
            "index.docker.io/library/alpine",
            RegistryRef("docker.io", "library/alpine", "latest"),
            None,
        ),
        ("ghcr.io/org/app:v1.2", RegistryRef("ghcr.io", "org/app", "v1.2"), "ghcr.io"),
        ("localhost/app", RegistryRef("localhost", "app", "latest"), "localhost"),
        ("localhost:5000/a/b/c:t", RegistryRef("localhost:5000", "a/b/c", "t"), None),
        ("127.0.0.1:5000/app", RegistryRef("127.0.0.1:5000", "app", "latest"), None),
        ("[::1]:5000/app", RegistryRef("[::1]:5000", "app", "latest"), None),
        ("Registry/app", RegistryRef("Registry", "app", "latest"), None),
        ("index.docker.io/alpine", RegistryRef("docker.io", "library/alpine", "latest"), None),
        # the API host is Docker Hub, but references keep it (no implicit library/), as Docker does
        (
            "registry-1.docker.io/alpine:3",
            RegistryRef("registry-1.docker.io", "alpine", "3"),
            "registry-1.docker.io",
        ),
        ("host:5000/app@" + DIGEST, RegistryRef("host:5000", "app", "", DIGEST), None),
        ("app:1@" + DIGEST, RegistryRef("docker.io", "library/app", "1", DIGEST), None),
        ("my-org/my_app__x.y-z", RegistryRef("docker.io", "my-org/my_app__x.y-z", "latest"), None),
    ],
)
def test_reference_normalisation(text: str, expected: RegistryRef, api_host: str | None) -> None:
    ref = parse_registry_reference(text)
    assert ref == expected
    if api_host is not None:
        assert ref.api_host == api_host
    assert parse_registry_reference(str(ref)) == ref


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Alpine",
        "app:",
        "app:-bad",
        "app:" + "x" * 129,
        "app@sha256:xyz",
        "app@md5",
        "a//b",
        "-app",
        "app_",
        "host:port/app",
        "ghcr.io/",
        "app@" + DIGEST + "@" + DIGEST,
        "docker.io/" + "a" * 300,
    ],
)
def test_reference_syntax_errors_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="invalid registry reference"):
        parse_registry_reference(text)


def test_bad_reference_fails_before_any_request() -> None:
    with pytest.raises(UsageError, match="lowercase"):
        open_registry(ImageRef("docker", "127.0.0.1:1/App"), CONFIG_ONLY, options())


@pytest.mark.parametrize(
    ("hosts", "insecure", "scheme"),
    [
        (("127.0.0.1:5000",), (), "http"),
        (("127.1.2.3",), (), "http"),
        (("localhost:5000",), (), "http"),
        (("[::1]:5000",), (), "http"),
        (("registry.example.com",), (), "https"),
        (("registry.example.com:5000",), ("registry.example.com:5000",), "http"),
        (("registry.example.com:5000",), ("registry.example.com",), "http"),
        (("registry.example.com:5000",), ("http://registry.example.com:5000/",), "http"),
        (("registry.example.com:5000",), ("registry.example.com:6000",), "https"),
        (("docker.io", "registry-1.docker.io"), ("docker.io",), "http"),
        (("10.0.0.1:5000",), (), "https"),
    ],
)
def test_scheme(hosts: tuple[str, ...], insecure: tuple[str, ...], scheme: str) -> None:
    assert registry_scheme(hosts, insecure) == scheme


def test_proxies_come_from_the_given_environment() -> None:
    environ = {"HTTPS_PROXY": "http://proxy:3128", "no_proxy": ".internal,other.example"}
    assert proxies_for(environ, "https://ghcr.io/v2/") == {"https": "http://proxy:3128"}
    assert proxies_for(environ, "https://reg.internal/v2/") == {}
    assert proxies_for(environ, "https://other.example:443/v2/") == {}
    assert proxies_for(environ, "http://127.0.0.1:5000/v2/") == {}
    assert proxies_for({}, "https://ghcr.io/v2/") == {}


# --- WWW-Authenticate -----------------------------------------------------------------------------


def test_www_authenticate_quoted_commas() -> None:
    header = (
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:samalba/my-app:pull,push"'
    )
    assert parse_www_authenticate(header) == (
        Challenge(
            "bearer",
            (
                ("realm", "https://auth.docker.io/token"),
                ("service", "registry.docker.io"),
                ("scope", "repository:samalba/my-app:pull,push"),
            ),
        ),
    )


def test_www_authenticate_several_challenges_and_escapes() -> None:
    header = 'Basic realm="a \\"quoted\\", realm", BEARER Realm=https://x/t , scope = "p,q"'
    basic, bearer = parse_www_authenticate(header)
    assert basic == Challenge("basic", (("realm", 'a "quoted", realm'),))
    assert bearer.scheme == "bearer"
    assert bearer.param("realm") == "https://x/t"
    assert bearer.param("scope") == "p,q"
    assert bearer.param("service") == ""


@pytest.mark.parametrize(
    "header", ["", ",,", '"', 'Bearer realm="unterminated', "Negotiate abc==", "=,=", "Bearer ,"]
)
def test_www_authenticate_garbage_does_not_crash(header: str) -> None:
    for challenge in parse_www_authenticate(header):
        assert challenge.scheme


# --- token cache ----------------------------------------------------------------------------------


def test_token_cache_honours_expires_in() -> None:
    now = [0.0]
    cache = TokenCache(clock=lambda: now[0])
    key = ("registry", "repository:app:pull")
    cache.put(key, "short", 30)
    now[0] = 29.9
    assert cache.get(key) == "short"
    now[0] = 30.0
    assert cache.get(key) is None
    cache.put(key, "default", None)
    now[0] = 89.9
    assert cache.get(key) == "default"
    assert cache.get(("other", "repository:app:pull")) is None
    now[0] = 90.0
    assert cache.get(key) is None


# --- credentials ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "registry.example.com:5000",
        "https://registry.example.com:5000",
        "http://registry.example.com:5000/v1/",
        "registry.example.com:5000/v2/",
        "REGISTRY.example.com:5000",
    ],
)
def test_auths_keys_are_normalised(tmp_path: Path, key: str) -> None:
    environ = docker_config(tmp_path, {"auths": {key: {"auth": "dTpw"}}})  # u:p
    assert find_credentials("registry.example.com:5000", environ) == Credentials("u", "p")
    assert find_credentials("registry.example.com", environ) is None


@pytest.mark.parametrize("key", ["https://index.docker.io/v1/", "docker.io", "index.docker.io"])
def test_docker_hub_credentials(tmp_path: Path, key: str) -> None:
    environ = docker_config(tmp_path, {"auths": {key: {"username": "u", "password": "p"}}})
    assert find_credentials("docker.io", environ) == Credentials("u", "p")


def test_auth_entry_kinds(tmp_path: Path) -> None:
    environ = docker_config(
        tmp_path,
        {
            "auths": {
                "id.example": {"identitytoken": "refresh"},
                "reg.example": {"registrytoken": "bearer"},
                "empty.example": {},
                "bad.example": {"auth": "%%%"},
            }
        },
    )
    assert find_credentials("id.example", environ) == Credentials(identity_token="refresh")
    assert find_credentials("reg.example", environ) == Credentials(registry_token="bearer")
    assert find_credentials("empty.example", environ) is None
    assert find_credentials("bad.example", environ) is None
    assert "refresh" not in repr(Credentials(identity_token="refresh", password="pw"))


def test_docker_config_location(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    (home / ".docker" / "config.json").write_text(json.dumps({"auths": {"h.io": {"auth": "aDpw"}}}))
    assert find_credentials("h.io", {"HOME": str(home)}) == Credentials("h", "p")
    environ = docker_config(tmp_path, {"auths": {}}) | {"HOME": str(home)}
    assert find_credentials("h.io", environ) is None  # DOCKER_CONFIG wins over HOME
    assert find_credentials("h.io", {}) is None
    assert find_credentials("h.io", {"HOME": str(tmp_path / "nowhere")}) is None


def test_unreadable_docker_config_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "config.json").write_text("{not json")
    with caplog.at_level(logging.WARNING, logger="gatekeeper"):
        assert find_credentials("h.io", {"DOCKER_CONFIG": str(tmp_path)}) is None
    assert "unreadable Docker config" in caplog.text


def test_deeply_nested_docker_config_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "config.json").write_text("[" * 100_000)
    with caplog.at_level(logging.WARNING, logger="gatekeeper"):
        assert find_credentials("h.io", {"DOCKER_CONFIG": str(tmp_path)}) is None
    assert "ignoring unreadable Docker config" in caplog.text


def test_deeply_nested_helper_answer_falls_back_to_auths(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bin_dir = write_helper(tmp_path, "deep", "print('[' * 100_000)\n")
    environ = docker_config(tmp_path, login("h.io") | {"credsStore": "deep"}) | {"PATH": bin_dir}
    with caplog.at_level(logging.WARNING, logger="gatekeeper"):
        assert find_credentials("h.io", environ) == Credentials(USER, PASSWORD)
    assert "credential helper docker-credential-deep printed no usable credentials" in caplog.text


def test_cred_helper_wins_over_store_and_auths(tmp_path: Path) -> None:
    script = HELPER.format(server="h.io", user="helper-user", secret="helper-secret")
    bin_dir = write_helper(tmp_path, "test", script)
    config = login("h.io") | {"credHelpers": {"https://h.io": "test"}, "credsStore": "absent"}
    environ = docker_config(tmp_path, config) | {"PATH": bin_dir}
    assert find_credentials("h.io", environ) == Credentials("helper-user", "helper-secret")


def test_creds_store_gets_the_hub_server_url(tmp_path: Path) -> None:
    script = HELPER.format(server="https://index.docker.io/v1/", user="<token>", secret="idtok")
    bin_dir = write_helper(tmp_path, "store", script)
    environ = docker_config(tmp_path, {"credsStore": "store"}) | {"PATH": bin_dir}
    assert find_credentials("docker.io", environ) == Credentials(identity_token="idtok")


def test_missing_helper_falls_back_to_auths_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    environ = docker_config(tmp_path, login("h.io") | {"credsStore": "nope"})
    environ["PATH"] = str(tmp_path)
    with caplog.at_level(logging.WARNING, logger="gatekeeper"):
        assert find_credentials("h.io", environ) == Credentials(USER, PASSWORD)
    assert "docker-credential-nope not found" in caplog.text


def test_failing_helper_means_anonymous_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bin_dir = write_helper(tmp_path, "broken", "import sys\nprint('keychain locked')\nsys.exit(3)\n")
    environ = docker_config(tmp_path, {"credsStore": "broken"}) | {"PATH": bin_dir}
    with caplog.at_level(logging.WARNING, logger="gatekeeper"):
        assert find_credentials("h.io", environ) is None
    assert "keychain locked" in caplog.text


def test_helper_not_found_answer_is_quiet(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    bin_dir = write_helper(tmp_path, "t", HELPER.format(server="other", user="u", secret="s"))
    environ = docker_config(tmp_path, {"credsStore": "t"}) | {"PATH": bin_dir}
    with caplog.at_level(logging.WARNING, logger="gatekeeper"):
        assert find_credentials("h.io", environ) is None
    assert caplog.text == ""


# --- reading images -------------------------------------------------------------------------------


def test_config_only_downloads_no_layer(fake: FakeRegistry) -> None:
    written = oci_blobs(IMAGE)
    fake.push("app", written)
    facts = read(fake)
    assert facts.reference == f"docker://{fake.host}/app:latest"
    assert facts.source == "docker"
    assert facts.digest == written.manifest_digest
    assert facts.config_digest == written.config_digest
    assert facts.config.user == "10001"
    assert facts.platform == Platform("linux", "amd64")
    assert facts.repo_tags == (f"{fake.host}/app:latest",)
    assert [layer.size for layer in facts.layers] == [None, None]
    assert facts.compressed_size == sum(len(written.blobs[layer.digest]) for layer in facts.layers)
    assert facts.files is None
    assert fake.paths() == [
        "/v2/app/manifests/latest",
        f"/v2/app/blobs/{written.config_digest}",
    ]
    accept = fake.seen[0].headers["accept"]
    for media_type in (OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST):
        assert media_type in accept


def test_dispatch_from_open_image(fake: FakeRegistry) -> None:
    fake.push("team/app", oci_blobs(IMAGE), "v1")
    ref = parse_reference(f"docker://{fake.host}/team/app:v1")
    facts = open_image(ref, CONFIG_ONLY, options())
    assert facts.config.cmd == ("app",)


def test_sizes_stream_every_layer_once(fake: FakeRegistry) -> None:
    written = oci_blobs(IMAGE)
    fake.push("app", written)
    facts = read(fake, request=SIZES)
    assert facts.files is None
    assert all(layer.size for layer in facts.layers)
    for layer in facts.layers:
        assert len(fake.blob_requests(layer.digest)) == 1
        assert fake.blob_requests(layer.digest)[0].headers["accept-encoding"] == "identity"


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
def test_file_index_equals_the_oci_layout_one(
    fake: FakeRegistry, tmp_path: Path, compression: Compression
) -> None:
    fake.push("app", oci_blobs(IMAGE, compression))
    write_oci_layout(tmp_path / "layout", IMAGE, compression)
    remote = read(fake, request=FILES)
    local = open_oci(ImageRef("oci", str(tmp_path / "layout")), FILES, options())
    assert remote.files is not None
    assert local.files is not None
    assert remote.files.files == local.files.files
    assert remote.files.shadowed == local.files.shadowed
    assert remote.files.layer_sizes == local.files.layer_sizes
    assert remote.files.contents == local.files.contents
    assert remote.layers == local.layers
    assert (remote.config, remote.history, remote.digest) == (
        local.config,
        local.history,
        local.digest,
    )
    assert (
        remote.files.content("/etc/passwd")
        == b"root:x:0:0:root:/root:/bin/sh\napp:x:10001:10001::/:/bin/sh\n"
    )
    assert remote.files.get("/etc/secret.key") is None


def test_pull_by_digest(fake: FakeRegistry) -> None:
    written = oci_blobs(IMAGE)
    fake.push("app", written)
    facts = read(fake, f"app@{written.manifest_digest}")
    assert facts.digest == written.manifest_digest
    assert facts.repo_tags == ()
    assert fake.paths()[0] == f"/v2/app/manifests/{written.manifest_digest}"
    read(fake, f"app:latest@{written.manifest_digest}")
    assert fake.paths()[-2] == f"/v2/app/manifests/{written.manifest_digest}"


def test_docker_v2_manifest_list(fake: FakeRegistry) -> None:
    amd, arm = to_docker_v2(oci_blobs(IMAGE)), to_docker_v2(oci_blobs(ARM_IMAGE))
    fake.push("app", amd, "amd")
    fake.push("app", arm, "arm")
    entries = [
        entry(DOCKER_MANIFEST, amd.blobs[amd.manifest_digest], ("linux", "amd64")),
        entry(DOCKER_MANIFEST, arm.blobs[arm.manifest_digest], ("linux", "arm64")),
    ]
    fake.put_manifest("app", "list", index_of(DOCKER_LIST, entries))
    facts = read(fake, "app:list", FILES, options(platform=Platform("linux", "arm64")))
    assert facts.digest == arm.manifest_digest
    assert facts.platform.architecture == "arm64"
    assert {layer.media_type for layer in facts.layers} == {DOCKER_LAYER}
    assert facts.available_platforms == (Platform("linux", "amd64"), Platform("linux", "arm64"))
    assert facts.files is not None
    assert facts.files.get("/bin/app") is not None


def test_multiarch_index_skips_attestations(fake: FakeRegistry) -> None:
    amd, _ = push_multiarch(fake)
    facts = read(fake, "app:multi")
    assert facts.digest == amd.manifest_digest
    assert facts.available_platforms == (Platform("linux", "amd64"), Platform("linux", "arm64"))
    assert fake.paths("/v2/app/manifests/") == [
        "/v2/app/manifests/multi",
        f"/v2/app/manifests/{amd.manifest_digest}",
    ]
    with pytest.raises(SourceError, match=r"no image for platform linux/s390x.*linux/arm64"):
        read(fake, "app:multi", opts=options(platform=Platform("linux", "s390x")))


def test_nested_index(fake: FakeRegistry) -> None:
    push_multiarch(fake)
    inner = fake.manifests[("app", "multi")][1]
    outer = index_of(OCI_INDEX, [entry(OCI_INDEX, inner)])
    fake.put_manifest("app", "nested", outer)
    facts = read(fake, "app:nested", opts=options(platform=Platform("linux", "arm64")))
    assert facts.platform.architecture == "arm64"
    assert len(facts.available_platforms) == 2


def test_index_entry_size_is_checked(fake: FakeRegistry) -> None:
    amd = oci_blobs(IMAGE)
    fake.push("app", amd, "amd")
    bad = entry(OCI_MANIFEST, amd.blobs[amd.manifest_digest], ("linux", "amd64"))
    bad["size"] += 1
    fake.put_manifest("app", "multi", index_of(OCI_INDEX, [bad]))
    with pytest.raises(BadArchive, match="bytes, the descriptor says"):
        read(fake, "app:multi")


def test_content_type_parameters_are_ignored(fake: FakeRegistry) -> None:
    fake.push("app", oci_blobs(IMAGE))
    fake.behaviour.content_type = OCI_MANIFEST + "; charset=utf-8"
    assert read(fake).config.user == "10001"


def test_generic_content_type_falls_back_to_the_body(fake: FakeRegistry) -> None:
    push_multiarch(fake)
    fake.behaviour.content_type = "application/json"
    assert len(read(fake, "app:multi").available_platforms) == 2


def test_content_type_contradicting_the_body(fake: FakeRegistry) -> None:
    fake.push("app", oci_blobs(IMAGE))
    fake.behaviour.content_type = OCI_INDEX
    with pytest.raises(BadArchive, match="manifest says"):
        read(fake)


def test_explicit_platform_must_match_a_single_manifest(fake: FakeRegistry) -> None:
    fake.push("app", oci_blobs(IMAGE))  # one manifest, no index: linux/amd64 by its config
    ref = ImageRef("docker", f"{fake.host}/app:latest")
    named = options(platform=Platform("linux", "arm64"), platform_requested=True)
    with pytest.raises(SourceError) as caught:
        open_image(ref, CONFIG_ONLY, named)
    assert (
        str(caught.value)
        == f"docker://{fake.host}/app:latest: the image is for linux/amd64, not linux/arm64 (--platform)"
    )
    assert (
        open_image(ref, CONFIG_ONLY, options(platform=Platform("linux", "arm64"))).platform.architecture
        == "amd64"
    )


def test_schema1_is_refused(fake: FakeRegistry) -> None:
    body = json.dumps({"schemaVersion": 1, "name": "app", "tag": "old", "fsLayers": []}).encode()
    fake.put_manifest("app", "old", body, SCHEMA1)
    with pytest.raises(SourceError, match="schema 1"):
        read(fake, "app:old")


def test_artifact_config_is_refused(fake: FakeRegistry) -> None:
    written = oci_blobs(IMAGE)
    doc = json.loads(written.blobs[written.manifest_digest])
    doc["config"]["mediaType"] = "application/vnd.example.sbom+json"
    fake.push("app", written)
    fake.put_manifest("app", "sbom", json.dumps(doc).encode())
    with pytest.raises(SourceError, match="not a container image"):
        read(fake, "app:sbom")


# --- integrity ------------------------------------------------------------------------------------


def test_wrong_config_bytes(fake: FakeRegistry) -> None:
    written = oci_blobs(IMAGE)
    fake.push("app", written)
    fake.behaviour.replaced[written.config_digest] = b'{"rootfs": {"diff_ids": []}}'
    with pytest.raises(DigestMismatch, match="config"):
        read(fake)


def test_wrong_layer_bytes(fake: FakeRegistry) -> None:
    written = oci_blobs(IMAGE)
    other = oci_blobs(Image(layers=[[file("/x", "y")]]))
    fake.push("app", written)
    layer = json.loads(written.blobs[written.manifest_digest])["layers"][1]["digest"]
    other_layer = json.loads(other.blobs[other.manifest_digest])["layers"][0]["digest"]
    fake.behaviour.replaced[layer] = other.blobs[other_layer]
    assert read(fake).config.user == "10001"  # config-only never sees the layer
    with pytest.raises(DigestMismatch, match=f"layer {layer}: blob hashes to"):
        read(fake, request=SIZES)


def test_oversized_layer_is_cut_off(fake: FakeRegistry) -> None:
    written = oci_blobs(IMAGE)
    doc = json.loads(written.blobs[written.manifest_digest])
    doc["layers"][0]["size"] = 100
    fake.push("app", written)
    fake.put_manifest("app", "small", json.dumps(doc).encode())
    with pytest.raises(BadArchive) as caught:
        read(fake, "app:small", SIZES)
    layer = doc["layers"][0]["digest"]  # named once (it was "...: layer X: ...: layer X: ...")
    assert (
        str(caught.value)
        == f"docker://{fake.host}/app:small: layer {layer}: blob is larger than the manifest says"
    )


def test_layer_shorter_than_its_descriptor(fake: FakeRegistry) -> None:
    written = oci_blobs(IMAGE)
    doc = json.loads(written.blobs[written.manifest_digest])
    size = doc["layers"][0]["size"]
    doc["layers"][0]["size"] = size + 7  # the digest still matches the blob
    fake.push("app", written)
    fake.put_manifest("app", "big", json.dumps(doc).encode())
    with pytest.raises(DigestMismatch, match=f"blob is {size} bytes, manifest says {size + 7}$"):
        read(fake, "app:big", SIZES)


def test_wrong_manifest_bytes_by_digest(fake: FakeRegistry) -> None:
    written = oci_blobs(IMAGE)
    fake.push("app", written)
    body = written.blobs[written.manifest_digest]
    fake.behaviour.replaced[written.manifest_digest] = body.replace(b'"size"', b'"size" ')
    with pytest.raises(DigestMismatch, match="manifest"):
        read(fake, f"app@{written.manifest_digest}")


def test_wrong_docker_content_digest(fake: FakeRegistry) -> None:
    fake.push("app", oci_blobs(IMAGE))
    fake.behaviour.wrong_digest_header = True
    with pytest.raises(
        DigestMismatch, match=r"\(Docker-Content-Digest\) hashes to sha256:\w+, expected sha256:"
    ):
        read(fake)


# --- auth -----------------------------------------------------------------------------------------


def test_anonymous_bearer_token_is_cached(fake: FakeRegistry) -> None:
    fake.push("app", oci_blobs(IMAGE))
    fake.behaviour.auth = "bearer"
    facts = read(fake, request=FILES)
    assert facts.files is not None
    token_requests = [s for s in fake.seen if s.path == "/token"]
    assert len(token_requests) == 1
    assert token_requests[0].query["service"] == ["fake,registry"]
    assert token_requests[0].query["scope"] == ["repository:app:pull", "repository:app:pull,push"]
    assert "authorization" not in token_requests[0].headers
    registry_requests = [s for s in fake.seen if s.path.startswith("/v2/")]
    assert len(registry_requests) == 5  # 401, manifest, config, 2 layers
    assert all(s.headers["authorization"] == "Bearer tok-1" for s in registry_requests[1:])


def test_bearer_with_config_credentials(fake: FakeRegistry, tmp_path: Path) -> None:
    fake.push("app", oci_blobs(IMAGE))
    fake.behaviour.auth, fake.behaviour.login_required = "bearer", True
    fake.behaviour.token_key = "access_token"
    environ = docker_config(tmp_path, login(fake.host))
    assert read(fake, opts=options(environ)).config.user == "10001"
    (token_request,) = [s for s in fake.seen if s.path == "/token"]
    assert token_request.headers["authorization"] == _basic(USER, PASSWORD)


def test_bearer_login_required_without_credentials(fake: FakeRegistry) -> None:
    fake.push("app", oci_blobs(IMAGE))
    fake.behaviour.auth, fake.behaviour.login_required = "bearer", True
    with pytest.raises(RegistryAuthError) as caught:
        read(fake)
    message = str(caught.value)
    assert "authentication required for app (UNAUTHORIZED: login required)" in message
    assert f"(docker login {fake.host}?)" in message
    assert "\n" not in message


def test_bearer_wrong_password(fake: FakeRegistry, tmp_path: Path) -> None:
    fake.push("app", oci_blobs(IMAGE))
    fake.behaviour.auth = "bearer"
    config = {"auths": {fake.host: {"username": USER, "password": "wrong"}}}
    with pytest.raises(RegistryAuthError, match="authentication denied for app"):
        read(fake, opts=options(docker_config(tmp_path, config)))


def test_credential_helper_on_path(fake: FakeRegistry, tmp_path: Path) -> None:
    fake.push("app", oci_blobs(IMAGE))
    fake.behaviour.auth, fake.behaviour.login_required = "bearer", True
    bin_dir = write_helper(tmp_path, "test", HELPER.format(server=fake.host, user=USER, secret=PASSWORD))
    environ = docker_config(tmp_path, {"credsStore": "test"}) | {"PATH": bin_dir}
    assert read(fake, opts=options(environ)).config.user == "10001"


def test_identity_token_uses_the_oauth_post(fake: FakeRegistry, tmp_path: Path) -> None:
    fake.push("app", oci_blobs(IMAGE))
    fake.behaviour.auth = "bearer"
    environ = docker_config(tmp_path, {"auths": {fake.host: {"identitytoken": REFRESH_TOKEN}}})
    assert read(fake, opts=options(environ)).config.user == "10001"
    (post,) = [s for s in fake.seen if s.path == "/token"]
    assert post.method == "POST"
    form = parse_qs(post.body.decode())
    assert form["grant_type"] == ["refresh_token"]
    assert form["service"] == ["fake,registry"]
    assert form["client_id"] == ["gatekeeper"]


def test_identity_token_falls_back_to_get_on_404(fake: FakeRegistry, tmp_path: Path) -> None:
    fake.push("app", oci_blobs(IMAGE))
    fake.behaviour.auth, fake.behaviour.oauth_post_404 = "bearer", True
    environ = docker_config(tmp_path, {"auths": {fake.host: {"identitytoken": REFRESH_TOKEN}}})
    assert read(fake, opts=options(environ)).config.user == "10001"
    assert [s.method for s in fake.seen if s.path == "/token"] == ["POST", "GET"]


def test_registry_token_is_sent_as_is(fake: FakeRegistry, tmp_path: Path) -> None:
    fake.push("app", oci_blobs(IMAGE))
    fake.behaviour.auth = "bearer"
    environ = docker_config(tmp_path, {"auths": {fake.host: {"registrytoken": STATIC_TOKEN}}})
    assert read(fake, opts=options(environ)).config.user == "10001"
    assert fake.paths("/token") == []
    assert fake.seen[-1].headers["authorization"] == f"Bearer {STATIC_TOKEN}"


def test_basic_challenge(fake: FakeRegistry, tmp_path: Path) -> None:
    fake.push("app", oci_blobs(IMAGE))
    fake.behaviour.auth = "basic"
    environ = docker_config(tmp_path, login(fake.host))
    assert read(fake, request=SIZES, opts=options(environ)).size
    assert fake.paths("/token") == []
    assert all(s.headers["authorization"] == _basic(USER, PASSWORD) for s in fake.seen[1:])
    with pytest.raises(RegistryAuthError, match=f"authentication required for app .*{fake.host}"):
        read(fake)


def test_always_401(fake: FakeRegistry, tmp_path: Path) -> None:
    fake.push("app", oci_blobs(IMAGE))
    fake.behaviour.auth, fake.behaviour.deny_all = "bearer", True
    environ = docker_config(tmp_path, login(fake.host))
    with pytest.raises(RegistryAuthError, match="authentication denied for app"):
        read(fake, opts=options(environ))
    assert len(fake.paths("/v2/")) == 2  # anonymous, then once with the token


def test_403(fake: FakeRegistry) -> None:
    fake.push("app", oci_blobs(IMAGE))
    fake.behaviour.forbidden = True
    with pytest.raises(RegistryAuthError, match=r"denied by .* \(HTTP 403\) \(DENIED: requested"):
        read(fake)


def test_deeply_nested_error_body_is_left_out(fake: FakeRegistry) -> None:
    fake.push("app", oci_blobs(IMAGE))
    fake.behaviour.forbidden = True
    fake.behaviour.error_body = b"[" * 100_000
    with pytest.raises(RegistryAuthError) as caught:
        read(fake)
    assert str(caught.value) == (
        f"docker://{fake.host}/app:latest: access to app denied by {fake.host} (HTTP 403)"
        f" (docker login {fake.host}?)"
    )


def test_deeply_nested_token_answer(fake: FakeRegistry) -> None:
    fake.push("app", oci_blobs(IMAGE))
    fake.behaviour.auth = "bearer"
    fake.behaviour.token_body = b"[" * 100_000
    with pytest.raises(RegistryAuthError) as caught:
        read(fake)
    assert str(caught.value) == (
        f"docker://{fake.host}/app:latest: token endpoint answered something not JSON"
    )


def test_deeply_nested_manifest(fake: FakeRegistry) -> None:
    fake.put_manifest("app", "latest", b"[" * 100_000, OCI_MANIFEST)
    with pytest.raises(BadArchive) as caught:
        read(fake)
    assert str(caught.value) == (
        f"docker://{fake.host}/app:latest: manifest is not valid JSON: nested too deeply"
    )


@pytest.mark.parametrize(
    ("expires_in", "lifetime"),
    [
        ("300", 300.0),
        pytest.param("9" * 400, 60.0, id="400-digits"),  # float() of it overflowed
        ("1e400", 60.0),  # infinity: the token was cached forever
        ("1e9", 60.0),
        ("NaN", 60.0),
        ("0", 60.0),
        ("-5", 60.0),
        ('"300"', 60.0),
        ("true", 60.0),
        ("null", 60.0),
    ],
)
def test_token_lifetime_from_expires_in(fake: FakeRegistry, expires_in: str, lifetime: float) -> None:
    fake.push("app", oci_blobs(IMAGE))
    fake.behaviour.auth = "bearer"
    fake.behaviour.token_body = f'{{"token": "{STATIC_TOKEN}", "expires_in": {expires_in}}}'.encode()
    now = [0.0]
    target = parse_registry_reference(f"{fake.host}/app:latest")
    with new_session({}) as session:
        client = RegistryClient(target, options(), session, what="app", retry=NO_WAIT, clock=lambda: now[0])
        client.manifest("latest")
        assert len(fake.paths("/token")) == 1
        now[0] = lifetime - 0.5
        client.manifest("latest")
        assert len(fake.paths("/token")) == 1  # the cached token
        now[0] = lifetime
        client.manifest("latest")
        assert len(fake.paths("/token")) == 2  # expired: fetched again before the request


def test_blob_redirect_same_host_keeps_auth(fake: FakeRegistry) -> None:
    fake.push("app", oci_blobs(IMAGE))
    fake.behaviour.auth, fake.behaviour.redirect = "bearer", "same"
    assert read(fake, request=SIZES).size
    storage = [s for s in fake.seen if s.path.startswith("/storage/")]
    assert len(storage) == 3  # config + 2 layers
    assert all(s.headers.get("authorization", "").startswith("Bearer") for s in storage)


def test_blob_redirect_cross_host_drops_auth(fake: FakeRegistry) -> None:
    fake.push("app", oci_blobs(IMAGE))
    fake.behaviour.auth, fake.behaviour.redirect = "bearer", "cross"
    facts = read(fake, request=FILES)
    assert facts.files is not None
    storage = [s for s in fake.seen if s.path.startswith("/storage/")]
    assert len(storage) == 3
    assert all(s.headers["host"].startswith("localhost:") for s in storage)
    assert not any("authorization" in s.headers for s in storage)


# --- errors and retries ---------------------------------------------------------------------------


def test_manifest_404_is_image_not_found(fake: FakeRegistry) -> None:
    fake.push("app", oci_blobs(IMAGE))
    with pytest.raises(ImageNotFound, match=r"manifest app:nope not found .*MANIFEST_UNKNOWN"):
        read(fake, "app:nope")
    with pytest.raises(ImageNotFound, match=r"manifest other:latest"):
        read(fake, "other")


def test_blob_404_is_bad_archive(fake: FakeRegistry) -> None:
    written = oci_blobs(IMAGE)
    fake.push("app", written)
    del fake.blobs[("app", written.config_digest)]
    with pytest.raises(BadArchive, match=f"blob {written.config_digest} is missing"):
        read(fake)


def test_500_is_retried_with_backoff(fake: FakeRegistry) -> None:
    written = oci_blobs(IMAGE)
    fake.push("app", written)
    fake.behaviour.fail_first = 2
    waits: list[float] = []
    retry = RetryPolicy(attempts=3, base_delay=0.2, sleep=waits.append)
    assert read(fake, retry=retry).config.user == "10001"
    assert waits == [0.2, 0.4]
    assert fake.paths() == [
        "/v2/app/manifests/latest",
        "/v2/app/manifests/latest",
        "/v2/app/manifests/latest",
        f"/v2/app/blobs/{written.config_digest}",
    ]


def test_interrupted_layer_download_is_retried(fake: FakeRegistry) -> None:
    written = oci_blobs(IMAGE)
    fake.push("app", written)
    layer = json.loads(written.blobs[written.manifest_digest])["layers"][0]["digest"]
    fake.behaviour.truncated[layer] = 1
    assert read(fake, request=FILES).files is not None
    assert len(fake.blob_requests(layer)) == 2
    fake.behaviour.truncated[layer] = 5
    with pytest.raises(RegistryError, match=f"layer {layer}: download interrupted"):
        read(fake, request=SIZES)


def test_always_500(fake: FakeRegistry) -> None:
    fake.push("app", oci_blobs(IMAGE))
    fake.behaviour.always_fail = True
    with pytest.raises(RegistryError) as caught:
        read(fake)
    message = str(caught.value)
    assert f"{fake.host} answered HTTP 500" in message
    assert "after 3 attempts (UNKNOWN: storage backend exploded, again)" in message
    assert len(fake.paths()) == 3


def test_connection_refused(fake: FakeRegistry) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ref = ImageRef("docker", f"127.0.0.1:{port}/app:latest")
    with pytest.raises(RegistryError, match=r"cannot reach 127\.0\.0\.1:\d+ \(.*\) after 2 attempts"):
        open_registry(ref, CONFIG_ONLY, options(), retry=RetryPolicy(2, 0.0))


def test_timeout(fake: FakeRegistry) -> None:
    fake.push("app", oci_blobs(IMAGE))
    fake.behaviour.delay = 0.5
    opts = replace(options(), timeout=0.05)
    with pytest.raises(RegistryError, match="timed out") as caught:
        read(fake, opts=opts, retry=RetryPolicy(2, 0.0))
    assert caught.value.__cause__ is not None


def test_environment_is_not_read_from_os_environ(
    fake: FakeRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.push("app", oci_blobs(IMAGE))
    fake.behaviour.auth = "basic"
    monkeypatch.setenv("DOCKER_CONFIG", docker_config(tmp_path, login(fake.host))["DOCKER_CONFIG"])
    with pytest.raises(RegistryAuthError, match="authentication required"):
        read(fake)
    assert os.environ["DOCKER_CONFIG"]


def test_config_descriptor_size_must_match(fake: FakeRegistry) -> None:
    # the digest matched, so the size was never looked at (found by fuzzing)
    written = oci_blobs(IMAGE)
    fake.push("app", written)
    manifest = json.loads(written.blobs[written.manifest_digest])
    manifest["config"]["size"] += 1
    fake.put_manifest("app", "latest", json.dumps(manifest).encode())
    size = len(written.blobs[written.config_digest])
    with pytest.raises(
        BadArchive, match=rf"config {written.config_digest} is {size} bytes, the descriptor says {size + 1}$"
    ):
        read(fake)


# --- found by fuzzing with a hostile registry -------------------------------------------------


NOT_ASCII = "token endpoint answered a token that is not printable ASCII"


@pytest.mark.parametrize(
    ("body", "gzipped", "message"),
    [
        # read in full by resp.json(): a 1 GB gzip bomb peaked at 2.1 GB
        (b'{"token": "' + b"x" * (2 << 20) + b'"}', True, "token endpoint answered more than 1 MiB"),
        (b'{"token": "' + b"x" * (2 << 20) + b'"}', False, "token endpoint answered more than 1 MiB"),
        # a non-latin-1 token made requests raise UnicodeEncodeError building the header (exit 4)
        (
            '{"token": "g\u20acod"}'.encode(),
            False,
            NOT_ASCII,
        ),
        (b'{"token": "a\\nb"}', False, NOT_ASCII),
    ],
)
def test_hostile_token_answers(fake: FakeRegistry, body: bytes, gzipped: bool, message: str) -> None:
    fake.push("app", oci_blobs(IMAGE))
    fake.behaviour.auth = "bearer"
    fake.behaviour.token_body = body
    fake.behaviour.token_gzip = gzipped
    with pytest.raises(RegistryAuthError) as caught:
        read(fake)
    assert str(caught.value) == f"docker://{fake.host}/app:latest: {message}"


def test_a_realm_that_does_not_parse(fake: FakeRegistry) -> None:
    fake.push("app", oci_blobs(IMAGE))
    fake.behaviour.auth = "bearer"
    fake.behaviour.realm = "http://[::1/token"  # urlsplit raised ValueError (exit 4)
    with pytest.raises(RegistryAuthError, match=r"Bearer challenge without a usable realm$"):
        read(fake)


def test_a_redirect_that_does_not_parse(fake: FakeRegistry) -> None:
    fake.push("app", oci_blobs(IMAGE))
    fake.behaviour.redirect = "same"
    fake.behaviour.redirect_to = "http://[::1/storage/x"  # requests raised ValueError (exit 4)
    with pytest.raises(RegistryError, match=rf"request to {re.escape(fake.host)} failed: "):
        read(fake, request=FILES)


def test_a_redirect_to_a_dead_host_names_that_host(fake: FakeRegistry) -> None:
    fake.push("app", oci_blobs(IMAGE))
    fake.behaviour.redirect = "same"
    fake.behaviour.redirect_to = "http://127.0.0.1:9/storage/x"  # nothing listens on port 9
    with pytest.raises(RegistryError, match=r"cannot reach 127\.0\.0\.1:9 \("):
        read(fake, request=FILES)


def test_a_layer_without_a_size_is_still_bounded(fake: FakeRegistry, monkeypatch: pytest.MonkeyPatch) -> None:
    # size 0 (none) meant no limit at all: an endless body was read for ever (64 GiB now)
    from gatekeeper.sources import registry as registry_module

    monkeypatch.setattr(registry_module, "MAX_UNSIZED_BLOB", 100)
    written = oci_blobs(IMAGE)
    doc = json.loads(written.blobs[written.manifest_digest])
    doc["layers"][0]["size"] = 0
    fake.push("app", written)
    fake.put_manifest("app", "unsized", json.dumps(doc).encode())
    with pytest.raises(BadArchive, match="blob has no size in the manifest and goes on past 100 bytes"):
        read(fake, "app:unsized", SIZES)
