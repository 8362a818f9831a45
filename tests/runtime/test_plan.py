"""Planning a --run (pure): which settings, health checks and secrets come from where."""

from __future__ import annotations

import pytest

from gatekeeper.facts.runtime import PLACEHOLDER
from gatekeeper.parsers import compose, kubernetes
from gatekeeper.runtime import RunOptions
from gatekeeper.runtime.plan import cpu_count, health_plans, memory_bytes, plan_run
from tests.factories import image

MIB = 1 << 20
HEALTHCHECK = {
    "Test": ["CMD-SHELL", "wget -q -O- http://localhost:8080/ || exit 1"],
    "Interval": 30_000_000_000,
    "Timeout": 3_000_000_000,
    "StartPeriod": 5_000_000_000,
    "Retries": 3,
}
COMPOSE = """\
services:
  web:
    image: app:prod
    user: "10001:10001"
    entrypoint: ["/app/entry.sh"]
    command: --port 8080 --verbose
    environment:
      DB_PASSWORD: "Sup3r-S3cret-Passw0rd!"
      API_TOKEN: ${API_TOKEN}
      MODE: production
    deploy:
      resources:
        limits: {cpus: "0.50", memory: 64M}
    healthcheck:
      test: ["CMD", "/app/healthcheck", "--quick"]
      interval: 2s
      retries: 5
  bare:
    image: app:prod
    mem_limit: ${MEM:-1g}
"""
K8S = """\
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  template:
    spec:
      containers:
        - name: migrate
          image: app:prod
          command: ["/app/migrate"]
          args: ["--all"]
          securityContext: {runAsUser: 10001}
          resources:
            limits: {cpu: 250m, memory: 128Mi}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  template:
    spec:
      containers:
        - name: app
          image: app:prod
          ports: [{name: http, containerPort: 8080}]
          startupProbe:
            exec: {command: [cat, /tmp/ready]}
            periodSeconds: 1
            failureThreshold: 10
          livenessProbe:
            httpGet: {path: /healthz, port: http, scheme: HTTPS}
            initialDelaySeconds: 2
          readinessProbe:
            tcpSocket: {port: 8080}
            timeoutSeconds: 2
        - name: sidecar
          image: app:prod
          livenessProbe:
            grpc: {port: 9090}
          readinessProbe:
            httpGet: {port: metrics}
"""


def test_compose_settings() -> None:
    web, _ = compose.parse(COMPOSE, "compose.yaml")
    assert web.entrypoint == ("/app/entry.sh",)
    assert web.command == ("--port", "8080", "--verbose")
    facts = image(Healthcheck=HEALTHCHECK)
    plan = plan_run(facts, web, RunOptions(enabled=True), "docker-daemon:app:prod")
    settings = plan.settings
    assert plan.user == "10001:10001" and settings.user == "10001:10001"
    assert (plan.entrypoint, plan.command) == (("/app/entry.sh",), ("--port", "8080", "--verbose"))
    assert plan.env == (f"DB_PASSWORD={PLACEHOLDER}", "API_TOKEN=${API_TOKEN}", "MODE=production")
    assert settings.placeholders == ("DB_PASSWORD",)
    assert "Sup3r-S3cret-Passw0rd!" in plan.secrets
    assert (settings.memory, settings.memory_from) == (64 * MIB, "compose.yaml:13")
    assert (settings.cpus, settings.cpus_from) == (0.5, "compose.yaml:13")
    assert (settings.workload, settings.job, settings.pids) == ("compose service web", False, 256)
    [probe] = plan.probes
    assert probe.name == "compose service web healthcheck"
    assert probe.argv == ("/app/healthcheck", "--quick")
    # the compose values win; what compose leaves out comes from the image HEALTHCHECK
    assert (probe.interval, probe.timeout, probe.retries, probe.start_period) == (2.0, 3.0, 5, 5.0)
    assert probe.deadline == 15.0
    assert probe.rule_text == "start period 5s + 5 x 2s"
    assert probe.origin is not None and probe.origin.line == 15


def test_unparsable_limit_falls_back_to_the_policy() -> None:
    _, bare = compose.parse(COMPOSE, "compose.yaml")
    options = RunOptions(enabled=True, memory=256 * MIB, memory_from="policy")
    plan = plan_run(None, bare, options, "app")
    assert (plan.settings.memory, plan.settings.memory_from) == (256 * MIB, "policy")
    assert (plan.settings.cpus, plan.settings.cpus_from) == (1.0, "default")
    assert plan.notes == ("'${MEM:-1g}' is not a memory size; using the policy limit instead",)


def test_image_defaults_without_a_workload() -> None:
    facts = image(
        Healthcheck={"Test": ["CMD", "/bin/true"]},
        Env=["GITHUB_TOKEN=ghp_" + "aB3dE5gH7jK9mN1pQ3rS5tU7vW9xY1zA3bC5"],
    )
    plan = plan_run(facts, None, RunOptions(enabled=True, memory=None, cpus=None), "app")
    assert (plan.user, plan.entrypoint, plan.command, plan.env) == (None, None, None, ())
    assert (plan.settings.memory, plan.settings.cpus) == (None, None)
    [probe] = plan.probes
    assert (probe.name, probe.argv, probe.handler) == ("image HEALTHCHECK", ("/bin/true",), "exec")
    assert (probe.interval, probe.timeout, probe.retries, probe.start_period) == (30.0, 30.0, 3, 0.0)
    # the image's own secret values are redacted from anything the container prints
    assert plan.redact("token ghp_aB3dE5gH7jK9mN1pQ3rS5tU7vW9xY1zA3bC5 ok") == "token ghp_…(40 chars) ok"


def test_kubernetes_job_and_probes() -> None:
    job, app, sidecar = kubernetes.parse(K8S, "k8s.yaml")
    assert (job.entrypoint, job.command, job.is_job) == (("/app/migrate",), ("--all",), True)
    plan = plan_run(None, job, RunOptions(enabled=True), "app")
    assert plan.settings.job and plan.probes == ()
    assert (plan.settings.memory, plan.settings.cpus, plan.user) == (128 * MIB, 0.25, "10001")

    startup, liveness, readiness = health_plans(image(Healthcheck=HEALTHCHECK), app)
    assert (startup.argv, startup.in_helper, startup.deadline) == (("cat", "/tmp/ready"), False, 10.0)
    assert liveness.argv == (
        "wget",
        "-q",
        "-O",
        "/dev/null",
        "--no-check-certificate",
        "https://127.0.0.1:8080/healthz",
    )
    assert liveness.in_helper and liveness.shown == "GET https://127.0.0.1:8080/healthz"
    # Kubernetes defaults (10s, 1s, 3), after the startup probe's deadline
    assert (liveness.interval, liveness.timeout, liveness.retries, liveness.start_period) == (
        10.0,
        1.0,
        3,
        12.0,
    )
    assert readiness.argv == ("nc", "-w", "2", "127.0.0.1", "8080")
    assert readiness.shown == "TCP 127.0.0.1:8080"

    grpc, unresolved = health_plans(None, sidecar)
    assert grpc.error == "grpc probes are not run by gatekeeper"
    assert unresolved.error == "port metrics is not a number the container declares"


def test_job_kind_from_the_policy_and_service_override() -> None:
    job, _, _ = kubernetes.parse(K8S, "k8s.yaml")
    assert plan_run(None, None, RunOptions(kind="job"), "app").settings.job
    assert not plan_run(None, job, RunOptions(kind="service"), "app").settings.job


def test_compose_healthcheck_disabled_and_absent() -> None:
    text = "services:\n  a:\n    image: x\n    healthcheck: {disable: true}\n  b:\n    image: x\n"
    a, b = compose.parse(text, "compose.yaml")
    facts = image(Healthcheck=HEALTHCHECK)
    assert health_plans(facts, a) == ()
    [probe] = health_plans(facts, b)
    assert probe.name == "image HEALTHCHECK"
    assert probe.argv == ("/bin/sh", "-c", "wget -q -O- http://localhost:8080/ || exit 1")


def test_command_secrets_are_redacted_in_the_settings() -> None:
    text = "services:\n  a:\n    image: x\n    command: [app, --password=Hunter2-Very-Secret-9]\n"
    [a] = compose.parse(text, "compose.yaml")
    plan = plan_run(None, a, RunOptions(), "x")
    assert plan.command == ("app", "--password=Hunter2-Very-Secret-9")  # it runs as configured
    assert plan.settings.command == ("app", "--password=…(21 chars)")
    assert plan.redact("login with Hunter2-Very-Secret-9") == "login with …(21 chars)"


SECRET = "Zq8vN2kLp4Rt7Wx9Yb3Hc6Jd"  # no token format: only known as a secret by its key


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        (
            "compose",
            "services:\n  a:\n    image: x\n    environment: {API_TOKEN: " + SECRET + "}\n"
            "    healthcheck: {test: [CMD, /app/check, " + SECRET + "]}\n",
        ),
        (
            "kubernetes",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - name: a\n"
            "    image: x\n    env: [{name: API_TOKEN, value: " + SECRET + "}]\n"
            "    livenessProbe: {exec: {command: [/app/check, " + SECRET + "]}}\n"
            "    readinessProbe: {httpGet: {path: '/ready?token=" + SECRET + "', port: 8080}}\n",
        ),
    ],
)
def test_known_secrets_are_masked_in_health_check_text(kind: str, text: str) -> None:
    """The probe's text goes into findings and evidence: a value known to be secret never does."""
    [workload] = compose.parse(text, "c.yaml") if kind == "compose" else kubernetes.parse(text, "k.yaml")
    plan = plan_run(None, workload, RunOptions(), "x")
    assert SECRET in plan.secrets
    assert plan.probes
    for probe in plan.probes:
        assert SECRET not in probe.shown, probe.shown
        assert "…(24 chars)" in probe.shown
    assert any(SECRET in " ".join(probe.argv) for probe in plan.probes)  # still runs as configured


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("256Mi", "kubernetes", 256 * MIB),
        ("1G", "kubernetes", 10**9),
        ("129e6", "kubernetes", 129_000_000),
        ("128974848", "kubernetes", 128_974_848),
        ("512m", "compose", 512 * MIB),
        ("1g", "compose", 1 << 30),
        ("64M", "compose", 64 * MIB),
        ("1.5GB", "compose", 3 << 29),
        ("134217728", "compose", 134_217_728),
    ],
)
def test_memory_bytes(text: str, kind: str, expected: int) -> None:
    assert memory_bytes(text, kind) == expected


@pytest.mark.parametrize(
    ("text", "kind"), [("lots", "compose"), ("${MEM}", "kubernetes"), ("1Qi", "kubernetes")]
)
def test_memory_bytes_rejects(text: str, kind: str) -> None:
    with pytest.raises(ValueError, match="is not a memory size"):
        memory_bytes(text, kind)


@pytest.mark.parametrize(("text", "expected"), [("500m", 0.5), ("1", 1.0), ("0.50", 0.5), ("2", 2.0)])
def test_cpu_count(text: str, expected: float) -> None:
    assert cpu_count(text) == expected


@pytest.mark.parametrize("text", ["", "x", "0", "-1", "nan"])
def test_cpu_count_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="CPU count"):
        cpu_count(text)
