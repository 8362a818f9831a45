from __future__ import annotations

from typing import Any

import pytest

from gatekeeper.rules.image.healthcheck_missing import RULE
from tests.factories import catches, evidence, image, passes, violations
from tests.imagegen import directory, exe, file, symlink

SLIM = [
    directory("/bin"),
    exe("/bin/dash"),
    symlink("/bin/sh", "dash"),
    directory("/usr/bin"),
    exe("/usr/bin/python3"),
    file("/usr/bin/notexec", "x"),
    directory("/usr/local/bin"),
    symlink("/usr/local/bin/python", "/usr/bin/python3"),
    exe("/app/health"),
]
NO_SHELL = [exe("/app/health"), directory("/usr/bin"), exe("/usr/bin/wget")]


def hc(*test: str) -> dict[str, Any]:
    return {"Test": list(test), "Interval": 30_000_000_000}


def test_missing() -> None:
    [v] = violations(RULE, image([SLIM]))
    assert v.message == "The image has no HEALTHCHECK."


def test_none_disables() -> None:
    [v] = violations(RULE, image([SLIM], Healthcheck=hc("NONE")))
    assert "disables" in v.message


@pytest.mark.parametrize(
    "test",
    [
        ("CMD", "/app/health"),
        ("CMD", "python3", "-c", "1"),
        ("CMD", "python", "-c", "1"),
        ("CMD-SHELL", "python3 -c 'import sys' || exit 1"),
        ("CMD-SHELL", "FOO=1 BAR=2 /app/health"),
        ("CMD-SHELL", "exit 0"),
        ("CMD-SHELL", "test -f /tmp/ready"),
    ],
)
def test_existing_commands_pass(test: tuple[str, ...]) -> None:
    assert passes(RULE, image([SLIM], Healthcheck=hc(*test)))


@pytest.mark.parametrize(
    ("test", "missing"),
    [
        (("CMD-SHELL", "curl -f http://localhost:3000/health || exit 1"), "curl"),
        (("CMD", "curl", "-f", "http://localhost/"), "curl"),
        (("CMD", "/usr/bin/notexec"), "/usr/bin/notexec"),
        (("CMD", "/nope/health"), "/nope/health"),
    ],
)
def test_missing_commands_fail(test: tuple[str, ...], missing: str) -> None:
    [v] = violations(RULE, image([SLIM], Healthcheck=hc(*test)))
    assert f"{missing!r} is not in the image" in v.message


def test_shell_form_needs_a_shell() -> None:
    [v] = violations(RULE, image([NO_SHELL], Healthcheck=hc("CMD-SHELL", "wget -q localhost")))
    assert "/bin/sh" in v.message
    assert passes(RULE, image([NO_SHELL], Healthcheck=hc("CMD", "wget", "-q", "localhost")))


def test_path_from_image_env() -> None:
    facts = image([SLIM], Healthcheck=hc("CMD", "health"), Env=["PATH=/app:/usr/bin"])
    assert evidence(RULE, facts) == ["HEALTHCHECK CMD health: health found at /app/health"]
    assert catches(RULE, image([SLIM], Healthcheck=hc("CMD", "health")))


def test_command_deleted_in_later_layer_fails() -> None:
    from tests.imagegen import whiteout

    facts = image([SLIM, [whiteout("/app/health")]], Healthcheck=hc("CMD", "/app/health"))
    assert catches(RULE, facts)


def test_config_only_trusts_the_command() -> None:
    facts = image([SLIM], filesystem=False, Healthcheck=hc("CMD", "curl"))
    assert evidence(RULE, facts) == ["HEALTHCHECK CMD curl (command not verified)"]
    assert not RULE.needs(RULE.build_options({"verify_command": False})).filesystem


# ----------------------------------------------------------------- Dockerfile and runtime config

from gatekeeper.parsers import compose, kubernetes  # noqa: E402
from tests.factories import target, target_evidence, target_violations  # noqa: E402

K8S = """kind: Deployment
metadata: {name: api}
spec:
  template:
    spec:
      containers:
        - name: app
          image: app
          livenessProbe:
            exec: {command: ["/app/health"]}
          readinessProbe:
            httpGet: {path: /ready, port: 8080}
"""


def test_dockerfile_only() -> None:
    text = "FROM a:1 AS b\nHEALTHCHECK CMD true\nFROM c:1\nRUN x\n"
    [v] = target_violations(RULE, target(dockerfile=text))
    assert v.message == "The final stage has no HEALTHCHECK."
    ok = "FROM c:1\nHEALTHCHECK --interval=30s CMD curl -f http://localhost/ || exit 1\n"
    assert target_evidence(RULE, target(dockerfile=ok)) == [
        "HEALTHCHECK CMD curl -f http://localhost/ || exit 1 (line 2; no image to verify)"
    ]


def test_compose_healthcheck_satisfies() -> None:
    services = compose.parse(
        'services:\n  web:\n    image: app\n    healthcheck:\n      test: ["CMD", "/app/health"]\n',
        "compose.yaml",
    )
    tgt = target(image([SLIM]), workloads=services)
    assert target_violations(RULE, tgt) == []
    assert "found at /app/health" in target_evidence(RULE, tgt)[0]


def test_compose_healthcheck_command_missing() -> None:
    services = compose.parse(
        "services:\n  web:\n    image: app\n    healthcheck:\n      test: curl -f http://x\n", "c.yaml"
    )
    [v] = target_violations(RULE, target(image([SLIM]), workloads=services))
    assert "'curl' is not in the image" in v.message
    assert v.location.line == 5


def test_compose_disable() -> None:
    services = compose.parse(
        "services:\n  web:\n    image: app\n    healthcheck:\n      disable: true\n", "c.yaml"
    )
    [v] = target_violations(
        RULE, target(image([SLIM], Healthcheck=hc("CMD", "/app/health")), workloads=services)
    )
    assert v.message == "compose service web disables the health check."


def test_compose_without_healthcheck_falls_back_to_image() -> None:
    services = compose.parse("services:\n  web:\n    image: app\n", "c.yaml")
    assert (
        target_violations(
            RULE, target(image([SLIM], Healthcheck=hc("CMD", "/app/health")), workloads=services)
        )
        == []
    )
    [v] = target_violations(RULE, target(image([SLIM]), workloads=services))
    assert v.message == "compose service web has no healthcheck: The image has no HEALTHCHECK."


def test_kubernetes_probes() -> None:
    tgt = target(image([SLIM]), workloads=kubernetes.parse(K8S, "k8s/deploy.yaml"))
    assert target_violations(RULE, tgt) == []
    assert len(target_evidence(RULE, tgt)) == 2


def test_kubernetes_missing_readiness_ignores_image_healthcheck() -> None:
    text = K8S.split("          readinessProbe")[0]
    facts = image([SLIM], Healthcheck=hc("CMD", "/app/health"))
    [v] = target_violations(RULE, target(facts, workloads=kubernetes.parse(text, "k.yaml")))
    assert "has no readiness probe (Kubernetes ignores the image HEALTHCHECK)" in v.message


def test_kubernetes_jobs_exempt() -> None:
    job = (
        "kind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec:\n"
        "      containers:\n        - {name: j, image: app}\n"
    )
    facts = image([SLIM], Healthcheck=hc("CMD", "/app/health"))
    assert target_violations(RULE, target(facts, workloads=kubernetes.parse(job, "j.yaml"))) == []


def test_with_run_the_checks_are_evidence_only() -> None:
    from gatekeeper.facts.runtime import HealthStatus
    from tests.factories import target, target_evidence, target_violations
    from tests.rules.runtime.sample import facts, health

    results = (
        health(HealthStatus.HEALTHY),
        health(HealthStatus.UNHEALTHY, name="compose service app healthcheck", reason="exit 1 until 95s"),
    )
    tgt = target(
        image([[exe("/bin/wget")]], Healthcheck={"Test": ["CMD", "/bin/wget"]}), runtime=facts(health=results)
    )
    assert target_violations(RULE, tgt) == []
    assert target_evidence(RULE, tgt)[-2:] == [
        "--run: image HEALTHCHECK healthy after 0.6s",
        "--run: compose service app healthcheck unhealthy: exit 1 until 95s",
    ]


@pytest.mark.usefixtures("short_shlex")
def test_a_huge_shell_check_is_split_without_shlex() -> None:
    # shlex is quadratic on one long word: a 1 MB CMD-SHELL took 16 s. secrets.shell_words
    # splits at whitespace past SHLEX_LIMIT.
    from gatekeeper.facts.image import Healthcheck
    from gatekeeper.rules.image.healthcheck_missing import health_executable
    from gatekeeper.secrets import SHLEX_LIMIT

    check = Healthcheck(test=("CMD-SHELL", "curl -f http://x/" + "a" * (SHLEX_LIMIT + 10)))
    assert health_executable(check) == ("curl", True)
