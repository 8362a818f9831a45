"""Realistic images for the integration suite, built once per session from tests/data/integration/.

Layout of tests/data/integration/:

    _app/        the service every image ships (sources, a C extension, requirements.txt)
    <image>/     one build context per image: Dockerfile, .dockerignore, files it copies and, for
                 `good`, the compliant compose.yaml and k8s/ next to it
    runtime/     compose and Kubernetes files for gk-it/good that break the runtime items:
                 bare/ (no limits, no health check or probes, no user), root/ (limits and probes,
                 but both run it as root), partial/ (memory limit only, compose health check
                 disabled, logging driver none; a liveness probe without a readiness probe)
    policies/    the default policy plus a waiver for gk-it/fat's size

For each image the session assembles a workspace directory `<tmp>/<image>/` = `_app/` + `<image>/`,
renders the `{{NAME}}` placeholders with the fake secrets below (assembled at run time, so no
token-shaped literal sits in the repository for secret scanners to trip on) and builds it with both
builders as `gk-it/<image>:classic` and `gk-it/<image>:buildkit`. The rendered bytes are the same
every session, so warm builds are engine cache hits. Checks run with the workspace as working
directory, so findings point at `<image>/Dockerfile:<line>`.

Without an engine or the local Debian bases the tests skip, and fail when CI is set
(`unavailable()` of tests/conftest.py). `GATEKEEPER_TEST_NO_CACHE=1` builds without the engine's
cache, to measure a cold session; the terminal summary reports build and check times.
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import shutil
import string
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import api
from gatekeeper.inputs import InputOptions
from gatekeeper.report import Report
from gatekeeper.sources import SourceOptions
from tests.conftest import BUILDERS, Builder, BuiltImage, build_image, unavailable

DATA = Path(__file__).resolve().parents[1] / "data" / "integration"
APP = DATA / "_app"
BASES = ("local/python:3.11", "local/python:3.11-slim")
PREFIX = "gk-it"
DEFAULT_POLICY = "builtin:default"
UNPINNED_ALIAS = ("local/python:3.11-slim", f"{PREFIX}/python", "latest")
"""gk-it/article's `FROM gk-it/python` (implicitly `:latest`), as `FROM python` would be."""

# ------------------------------------------------------------------------------- fake secrets

ALNUM = string.ascii_letters + string.digits


def filler(n: int, alphabet: str = ALNUM, seed: str = "") -> str:
    """Deterministic random characters: the same fake secret every session (cache hits)."""
    rng = random.Random(f"gatekeeper-integration-{seed}-{n}-{alphabet}")
    return "".join(rng.choice(alphabet) for _ in range(n))


def _b64url(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def _openssh_key() -> str:
    """An OpenSSH private key block: the real `openssh-key-v1` header, a random body."""
    rng = random.Random("gatekeeper-integration-ssh")
    header = b"openssh-key-v1\x00" + b"\x00\x00\x00\x04none" * 2 + b"\x00\x00\x00\x00\x00\x00\x00\x01"
    blob = base64.b64encode(header + rng.randbytes(360)).decode()
    lines = [blob[i : i + 70] for i in range(0, len(blob), 70)]
    return "\n".join(
        ["-----BEGIN OPENSSH " + "PRIVATE KEY-----", *lines, "-----END OPENSSH " + "PRIVATE KEY-----"]
    )


SECRETS: dict[str, str] = {
    "GITHUB_TOKEN": "ghp" + "_" + filler(36, seed="github"),
    "AWS_ACCESS_KEY_ID": "AK" + "IA" + filler(16, string.ascii_uppercase + string.digits, seed="aws"),
    "AWS_SECRET_ACCESS_KEY": filler(40, ALNUM + "/+", seed="aws-secret"),
    "STRIPE_KEY": "sk" + "_live_" + filler(24, seed="stripe"),
    "SLACK_TOKEN": "xox" + "b-" + "2417659301-5872340198765-" + filler(24, seed="slack"),
    "DATABASE_PASSWORD": "S3cr3tPassw0rd",
    "NPM_TOKEN": "npm" + "_" + filler(36, seed="npm-build-arg"),
    "NPMRC_TOKEN": "npm" + "_" + filler(36, seed="npmrc"),
    "JWT": ".".join(
        (
            _b64url({"alg": "HS256", "typ": "JWT"}),
            _b64url({"sub": "deploy-bot", "iat": 1700000000}),
            filler(43, ALNUM + "_-", seed="jwt"),
        )
    ),
    "DJANGO_SECRET_KEY": filler(50, ALNUM + "!@#%^&*(-_=+)", seed="django"),
    "GITLAB_TOKEN": "glpat" + "-" + filler(20, seed="gitlab"),
    "GOOGLE_API_KEY": "AI" + "za" + filler(35, ALNUM + "_-", seed="google"),
    "REDIS_PASSWORD": filler(24, seed="redis"),
    "SSH_PRIVATE_KEY": _openssh_key(),
    "DOCKER_PASSWORD": filler(20, seed="docker-hub"),
}
SECRETS["DOCKER_AUTH"] = base64.b64encode(f"deploy:{SECRETS['DOCKER_PASSWORD']}".encode()).decode()

CHECK_TIMES: list[tuple[str, float]] = []
"""(what, seconds) of every `api.check` this session, for the terminal summary."""
PREBUILD_TIMES: list[tuple[int, float]] = []
"""(images, wall-clock seconds) of every concurrent prebuild this session."""

_PLACEHOLDER = re.compile(r"\{\{([A-Z0-9_]+)\}\}")


def render(text: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in SECRETS:
            raise KeyError(f"unknown placeholder {{{{{name}}}}}")
        return SECRETS[name]

    return _PLACEHOLDER.sub(value, text)


# ------------------------------------------------------------------------------- the images


@dataclass(frozen=True)
class Spec:
    name: str
    build_args: Mapping[str, str] = field(default_factory=dict)
    app: bool = True
    """Copy the shared service (`_app/`) into the context."""
    files: Mapping[str, str] = field(default_factory=dict)
    """More files for the context, written at assembly (git cannot store a nested `.git`)."""


SPECS: dict[str, Spec] = {
    spec.name: spec
    for spec in (
        Spec("good"),
        Spec("single-stage"),
        Spec("secret-env"),
        Spec("env-file-deleted"),
        Spec("build-arg-token", {"NPM_TOKEN": SECRETS["NPM_TOKEN"]}),
        Spec("root-user"),
        Spec("health-curl"),
        Spec("log-files"),
        Spec("fat"),
        Spec("caches"),
        Spec("wasted"),
        Spec(
            "article",
            files={
                ".git/HEAD": "ref: refs/heads/main\n",
                ".git/description": "orders\n",
                ".git/config": (
                    "[core]\n\trepositoryformatversion = 0\n\tbare = false\n"
                    '[remote "origin"]\n\turl = https://git.example.com/platform/orders.git\n'
                    "\tfetch = +refs/heads/*:refs/remotes/origin/*\n"
                ),
                ".git/refs/heads/main": "4b825dc642cb6eb9a060e54bf8d69288fbee4904\n",
            },
        ),
        Spec("secrets", {"NPM_TOKEN": SECRETS["NPM_TOKEN"]}),
    )
}


@dataclass(frozen=True)
class ItImage:
    """A built integration image and the workspace its Dockerfile and context sit in."""

    spec: Spec
    built: BuiltImage
    workspace: Path
    """Working directory of the checks: holds `<name>/` (the context) and `runtime/`."""

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def builder(self) -> Builder:
        return self.built.builder

    @property
    def ref(self) -> str:
        return self.built.daemon_ref

    @property
    def context(self) -> Path:
        return self.workspace / self.name

    @property
    def dockerfile(self) -> Path:
        return self.context / "Dockerfile"


def _assemble(spec: Spec, workspace: Path) -> Path:
    context = workspace / spec.name
    if spec.app:
        shutil.copytree(APP, context, dirs_exist_ok=True)
    shutil.copytree(DATA / spec.name, context, dirs_exist_ok=True)
    for relative, text in spec.files.items():
        (context / relative).parent.mkdir(parents=True, exist_ok=True)
        (context / relative).write_text(text, encoding="utf-8")
    for path in sorted(context.rglob("*")):
        try:
            text = path.read_text(encoding="utf-8") if path.is_file() else ""
        except UnicodeDecodeError:
            continue  # binary: no placeholders
        rendered = render(text)
        if rendered != text:
            path.write_text(rendered, encoding="utf-8")
    return context


class Shelf:
    """Builds each (image, builder) at most once per session, on first use; thread-safe."""

    def __init__(self, client: Any, workspace: Path) -> None:
        self.client = client
        self.workspace = workspace
        self._lock = threading.Lock()
        self._contexts: dict[str, Path] = {}
        self._locks: dict[tuple[str, Builder], threading.Lock] = {}
        self._images: dict[tuple[str, Builder], ItImage] = {}
        self._reports: dict[tuple[str, Builder, str, str], Report] = {}
        shutil.copytree(DATA / "runtime", workspace / "runtime")

    def _context(self, spec: Spec) -> Path:
        with self._lock:
            if spec.name not in self._contexts:
                self._contexts[spec.name] = _assemble(spec, self.workspace)
            return self._contexts[spec.name]

    def get(self, name: str, builder: Builder) -> ItImage:
        key = (name, builder)
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._images:
                spec = SPECS[name]
                context = self._context(spec)
                tag = f"{PREFIX}/{name}:{builder}"
                built = build_image(self.client, context, tag, builder, spec.build_args)
                self._images[key] = ItImage(spec, built, self.workspace)
            return self._images[key]

    def prebuild(self, names: list[str], workers: int = 4) -> None:
        """Build several images concurrently (a cold session is bound by the engine, not us)."""
        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(self.get, name, builder) for name in names for builder in BUILDERS]
            for future in futures:
                future.result()
        PREBUILD_TIMES.append((len(futures), time.monotonic() - start))

    def check(self, name: str, builder: Builder, runtime: str = "", policy: str = DEFAULT_POLICY) -> Report:
        """`check()` of an image, cached: every test of a scenario reads the same report."""
        key = (name, builder, runtime, policy)
        if key not in self._reports:
            image = self.get(name, builder)
            start = time.monotonic()
            self._reports[key] = check(image, runtime, policy)
            CHECK_TIMES.append((f"{image.built.tag} {runtime or '-'} {policy}", time.monotonic() - start))
        return self._reports[key]


def runtime_files(workspace: Path, runtime: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(compose files, Kubernetes dirs) of a runtime directory, relative to the workspace."""
    if not runtime:
        return (), ()
    root = workspace / runtime
    compose = (f"{runtime}/compose.yaml",) if (root / "compose.yaml").is_file() else ()
    k8s = (f"{runtime}/k8s",) if (root / "k8s").is_dir() else ()
    return compose, k8s


def check(image: ItImage, runtime: str = "", policy: str = DEFAULT_POLICY) -> Report:
    """`api.check` of the image with its Dockerfile and build context, the runtime files of
    `runtime` (`""` for none, `"good"` for those next to its Dockerfile, `"runtime/<scenario>"`)
    and `policy` (`builtin:NAME`, or a file relative to tests/data/integration/)."""
    compose, k8s = runtime_files(image.workspace, runtime)
    inputs = InputOptions(
        dockerfile=str(image.dockerfile),
        context=str(image.context),
        compose=tuple(str(image.workspace / c) for c in compose),
        k8s=tuple(str(image.workspace / k) for k in k8s),
        discover=False,
        workdir=str(image.workspace),
    )
    return api.check(
        image.ref,
        policies=[policy if policy.startswith("builtin:") else str(DATA / policy)],
        inputs=inputs,
        options=SourceOptions(environ=dict(os.environ)),
    )


@pytest.fixture(scope="session")
def shelf(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> Shelf:
    """The integration images, built on first use (every image once per session)."""
    import docker.errors

    for base in BASES:
        try:
            docker_client.api.inspect_image(base)
        except docker.errors.NotFound:
            unavailable(
                f"{base} is missing; build it: bash ../shared/images/make-base-images.sh --only=python"
            )
    source, repository, tag = UNPINNED_ALIAS
    docker_client.api.tag(source, repository, tag)
    return Shelf(docker_client, tmp_path_factory.mktemp("integration"))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for count, seconds in PREBUILD_TIMES:
        terminalreporter.write_line(f"integration images: {count} builds in {seconds:.1f}s (wall clock)")
    if CHECK_TIMES:
        total = sum(seconds for _, seconds in CHECK_TIMES)
        slowest = ", ".join(f"{what} {s:.1f}s" for what, s in sorted(CHECK_TIMES, key=lambda t: -t[1])[:3])
        terminalreporter.write_line(
            f"integration checks: {len(CHECK_TIMES)} api.check runs, {total:.1f}s in all "
            f"(run concurrently); slowest: {slowest}"
        )
