"""templates/: valid GitLab CI/CD components whose script lines run in bash as a job would."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.imagegen import BUSYBOX_READY, Image, write_docker_archive
from tests.shared import shared_file

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((REPO / "templates").glob("*.yml"))
_INPUT = re.compile(r"\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]")


class _GitLabLoader(yaml.SafeLoader):
    """GitLab's `!reference [job, key]` tag read as a plain list, as check-jsonschema does."""


def _reference(loader: yaml.SafeLoader, node: yaml.Node) -> list[Any]:
    assert isinstance(node, yaml.SequenceNode)
    return loader.construct_sequence(node)


_GitLabLoader.add_constructor("!reference", _reference)


def load(path: Path) -> tuple[dict[str, Any], str]:
    """(spec header, the job document text) of a component file."""
    header, _, body = path.read_text().partition("\n---\n")
    spec = yaml.load(header, Loader=_GitLabLoader)
    return spec, body


def interpolate(body: str, spec: dict[str, Any], given: dict[str, str]) -> dict[str, Any]:
    inputs = spec["spec"]["inputs"]

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in inputs, f"$[[ inputs.{name} ]] is not declared in spec.inputs"
        if name in given:
            return given[name]
        assert "default" in inputs[name], f"input {name} is mandatory"
        return (
            str(inputs[name]["default"]).lower()
            if isinstance(inputs[name]["default"], bool)
            else str(inputs[name]["default"])
        )

    doc: dict[str, Any] = yaml.load(_INPUT.sub(value, body), Loader=_GitLabLoader)
    return doc


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    value: dict[str, Any] = json.loads(shared_file("schemas/gitlab/gitlab-ci.json").read_text())
    return value


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_component_is_valid(path: Path, schema: dict[str, Any]) -> None:
    spec, body = load(path)
    validator = jsonschema.Draft7Validator(schema)
    assert list(validator.iter_errors(spec)) == []
    declared = set(spec["spec"]["inputs"])
    used = set(_INPUT.findall(body))
    assert used <= declared
    assert declared - used <= {"image"} or not (declared - used - {"image"}), declared - used
    given = {name: f"x-{name}" for name, i in spec["spec"]["inputs"].items() if "default" not in i}
    job = interpolate(body, spec, given)
    assert list(validator.iter_errors(job)) == []
    [(_, definition)] = job.items()
    assert definition["artifacts"]["when"] == "always"
    assert set(definition["artifacts"]["reports"]) == {"junit", "codequality"}


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv that sees the already installed dependencies, so `pip install <repo>` is quick."""
    root = tmp_path_factory.mktemp("gitlab-venv")
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(root)], check=True)
    return root


def run_job(
    job: dict[str, Any], project: Path, venv: Path, extra_env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """before_script + script in one bash, with the job's variables and predefined CI ones."""
    lines = [*job.get("before_script", ()), *job["script"]]
    script = "set -eo pipefail\n" + "\n".join(lines)
    env = {
        **os.environ,
        "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
        "HOME": str(project / ".home"),
        "CI": "true",
        "GITLAB_CI": "true",
        "CI_PROJECT_DIR": str(project),
        "CI_COMMIT_SHA": "0" * 40,
        "CI_COMMIT_SHORT_SHA": "00000000",
        "CI_REGISTRY": "registry.example.com",
        "CI_REGISTRY_USER": "gitlab-ci-token",
        "CI_REGISTRY_PASSWORD": "glcbt-not-a-real-token",
        **{k: str(v) for k, v in job.get("variables", {}).items()},
        **extra_env,
    }
    env.pop("GITHUB_ACTIONS", None)
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", script],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def project(tmp_path: Path, user: str) -> Path:
    work = tmp_path / "project"
    (work / ".home").mkdir(parents=True)
    image = Image(layers=BUSYBOX_READY.layers, config=dict(BUSYBOX_READY.config, User=user))
    write_docker_archive(work / "app.tar", image)
    return work


def job_for(inputs: dict[str, str]) -> dict[str, Any]:
    spec, body = load(REPO / "templates" / "gatekeeper.yml")
    [(_, job)] = interpolate(body, spec, {"package": str(REPO), **inputs}).items()
    assert isinstance(job, dict)
    return job


def test_job_script_passes_and_writes_reports(tmp_path: Path, venv: Path) -> None:
    work = project(tmp_path, "10001")
    proc = run_job(job_for({"image": "docker-archive:app.tar"}), work, venv, {})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (work / "gatekeeper-junit.xml").read_text().startswith("<?xml")
    quality = json.loads((work / "gl-code-quality-report.json").read_text())
    assert {e["check_name"] for e in quality} == {"labels-missing"}  # advisory (low), not blocking
    auth = json.loads((work / ".home" / ".docker" / "config.json").read_text())
    assert "registry.example.com" in auth["auths"]


def test_job_script_fails_the_job_but_keeps_reports(tmp_path: Path, venv: Path) -> None:
    work = project(tmp_path, "")
    proc = run_job(job_for({"image": "docker-archive:app.tar", "fail-on": "high"}), work, venv, {})
    assert proc.returncode == 1
    quality = json.loads((work / "gl-code-quality-report.json").read_text())
    assert any(e["check_name"] == "runs-as-root" for e in quality)
    assert "<failure" in (work / "gatekeeper-junit.xml").read_text()


def test_job_scan_report_and_args(tmp_path: Path, venv: Path) -> None:
    work = project(tmp_path, "10001")
    (work / "Dockerfile").write_text("FROM scratch\n")
    (work / "trivy.json").write_text(
        '{"SchemaVersion": 2, "ArtifactName": "app", "Results": [{"Target": "app", "Vulnerabilities": '
        '[{"VulnerabilityID": "CVE-2026-0001", "PkgName": "openssl", "InstalledVersion": "3.0.1", '
        '"FixedVersion": "3.0.2", "Severity": "CRITICAL"}]}]}'
    )
    inputs = {"image": "docker-archive:app.tar", "scan-report": "trivy.json", "args": "--no-discover"}
    proc = run_job(job_for(inputs), work, venv, {})
    assert proc.returncode == 1
    quality = json.loads((work / "gl-code-quality-report.json").read_text())
    assert [e["check_name"] for e in quality if e["check_name"] == "vulnerabilities"] == ["vulnerabilities"]
    # args reached the CLI: with discovery, the Dockerfile would be found and its missing
    # .dockerignore reported (a FROM scratch Dockerfile passes single-stage-build either way)
    assert not any(e["check_name"] == "dockerignore" for e in quality)


def test_job_warn_only(tmp_path: Path, venv: Path) -> None:
    work = project(tmp_path, "")
    proc = run_job(job_for({"image": "docker-archive:app.tar", "warn-only": "true"}), work, venv, {})
    assert proc.returncode == 0, proc.stderr


@pytest.mark.registry
def test_job_reads_from_the_registry(tmp_path: Path, venv: Path, registry: str, skopeo: str) -> None:
    work = project(tmp_path, "10001")
    target = f"{registry}/gk-test/component:1"
    subprocess.run(
        [
            skopeo,
            "copy",
            "-q",
            "--dest-tls-verify=false",
            f"docker-archive:{work / 'app.tar'}",
            f"docker://{target}",
        ],
        check=True,
    )
    proc = run_job(job_for({"image": f"docker://{target}"}), work, venv, {"CI_REGISTRY": registry})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "READY for production" in proc.stdout
