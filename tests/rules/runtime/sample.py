"""Hand-made RuntimeFacts for the rules that judge a --run (no engine needed)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gatekeeper.facts.runtime import HealthResult, HealthStatus, ProbeAttempt, RunSettings, RuntimeFacts
from gatekeeper.findings import Location

COMPOSE = Location("compose.yaml", 3, "services.app")


def settings(**changes: Any) -> RunSettings:
    base = RunSettings(
        image="docker-daemon:app:prod",
        image_id="sha256:" + "a" * 64,
        memory=64 << 20,
        memory_from="default",
        cpus=1.0,
        cpus_from="default",
        pids=256,
        timeout=60.0,
        observe=10.0,
    )
    return replace(base, **changes)


def facts(**changes: Any) -> RuntimeFacts:
    """A service that ran 10s as UID 10001 and printed a line; override what a test needs."""
    base = RuntimeFacts(
        settings=settings(),
        started=True,
        duration=10.0,
        status="running",
        main_uid=10001,
        main_process="PID 4242, UID 10001: /app/app.sh",
        stdout_lines=1,
        log_sample=("stdout: listening on :8080",),
    )
    return replace(base, **changes)


def job(**changes: Any) -> RuntimeFacts:
    """A job that exited 0 after 0.4s."""
    values: dict[str, Any] = {"status": "exited", "exit_code": 0, "exited_after": 0.4}
    return facts(settings=settings(job=True), **{**values, **changes})


def health(status: HealthStatus, **changes: Any) -> HealthResult:
    base = HealthResult(
        name="image HEALTHCHECK",
        handler="exec",
        command="wget -q -O- http://localhost:8080/",
        status=status,
        deadline=95.0,
        rule_text="start period 5s + 3 x 30s",
        healthy_after=0.6 if status is HealthStatus.HEALTHY else None,
        attempts=2,
        log=(ProbeAttempt(0.1, 1, "wget: can't connect to remote host"), ProbeAttempt(0.6, 0, ""))
        if status is HealthStatus.HEALTHY
        else (ProbeAttempt(93.1, 1, "wget: server returned error: HTTP/1.1 500"),),
    )
    return replace(base, **changes)
