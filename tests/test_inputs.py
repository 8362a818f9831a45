"""Repository inputs: explicit paths, discovery in the working directory, and image-name matching."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from gatekeeper.errors import InputError, UsageError
from gatekeeper.facts import InputFile
from gatekeeper.facts.workload import Workload
from gatekeeper.findings import Location
from gatekeeper.inputs import (
    InputOptions,
    display_path,
    gather,
    read_text,
    repository,
    select_workloads,
)
from gatekeeper.yamlpos import load_all
from tests.shared import shared_file

DOCKERFILE = 'FROM node:18-alpine\nWORKDIR /app\nCOPY . .\nUSER node\nCMD ["node", "index.js"]\n'
DOCKERIGNORE = "node_modules\n.env\n*.md\n"
COMPOSE = """\
services:
  app:
    image: registry.example.com/team/app:1.0
  db:
    image: postgres:15-alpine
"""
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  template:
    spec:
      containers:
        - name: app
          image: registry.example.com/team/app:1.0
"""
JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
spec:
  template:
    spec:
      containers:
        - name: migrate
          image: registry.example.com/team/app:1.0
---
apiVersion: v1
kind: Service
metadata:
  name: app
"""
OTHER_COMPOSE = "services:\n  ignored:\n    image: x\n"
TRIVY = json.dumps({"SchemaVersion": 2, "ArtifactName": "app:1.0", "Results": []})


@pytest.mark.parametrize("text", [COMPOSE, OTHER_COMPOSE])
def test_compose_fixtures_are_real_compose_files(text: str) -> None:
    schema = json.loads(shared_file("schemas/compose/compose-spec.json").read_text())
    [doc] = load_all(text)
    assert [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(doc.data)] == []


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    write(
        tmp_path,
        {
            "Dockerfile": DOCKERFILE,
            ".dockerignore": DOCKERIGNORE,
            "compose.yaml": COMPOSE,
            "docker-compose.yml": OTHER_COMPOSE,
            "k8s/deployment.yaml": DEPLOYMENT,
            "k8s/jobs/migrate.yml": JOB,
            "k8s/README.md": "not a manifest",
            "k8s/values.json": "{}",
            "deploy/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
            "src/index.js": "",
            "reports/trivy.json": TRIVY,
        },
    )
    return tmp_path


def test_discovery(repo: Path) -> None:
    inputs = gather(InputOptions(workdir=str(repo)))
    assert inputs.files == (
        InputFile("dockerfile", "Dockerfile", "discovered"),
        InputFile("dockerignore", ".dockerignore", "discovered"),
        InputFile("compose", "compose.yaml", "discovered"),  # the first compose name wins
        InputFile("kubernetes", "k8s/deployment.yaml", "discovered"),
        InputFile("kubernetes", "k8s/jobs/migrate.yml", "discovered"),
        InputFile("kubernetes", "deploy/extra.yaml", "discovered"),
    )
    assert inputs.dockerfile is not None
    assert inputs.dockerfile.path == "Dockerfile"
    assert [i.keyword for i in inputs.dockerfile.instructions] == ["FROM", "WORKDIR", "COPY", "USER", "CMD"]
    assert inputs.context is not None
    assert inputs.context.root == "."
    assert inputs.context.dockerignore is not None
    assert inputs.context.dockerignore.path == ".dockerignore"
    assert inputs.context.dockerignore.excluded("README.md")
    assert inputs.context.files == (
        ".dockerignore",
        "Dockerfile",
        "compose.yaml",
        "deploy",
        "docker-compose.yml",
        "k8s",
        "reports",
        "src",
    )
    assert [(w.name, w.origin) for w in inputs.workloads] == [
        ("compose service app", Location("compose.yaml", 2, "services.app")),
        ("compose service db", Location("compose.yaml", 4, "services.db")),
        (
            "Deployment/app container app",
            Location("k8s/deployment.yaml", 9, "spec.template.spec.containers.0"),
        ),
        (
            "Job/migrate container migrate",
            Location("k8s/jobs/migrate.yml", 9, "spec.template.spec.containers.0"),
        ),
    ]
    assert inputs.scans == ()
    assert inputs.service is None


def test_explicit_paths(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    write(elsewhere, {"Dockerfile.prod": "FROM alpine\n", "trivy.json": TRIVY})
    inputs = gather(
        InputOptions(
            dockerfile=str(repo / "Dockerfile"),
            context=str(repo / "src"),
            compose=(str(repo / "docker-compose.yml"),),
            k8s=(str(repo / "k8s" / "jobs"), str(repo / "deploy" / "extra.yaml")),
            scan_reports=(str(repo / "reports" / "trivy.json"), str(elsewhere / "trivy.json")),
            discover=False,
            workdir=str(repo),
        )
    )
    assert inputs.files == (
        InputFile("dockerfile", "Dockerfile", "given"),
        InputFile("compose", "docker-compose.yml", "given"),
        InputFile("kubernetes", "k8s/jobs/migrate.yml", "given"),
        InputFile("kubernetes", "deploy/extra.yaml", "given"),
        InputFile("scan-report", "reports/trivy.json", "given"),
        InputFile("scan-report", str(elsewhere / "trivy.json"), "given"),  # outside: shown as given
    )
    assert inputs.context is not None
    assert (inputs.context.root, inputs.context.dockerignore, inputs.context.files) == (
        "src",
        None,
        ("index.js",),
    )
    assert [w.name for w in inputs.workloads] == ["compose service ignored", "Job/migrate container migrate"]
    assert [(s.path, s.scanner, s.artifact) for s in inputs.scans] == [
        ("reports/trivy.json", "trivy", "app:1.0"),
        (str(elsewhere / "trivy.json"), "trivy", "app:1.0"),
    ]


def test_dockerfile_outside_the_workdir(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("other")
    write(elsewhere, {"Dockerfile": "FROM alpine\n", ".dockerignore": ".git\n"})
    inputs = gather(InputOptions(dockerfile=str(elsewhere / "Dockerfile"), workdir=str(tmp_path)))
    assert inputs.dockerfile is not None
    assert inputs.dockerfile.path == str(elsewhere / "Dockerfile")
    assert inputs.context is not None
    assert inputs.context.root == str(elsewhere)
    assert inputs.files == (
        InputFile("dockerfile", str(elsewhere / "Dockerfile"), "given"),
        InputFile("dockerignore", str(elsewhere / ".dockerignore"), "discovered"),
    )


def test_nested_dockerfile_with_explicit_context(repo: Path) -> None:
    write(
        repo, {"services/api/Dockerfile": "FROM python:3.11-slim\n", "services/api/.dockerignore": "*.pyc\n"}
    )
    inputs = gather(
        InputOptions(
            dockerfile=str(repo / "services" / "api" / "Dockerfile"),
            context=str(repo / "services" / "api"),
            discover=False,
            workdir=str(repo),
        )
    )
    assert inputs.files == (
        InputFile("dockerfile", "services/api/Dockerfile", "given"),
        InputFile("dockerignore", "services/api/.dockerignore", "given"),
    )
    assert inputs.context is not None
    assert inputs.context.root == "services/api"


def test_nothing_to_find(tmp_path: Path) -> None:
    inputs = gather(InputOptions(workdir=str(tmp_path)))
    assert (inputs.dockerfile, inputs.context, inputs.workloads, inputs.scans, inputs.files) == (
        None,
        None,
        (),
        (),
        (),
    )


def test_discovery_off(repo: Path) -> None:
    inputs = gather(InputOptions(discover=False, workdir=str(repo)))
    assert (inputs.dockerfile, inputs.context, inputs.workloads, inputs.files) == (None, None, (), ())


def test_compose_discovery_order(tmp_path: Path) -> None:
    write(tmp_path, {"docker-compose.yaml": COMPOSE, "docker-compose.yml": OTHER_COMPOSE})
    inputs = gather(InputOptions(workdir=str(tmp_path)))
    assert inputs.files == (InputFile("compose", "docker-compose.yaml", "discovered"),)


HELM_TEMPLATE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "app.fullname" . }}
spec:
  template:
    spec:
      containers:
        - name: app
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          {{- with .Values.resources }}
          resources:
            {{- toYaml . | nindent 12 }}
          {{- end }}
"""


def test_discovery_skips_helm_charts(repo: Path) -> None:
    write(
        repo,
        {
            "deploy/chart/Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\n",
            "deploy/chart/values.yaml": "image:\n  repository: app\n",
            "deploy/chart/templates/deployment.yaml": HELM_TEMPLATE,
        },
    )
    inputs = gather(InputOptions(workdir=str(repo)))
    assert [f.path for f in inputs.files if f.kind == "kubernetes"] == [
        "k8s/deployment.yaml",
        "k8s/jobs/migrate.yml",
        "deploy/extra.yaml",
    ]
    # Given explicitly, a chart is read like any manifest directory (and its templates are no YAML).
    with pytest.raises(InputError, match=r"^deploy/chart/templates/deployment.yaml:12:11: invalid YAML"):
        gather(InputOptions(k8s=(str(repo / "deploy" / "chart"),), discover=False, workdir=str(repo)))


def test_service_selection(repo: Path) -> None:
    assert gather(InputOptions(service="db", workdir=str(repo))).service == "db"


def test_unknown_service_lists_the_services(repo: Path) -> None:
    with pytest.raises(UsageError) as info:
        gather(InputOptions(service="web", workdir=str(repo)))
    assert str(info.value) == "--service web: no such compose service (services: app, db)"


def test_service_without_compose_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        gather(InputOptions(service="web", workdir=str(tmp_path)))
    assert str(info.value) == "--service web: no such compose service (services: none)"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("dockerfile", "missing/Dockerfile", "{root}/missing/Dockerfile: Dockerfile not found"),
        ("compose", ("missing.yaml",), "{root}/missing.yaml: compose file not found"),
        ("k8s", ("manifests",), "{root}/manifests: Kubernetes manifest file or directory not found"),
        ("scan_reports", ("trivy.json",), "{root}/trivy.json: scan report not found"),
        ("context", "nope", "{root}/nope: build context is not a directory"),
        ("dockerfile", "k8s", "{root}/k8s: is a directory, expected a Dockerfile"),
        ("compose", ("k8s",), "{root}/k8s: is a directory, expected a compose file"),
    ],
)
def test_missing_inputs(repo: Path, field: str, value: str | tuple[str, ...], message: str) -> None:
    absolute: str | tuple[str, ...] = (
        str(repo / value) if isinstance(value, str) else tuple(str(repo / v) for v in value)
    )
    options = InputOptions(discover=False, workdir=str(repo), **{field: absolute})  # type: ignore[arg-type]
    with pytest.raises(InputError) as info:
        gather(options)
    assert str(info.value) == message.format(root=repo)


@pytest.mark.parametrize(
    ("name", "content", "field", "message"),
    [
        ("Dockerfile", b"FROM alpine\nLABEL a=\xff\xfe\n", "dockerfile", "Dockerfile is not UTF-8 text"),
        ("compose.yaml", b"services:\n  a:\n    image: \xe9\n", "compose", "compose file is not UTF-8 text"),
        ("k8s.yaml", b"\x89PNG\r\n\x1a\n", "k8s", "Kubernetes manifest is not UTF-8 text"),
        ("scan.json", b"\xff\xfe{\x00}\x00", "scan_reports", "scan report is not UTF-8 text"),
    ],
)
def test_non_utf8_input(tmp_path: Path, name: str, content: bytes, field: str, message: str) -> None:
    write(tmp_path, {name: content})
    path = str(tmp_path / name)
    value: str | tuple[str, ...] = path if field == "dockerfile" else (path,)
    options = InputOptions(discover=False, workdir=str(tmp_path), **{field: value})  # type: ignore[arg-type]
    with pytest.raises(InputError) as info:
        gather(options)
    assert str(info.value) == f"{path}: {message}"


def test_parse_errors_name_the_shown_path(repo: Path) -> None:
    write(repo, {"k8s/broken.yaml": "kind: Pod\nspec: [\n"})
    with pytest.raises(InputError) as info:
        gather(InputOptions(workdir=str(repo)))
    assert str(info.value).startswith("k8s/broken.yaml:3:1: invalid YAML:")


def test_dockerfile_parse_error_names_the_shown_path(tmp_path: Path) -> None:
    write(tmp_path, {"Dockerfile": "FROM alpine\nRUNN make\n"})
    with pytest.raises(InputError) as info:
        gather(InputOptions(workdir=str(tmp_path)))
    assert str(info.value) == "Dockerfile:2: unknown instruction 'RUNN' (is this a Dockerfile?)"


def test_read_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {"bom": "\ufeffFROM alpine\n".encode(), "big": b"x" * 64, "ok": "é\n"})
    assert read_text(tmp_path / "bom", "Dockerfile") == "FROM alpine\n"
    assert read_text(tmp_path / "ok", "file") == "é\n"
    monkeypatch.setattr("gatekeeper.inputs.MAX_INPUT", 32)
    with pytest.raises(InputError, match=r"big: Dockerfile is larger than 0 MiB$"):
        read_text(tmp_path / "big", "Dockerfile")


def test_display_path(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    assert display_path(tmp_path / "a" / "Dockerfile", tmp_path) == "a/Dockerfile"
    assert display_path(tmp_path / "a" / ".." / "Dockerfile", tmp_path) == "Dockerfile"
    assert display_path(tmp_path, tmp_path) == "."
    assert display_path(Path("/elsewhere/Dockerfile"), tmp_path) == "/elsewhere/Dockerfile"


# --- which workloads run the image ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "repo"),
    [
        ("app", "app"),
        ("app:1.0", "app"),
        ("app@sha256:0123abcd", "app"),
        ("app:1.0@sha256:0123abcd", "app"),
        ("nginx", "nginx"),
        ("docker.io/library/nginx:1.27", "nginx"),
        ("index.docker.io/library/nginx", "nginx"),
        ("library/nginx:latest", "nginx"),
        ("docker.io/bitnami/redis:7.2", "bitnami/redis"),
        ("index.docker.io/bitnami/redis", "bitnami/redis"),
        ("registry-1.docker.io/bitnami/redis", "bitnami/redis"),
        ("registry.example.com/team/app:1.4.2", "registry.example.com/team/app"),
        ("localhost:5000/app", "localhost:5000/app"),
        ("localhost:5000/app:dev", "localhost:5000/app"),
        ("127.0.0.1:5000/team/app@sha256:00", "127.0.0.1:5000/team/app"),
        ("docker://registry.example.com/app:1", "registry.example.com/app"),
        ("docker-daemon:app:prod", "app"),
        ("app:${TAG:-latest}", "app"),
        ("registry.example.com/app:${TAG}", "registry.example.com/app"),
        ("${REGISTRY:-ghcr.io}/team/app:1", "${REGISTRY:-ghcr.io}/team/app"),
        ("quay.io/library/app", "quay.io/library/app"),
        ("", ""),
    ],
)
def test_repository(name: str, repo: str) -> None:
    assert repository(name) == repo


def workload(name: str, image: str, kind: str = "compose") -> Workload:
    return Workload(name=name, kind=kind, origin=Location("compose.yaml", 1, name), image=image)


WORKLOADS = (
    workload("compose service app", "registry.example.com/team/app:${TAG:-1.0}"),
    workload("compose service db", "postgres:15-alpine"),
    workload("compose service built", ""),
    workload("Deployment/app container app", "ghcr.io/other/app@sha256:0123", "kubernetes"),
    workload("Deployment/app container proxy", "envoyproxy/envoy:v1.30.1", "kubernetes"),
    workload("Pod/p container nginx", "nginx", "kubernetes"),
)


@pytest.mark.parametrize(
    ("names", "service", "chosen"),
    [
        (
            {"registry.example.com/team/app"},
            None,
            ["compose service app", "Deployment/app container app"],  # the same repository name
        ),
        ({"app"}, None, ["compose service app", "Deployment/app container app"]),
        ({"postgres"}, None, ["compose service db"]),
        ({"docker.io/library/postgres"}, None, ["compose service db"]),  # by the last path element
        ({"nginx"}, None, ["Pod/p container nginx"]),
        ({"envoy"}, None, ["Deployment/app container proxy"]),
        ({"unrelated"}, None, []),
        (set(), None, []),
        ({"unrelated"}, "db", ["compose service db"]),  # --service wins over the image name
        ({"app"}, "built", ["compose service built"]),
    ],
)
def test_select_workloads(names: set[str], service: str | None, chosen: list[str]) -> None:
    assert [w.name for w in select_workloads(WORKLOADS, names, service)] == chosen


def test_select_workloads_by_full_references() -> None:
    names = ["docker.io/library/postgres:15-alpine", "localhost:5000/cache@sha256:0123", ""]
    assert [w.name for w in select_workloads(WORKLOADS, names, None)] == ["compose service db"]
