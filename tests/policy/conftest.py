"""Real git repositories (git daemon on loopback, git+file://) and HTTP(S) servers for policies."""

from __future__ import annotations

import http.server
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
    "PATH": "/usr/bin:/bin",
}

_LOCKED = "rules:\n  runs-as-root: {severity: critical, locked: true}\n"
BASE_V1 = "version: 1\nextends: [builtin:default]\nfail_on: high\n" + _LOCKED
BASE_V2 = "version: 1\nextends: [builtin:default]\nfail_on: medium\n" + _LOCKED
PROD = "version: 1\nextends: [base.yaml]\nrules:\n  image-size: {options: {max: 100MB}}\n"


def git(*args: str, cwd: Path) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


@dataclass(frozen=True)
class PolicyRepo:
    bare: Path
    v1_commit: str
    v2_commit: str

    @property
    def file_url(self) -> str:
        return f"git+file://{self.bare}"


@pytest.fixture(scope="session")
def policy_repo(tmp_path_factory: pytest.TempPathFactory) -> PolicyRepo:
    root = tmp_path_factory.mktemp("gitrepos")
    work = root / "work"
    work.mkdir()
    git("init", "--quiet", "--initial-branch=main", cwd=work)
    (work / "base.yaml").write_text(BASE_V1)
    (work / "envs").mkdir()
    (work / "envs" / "prod.yaml").write_text(PROD.replace("base.yaml", "../base.yaml"))
    git("add", ".", cwd=work)
    git("commit", "--quiet", "-m", "v1", cwd=work)
    git("tag", "v1", cwd=work)
    v1 = git("rev-parse", "HEAD", cwd=work)
    (work / "base.yaml").write_text(BASE_V2)
    git("commit", "--quiet", "-am", "v2", cwd=work)
    git("tag", "v2", cwd=work)
    v2 = git("rev-parse", "HEAD", cwd=work)
    bare = root / "policies.git"
    git("clone", "--quiet", "--bare", str(work), str(bare), cwd=root)
    return PolicyRepo(bare, v1, v2)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def git_daemon(policy_repo: PolicyRepo) -> Iterator[str]:
    """`git daemon` serving the policy repository on loopback: yields git://127.0.0.1:PORT/."""
    if shutil.which("git") is None:
        pytest.fail("git is not installed")
    port = free_port()
    base = policy_repo.bare.parent
    proc = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            f"--base-path={base}",
            "--listen=127.0.0.1",
            f"--port={port}",
            str(base),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("git daemon did not start")
    yield f"git://127.0.0.1:{port}/"
    proc.terminate()
    proc.wait(timeout=10)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class Server:
    url: str
    root: Path
    server: http.server.ThreadingHTTPServer

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve(root: Path, context: ssl.SSLContext | None = None) -> Server:
    def handler(*args: object, **kwargs: object) -> _Quiet:
        return _Quiet(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    scheme = "http"
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return Server(f"{scheme}://127.0.0.1:{server.server_address[1]}/", root, server)


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[Server]:
    root = tmp_path / "www"
    root.mkdir()
    server = serve(root)
    yield server
    server.stop()


@dataclass(frozen=True)
class Tls:
    ca: Path
    context: ssl.SSLContext


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    """A throwaway CA and a certificate for 127.0.0.1, made with the openssl CLI."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is not installed")
    d = tmp_path_factory.mktemp("tls")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, capture_output=True, check=True)

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=gatekeeper test CA",
    )
    run(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    )
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    run(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(d / "server.pem", d / "server.key")
    return Tls(d / "ca.pem", context)


@pytest.fixture
def https_server(tmp_path: Path, tls: Tls) -> Iterator[Server]:
    root = tmp_path / "tls-www"
    root.mkdir()
    server = serve(root, tls.context)
    yield server
    server.stop()
