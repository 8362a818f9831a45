"""gatekeeper's own image, from the repository's Dockerfile: it builds offline, runs, and passes strict.

The dependency wheels (and the build backend) are downloaded once on the host for the Python and
platform of the base image, cached in ~/.cache/gatekeeper-test-env/wheels/<key>/ (key: the
requirements and the target; $GATEKEEPER_TEST_WHEEL_CACHE moves it), and put into the build
context as `wheels/`, which makes the Dockerfile install with --no-index. The image is built
with `--network none` on the local stand-in bases (local/python:3.11 builds,
local/python:3.11-slim runs) with both builders.

The strict verdict is judged with tests/data/own-image-policy.yaml: builtin:strict plus explicit,
dated waivers for what this offline machine cannot show. Every waiver must match a finding (an
unused one fails the test, so a fixed gap forces its waiver out) and every other rule must pass
or be not applicable (skipped, like the `--run` rules).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import __version__, api
from gatekeeper.inputs import InputOptions
from gatekeeper.report import Report, Status
from tests.conftest import BUILD_TIMES, BUILDERS, Builder, BuiltImage, docker_cli, unavailable
from tests.imagegen import BUSYBOX_LIKE, write_docker_archive

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "tests" / "data" / "own-image-policy.yaml"
JOB = REPO / "examples" / "deploy" / "gatekeeper-job.yaml"
BUILDER_BASE = "local/python:3.11"
RUNTIME_BASE = "local/python:3.11-slim"
CONTEXT = ("pyproject.toml", "README.md", "policies", "gatekeeper")
"""What the Dockerfile copies: the .dockerignore allowlist, besides `wheels`."""
WAIVED = {"vulnerabilities", "image-size", "base-image-unpinned"}
"""The rules tests/data/own-image-policy.yaml waives; see the reasons there."""
OWN_BUDGET = 15_000_000
"""What gatekeeper may add to its base: what the test holds it to while strict's budget is waived."""


def _run(command: list[str], timeout: float = 300, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)


def _tail(result: subprocess.CompletedProcess[str], lines: int = 30) -> str:
    return "\n".join((result.stdout + result.stderr).strip().splitlines()[-lines:])


@pytest.fixture(scope="module")
def bases(docker_client: Any) -> dict[str, str]:
    """The base images exist; the Python, glibc and machine of the runtime base."""
    import docker.errors

    for base in (BUILDER_BASE, RUNTIME_BASE):
        try:
            docker_client.api.inspect_image(base)
        except docker.errors.NotFound:
            unavailable(
                f"{base} is missing; build it: bash ../shared/images/make-base-images.sh --only=python"
            )
    probe = (
        "import json, platform, sys; print(json.dumps({'python': '%d.%d' % sys.version_info[:2],"
        " 'glibc': platform.libc_ver()[1], 'machine': platform.machine()}))"
    )
    result = _run([docker_cli(), "run", "--rm", "--network", "none", RUNTIME_BASE, "python3", "-c", probe])
    assert result.returncode == 0, _tail(result)
    target: dict[str, str] = json.loads(result.stdout)
    return target


def _requirements() -> list[str]:
    """The runtime dependencies and the build backend (the image builds gatekeeper from source)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    return sorted([*project["project"]["dependencies"], *project["build-system"]["requires"]])


def _platforms(glibc: str, machine: str) -> list[str]:
    """Every manylinux tag the target's glibc accepts, newest first (pip does not expand them)."""
    major, minor = (int(part) for part in glibc.split(".")[:2])
    assert major == 2, f"unexpected glibc {glibc}"
    tags = [f"manylinux_2_{m}_{machine}" for m in range(minor, 4, -1)]
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    return tags + [f"{name}_{machine}" for m, name in legacy.items() if m <= minor]


@pytest.fixture(scope="module")
def wheels(bases: dict[str, str]) -> Path:
    """Binary wheels of every requirement for the base image's Python, downloaded once."""
    requirements = _requirements()
    key_text = json.dumps([requirements, bases], sort_keys=True)
    key = hashlib.sha256(key_text.encode()).hexdigest()[:16]
    root = Path(
        os.environ.get("GATEKEEPER_TEST_WHEEL_CACHE")
        or Path.home() / ".cache" / "gatekeeper-test-env" / "wheels"
    )
    cached = root / f"py{bases['python']}-{bases['machine']}-{key}"
    if (cached / "requirements.txt").is_file():
        return cached
    partial = root / f".partial-{key}-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    command = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--quiet"]
    command += ["--only-binary=:all:", "--implementation", "cp", "--python-version", bases["python"]]
    for tag in _platforms(bases["glibc"], bases["machine"]):
        command += ["--platform", tag]
    result = _run([*command, "--dest", str(partial), *requirements], timeout=600)
    if result.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        unavailable(f"cannot download the dependency wheels from the package index:\n{_tail(result, 8)}")
    # Written last: a directory with requirements.txt is complete.
    (partial / "requirements.txt").write_text("\n".join(requirements) + "\n")
    try:
        partial.rename(cached)
    except OSError:  # another session finished first
        shutil.rmtree(partial, ignore_errors=True)
    return cached


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory, wheels: Path) -> Path:
    """A build context with what the Dockerfile copies, plus the wheels."""
    ctx = tmp_path_factory.mktemp("own-image-context")
    for name in ("Dockerfile", ".dockerignore", *CONTEXT):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, ctx / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, ctx / name)
    shutil.copytree(wheels, ctx / "wheels", ignore=shutil.ignore_patterns("requirements.txt"))
    return ctx


def _revision() -> str:
    result = _run(["git", "-C", str(REPO), "rev-parse", "HEAD"], timeout=30)
    return result.stdout.strip() if result.returncode == 0 else "unknown"


@pytest.fixture(scope="module", params=BUILDERS)
def own_image(request: pytest.FixtureRequest, docker_client: Any, context: Path) -> BuiltImage:
    builder: Builder = request.param
    tag = f"gk-test/gatekeeper:{builder}"
    command = [docker_cli(), "build", "--network", "none", "--quiet", "--tag", tag]
    for arg in (
        f"BUILDER_IMAGE={BUILDER_BASE}",
        f"BASE_IMAGE={RUNTIME_BASE}",
        f"REVISION={_revision()}",
        f"VERSION={__version__}",
    ):
        command += ["--build-arg", arg]
    env = dict(os.environ, DOCKER_BUILDKIT="1" if builder == "buildkit" else "0")
    start = time.monotonic()
    result = _run([*command, str(context)], timeout=900, env=env)
    seconds = time.monotonic() - start
    if result.returncode != 0:
        pytest.fail(f"docker build of {tag} failed:\n{_tail(result)}")
    BUILD_TIMES.append((tag, seconds))
    return BuiltImage(tag, builder, str(docker_client.api.inspect_image(tag)["Id"]), seconds)


def test_dockerignore_allows_what_the_dockerfile_copies() -> None:
    """The test context and the .dockerignore allowlist name the same files."""
    lines = (REPO / ".dockerignore").read_text().splitlines()
    allowed = {line[1:].strip("/") for line in lines if line.startswith("!")}
    assert allowed == {*CONTEXT, "wheels"}


@pytest.mark.docker
@pytest.mark.slow
def test_image_runs_offline(own_image: BuiltImage) -> None:
    result = _run([docker_cli(), "run", "--rm", "--network", "none", own_image.tag, "--version"])
    assert result.returncode == 0, _tail(result)
    assert result.stdout == f"gatekeeper {__version__}\n"


@pytest.mark.docker
@pytest.mark.slow
def test_image_checks_a_mounted_archive(own_image: BuiltImage, tmp_path: Path) -> None:
    """A real check inside the container, locked down like examples/deploy/gatekeeper-job.yaml,
    gives the same verdict as gatekeeper in-process."""
    mounted = tmp_path / "in"
    mounted.mkdir()
    archive = mounted / "app.tar"
    write_docker_archive(archive, BUSYBOX_LIKE)
    mounted.chmod(0o755)  # readable by the image's user 10001
    archive.chmod(0o644)
    command = [docker_cli(), "run", "--rm", "--network", "none", "--read-only", "--tmpfs", "/tmp"]
    command += ["--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
    command += ["--volume", f"{mounted}:/data:ro", own_image.tag]
    command += ["check", "docker-archive:/data/app.tar", "--policy", "builtin:default", "--format", "json"]
    result = _run(command)
    expected = api.check(f"docker-archive:{archive}", policies=["builtin:default"])
    assert result.returncode == (0 if expected.passed else 1), _tail(result)
    inside = json.loads(result.stdout)
    assert {r["name"]: r["status"] for r in inside["rules"]} == {
        r.rule.name: r.status.value for r in expected.results
    }
    assert not expected.passed  # BUSYBOX_LIKE runs as root: the gate in the container really fails


def _verdict(report: Report) -> str:
    return "\n".join(
        f"{r.status.value:8} {r.rule.name}: "
        + "; ".join((*(f.message for f in r.findings), *r.evidence, *([r.reason] if r.reason else [])))
        for r in report.results
    )


@pytest.mark.docker
@pytest.mark.slow
def test_own_image_passes_strict(own_image: BuiltImage, docker_client: Any) -> None:
    report = api.check(
        own_image.daemon_ref,
        policies=[str(POLICY)],
        inputs=InputOptions(
            dockerfile=str(REPO / "Dockerfile"),
            context=str(REPO),
            k8s=(str(JOB),),
            discover=False,
            workdir=str(REPO),
        ),
    )
    verdict = _verdict(report)
    assert report.passed, verdict
    statuses = {r.rule.name: r.status for r in report.results}
    assert {name for name, status in statuses.items() if status is Status.WAIVED} == WAIVED, verdict
    others = {name: status for name, status in statuses.items() if name not in WAIVED}
    assert set(others.values()) <= {Status.PASSED, Status.SKIPPED}, verdict  # skipped: not applicable
    assert report.unused_waivers == (), "a waiver matches nothing any more: delete it from " + POLICY.name
    for finding in report.waived:
        assert finding.waiver is not None and POLICY.name in finding.waiver.origin, finding
    # The size budget is waived for the local base; what gatekeeper itself adds is not.
    base_size = int(docker_client.api.inspect_image(RUNTIME_BASE)["Size"])
    assert report.subject.size is not None
    assert report.subject.size - base_size <= OWN_BUDGET, verdict
