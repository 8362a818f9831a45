from __future__ import annotations

import pytest

from gatekeeper.facts import Target
from gatekeeper.facts.runtime import HealthStatus
from gatekeeper.findings import Location
from gatekeeper.rule import NotApplicable
from gatekeeper.rules.runtime.container_unhealthy import RULE
from tests.factories import check_target, target, target_evidence, target_violations
from tests.rules.runtime.sample import facts, health, job


def test_skipped_without_run() -> None:
    with pytest.raises(NotApplicable, match=r"runtime verification not requested \(--run\)"):
        check_target(RULE, Target())


def test_skipped_when_the_image_could_not_run_here() -> None:
    tgt = target(runtime=facts(started=False, attempted=False, reason="needs the local engine"))
    with pytest.raises(NotApplicable, match="needs the local engine"):
        check_target(RULE, tgt)


@pytest.mark.parametrize(
    ("runtime", "reason"),
    [
        (job(health=(health(HealthStatus.UNHEALTHY),)), "job-failed judges it"),
        (facts(started=False, reason="unable to find user app"), "unable to find user app"),
        (facts(health=()), "healthcheck-missing reports that"),
        (
            facts(health=(health(HealthStatus.ERROR, reason="grpc probes are not run by gatekeeper"),)),
            "grpc probes are not run",
        ),
    ],
)
def test_skipped(runtime: object, reason: str) -> None:
    with pytest.raises(NotApplicable, match=reason):
        check_target(RULE, target(runtime=runtime))


def test_healthy_is_evidence() -> None:
    tgt = target(runtime=facts(health=(health(HealthStatus.HEALTHY),)))
    assert target_violations(RULE, tgt) == []
    assert target_evidence(RULE, tgt) == [
        "image HEALTHCHECK (wget -q -O- http://localhost:8080/): healthy after 0.6s "
        "(deadline 95s: start period 5s + 3 x 30s; 2 attempt(s))"
    ]


def test_unhealthy_carries_the_health_log() -> None:
    result = health(HealthStatus.UNHEALTHY, reason="not healthy within 95s (start period 5s + 3 x 30s)")
    [v] = target_violations(RULE, target(runtime=facts(health=(result,))))
    assert v.message == (
        "image HEALTHCHECK (wget -q -O- http://localhost:8080/) never passed: not healthy within 95s "
        "(start period 5s + 3 x 30s). Last attempt: 93.1s exit 1: wget: server returned error: HTTP/1.1 500."
    )
    assert (
        v.evidence
        == "health log (2 attempt(s), last 1):\n93.1s exit 1: wget: server returned error: HTTP/1.1 500"
    )
    assert v.detail == "image HEALTHCHECK:unhealthy"
    assert v.location == Location("image", None, "config.Healthcheck")


def test_undecided_fails_and_points_at_the_probe() -> None:
    where = Location("k8s/deploy.yaml", 20, "spec.containers.0.readinessProbe")
    result = health(
        HealthStatus.UNDECIDED,
        name="Deployment/api container app readiness probe",
        reason="not healthy when the run's 60s timeout ended it (its deadline is 95s: 3 x 30s)",
        origin=where,
    )
    [v] = target_violations(RULE, target(runtime=facts(health=(result,))))
    assert "did not pass during the run: not healthy when the run's 60s timeout ended it" in v.message
    assert v.location == where
    assert v.detail == "Deployment/api container app readiness probe:undecided"


def test_each_probe_judged_and_errors_are_evidence() -> None:
    results = (
        health(HealthStatus.HEALTHY, name="liveness"),
        health(HealthStatus.ERROR, name="grpc", reason="grpc probes are not run by gatekeeper"),
        health(
            HealthStatus.UNHEALTHY, name="readiness", reason="the container exited with code 1 after 0.3s"
        ),
    )
    items = check_target(RULE, target(runtime=facts(health=results)))
    assert [type(i).__name__ for i in items] == ["Evidence", "Evidence", "Violation"]
    assert (
        "not run: grpc probes are not run by gatekeeper"
        in target_evidence(RULE, target(runtime=facts(health=results)))[1]
    )
