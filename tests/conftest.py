"""Shared pytest fixtures. Each section below is self-contained; add new ones as new sections."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NoReturn

import pytest

# =================================================================================================
# Docker engine, loopback registry and real test images
#
# Tests that need the engine or the registry use these fixtures. Without them the tests skip, but
# under CI (env CI set) they fail, so a broken CI machine cannot pass silently.
# `bash scripts/test.sh` starts dockerd and the registry and builds the local Debian bases first
# (scripts/test-env.sh).
# Every image is built once per session; rebuilding is cheap because the engine caches the steps.
# =================================================================================================

DATA_IMAGES = Path(__file__).parent / "data" / "images"
DEFAULT_REGISTRY = "127.0.0.1:5000"
PYTHON_BASE = "local/python:3.11-slim"
Builder = Literal["classic", "buildkit"]
BUILDERS: tuple[Builder, ...] = ("classic", "buildkit")

BUILD_TIMES: list[tuple[str, float]] = []
"""(tag, seconds) of every image build this session, for the terminal summary."""


def unavailable(reason: str) -> NoReturn:
    """Skip a test whose infrastructure is missing; fail it under CI."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


def docker_cli() -> str:
    """The docker client to build with: $GATEKEEPER_TEST_DOCKER, else Debian's /usr/bin/docker."""
    override = os.environ.get("GATEKEEPER_TEST_DOCKER")
    if override:
        return override
    if os.access("/usr/bin/docker", os.X_OK):
        return "/usr/bin/docker"
    found = shutil.which("docker")
    if found is None:
        unavailable("no docker client (apt-get install docker.io)")
    return found


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    builder: Builder
    image_id: str
    seconds: float
    """How long `docker build` took this session (warm builds are cache hits)."""

    @property
    def daemon_ref(self) -> str:
        return f"docker-daemon:{self.tag}"


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    """A docker SDK client (`docker.DockerClient`) talking to the engine of $DOCKER_HOST."""
    try:
        import docker
    except ImportError:
        unavailable("the docker Python SDK is not installed")
    try:
        client = docker.from_env(version="auto", timeout=300)
        client.ping()
    except Exception as exc:
        host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        unavailable(f"no Docker engine at {host} ({type(exc).__name__}); run scripts/test-env.sh")
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def registry() -> str:
    """`host:port` of a plain-HTTP registry for tests to push to (default 127.0.0.1:5000)."""
    host = os.environ.get("GATEKEEPER_TEST_REGISTRY") or DEFAULT_REGISTRY
    try:
        with urllib.request.urlopen(f"http://{host}/v2/", timeout=3) as answer:
            ok = answer.status == 200
    except Exception as exc:
        unavailable(f"no registry at http://{host}/v2/ ({exc}); run scripts/test-env.sh")
    if not ok:
        unavailable(f"http://{host}/v2/ answered, but not like a registry")
    return host


@pytest.fixture(scope="session")
def skopeo() -> str:
    found = shutil.which("skopeo")
    if found is None:
        unavailable("skopeo is not installed (apt-get install skopeo)")
    return found


def build_image(
    client: Any,
    context: Path,
    tag: str,
    builder: Builder,
    build_args: Mapping[str, str] | None = None,
) -> BuiltImage:
    """`docker build` with the classic builder or BuildKit; no network inside the build.

    GATEKEEPER_TEST_NO_CACHE set: --no-cache, to measure a cold build without pruning the
    engine's cache."""
    env = dict(os.environ, DOCKER_BUILDKIT="1" if builder == "buildkit" else "0")
    command = [docker_cli(), "build", "--network", "none", "--quiet", "--tag", tag]
    if os.environ.get("GATEKEEPER_TEST_NO_CACHE"):
        command.append("--no-cache")
    for name, value in (build_args or {}).items():
        command += ["--build-arg", f"{name}={value}"]
    start = time.monotonic()
    result = subprocess.run([*command, str(context)], env=env, capture_output=True, text=True, timeout=900)
    seconds = time.monotonic() - start
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()
        pytest.fail(f"docker build of {tag} ({builder}) failed:\n" + "\n".join(output[-30:]))
    BUILD_TIMES.append((tag, seconds))
    image_id = str(client.api.inspect_image(tag)["Id"])
    return BuiltImage(tag, builder, image_id, seconds)


def static_busybox() -> Path:
    """Debian's static busybox; a dynamically linked one cannot run in an image FROM scratch."""
    path = Path(os.environ.get("GATEKEEPER_TEST_BUSYBOX", "/bin/busybox"))
    if not path.is_file():
        unavailable(f"{path} is missing (apt-get install busybox-static)")
    with path.open("rb") as handle:
        head = handle.read(8192)
    if not head.startswith(b"\x7fELF") or b"ld-linux" in head or b"ld-musl" in head:
        unavailable(f"{path} is not a static ELF binary (apt-get install busybox-static)")
    return path


def _context(tmp_factory: pytest.TempPathFactory, name: str) -> Path:
    context = tmp_factory.mktemp(f"{name}-context")
    shutil.copytree(DATA_IMAGES / name, context, dirs_exist_ok=True)
    return context


@pytest.fixture(scope="session")
def busybox_images(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[Builder, BuiltImage]:
    """gk-test/busybox:classic and :buildkit, from tests/data/images/busybox/Dockerfile."""
    busybox = static_busybox()
    context = _context(tmp_path_factory, "busybox")
    shutil.copy2(busybox, context / "busybox")
    return {
        builder: build_image(docker_client, context, f"gk-test/busybox:{builder}", builder)
        for builder in BUILDERS
    }


@pytest.fixture(scope="session")
def python_images(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[Builder, BuiltImage]:
    """gk-test/python-app:classic and :buildkit, FROM local/python:3.11-slim (a local base)."""
    import docker.errors

    try:
        docker_client.api.inspect_image(PYTHON_BASE)
    except docker.errors.NotFound:
        unavailable(
            f"{PYTHON_BASE} is missing; build it: bash ../shared/images/make-base-images.sh --only=python"
        )
    context = _context(tmp_path_factory, "python-app")
    return {
        builder: build_image(docker_client, context, f"gk-test/python-app:{builder}", builder)
        for builder in BUILDERS
    }


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if BUILD_TIMES:
        total = sum(seconds for _, seconds in BUILD_TIMES)
        builds = ", ".join(f"{tag} {seconds:.1f}s" for tag, seconds in BUILD_TIMES)
        terminalreporter.write_line(f"test images built in {total:.1f}s: {builds}")


# --- shlex on long strings ----------------------------------------------------------------------
# shlex is quadratic on one long word (a 1 MB health check took 16 s): code splitting command lines
# from an image or a repository goes through secrets.shell_words, which stops at SHLEX_LIMIT.


@pytest.fixture
def short_shlex(monkeypatch: pytest.MonkeyPatch) -> None:
    """shlex.split fails the test when given a string past SHLEX_LIMIT."""
    import shlex

    from gatekeeper.secrets import SHLEX_LIMIT

    real = shlex.split

    def bounded(text: str, *args: Any, **kwargs: Any) -> list[str]:
        assert len(text) <= SHLEX_LIMIT, "shlex given a string past SHLEX_LIMIT"
        return real(text, *args, **kwargs)

    monkeypatch.setattr(shlex, "split", bounded)
