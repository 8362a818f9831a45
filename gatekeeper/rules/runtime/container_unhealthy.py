"""The container did not become healthy when it ran.

A health check that exists is only half the checklist item: it must also pass. `--run` starts the
image the way production will and runs its health checks until each one passes or its deadline
runs out: start period + retries x interval, the moment Docker would call the container unhealthy
and Kubernetes would restart it or take it out of the load balancer.

Why: the article's checklist item "Health checks configured": a check that never passes means
endless restarts and a service that never receives traffic, and it is cheaper to find out in CI
than in a rollout.

How to fix: read the health log in the finding. A check that exits 127 runs a program the image
does not have (`curl` in a slim image): install it or use one that is there. A check that times
out or is refused usually means the app listens on another port or address (bind to 0.0.0.0),
needs more start time (raise `start_period` / `initialDelaySeconds`), or crashed (see
container-crashed and the output in the evidence).

Fails: a health check did not pass before its deadline, or the container exited before it passed
(the health log, that is the last attempts with their exit codes and output, is the evidence);
the run's timeout ended before a check passed or reached its deadline (raise `runtime.timeout` to
give it the time its settings ask for).
Passes: every health check passed; the evidence says after how long, against which deadline.
Skipped: without `--run` (or `runtime: {enabled: true}` in the policy); for jobs (job-failed
judges them); when the container did not start (container-crashed reports it); when the image
and the runtime config define no health check (healthcheck-missing reports that).

Which checks run: a Kubernetes container's liveness, readiness and startup probes (Kubernetes
ignores the image HEALTHCHECK), else a compose service's `healthcheck:`, else the image's
HEALTHCHECK. Exec checks run inside the container; httpGet and tcpSocket probes run `wget` / `nc`
in a helper container sharing its network namespace (`runtime.probe_image`, default: the image
itself), and are reported as not run when no helper can; grpc probes are not run. gatekeeper
tries each check about once a second, so a healthy app passes long before its first scheduled
interval; health-check output in the evidence is redacted like every other text.

Options: none (the run itself is configured by the policy's `runtime:` section and `--run-timeout`).
"""

from __future__ import annotations

from collections.abc import Iterator

from gatekeeper.facts import Target
from gatekeeper.facts.runtime import HealthResult, HealthStatus
from gatekeeper.findings import Location, Severity
from gatekeeper.rule import Checklist, Evidence, Item, NoOptions, NotApplicable, Rule, Violation


def _where(target: Target, result: HealthResult) -> Location:
    if result.origin is not None:
        return result.origin
    return target.config_location("HEALTHCHECK", "config.Healthcheck")


def _shown(result: HealthResult) -> str:
    return f"{result.name} ({result.command})" if result.command else result.name


def check(target: Target, _: NoOptions) -> Iterator[Item]:
    runtime = target.require_runtime()
    if runtime.job:
        raise NotApplicable("the image ran as a job: job-failed judges it, not health checks")
    if not runtime.started:
        raise NotApplicable(f"the container did not start: {runtime.reason} (container-crashed reports it)")
    if not runtime.health:
        raise NotApplicable(
            "the image and its runtime config define no health check (healthcheck-missing reports that)"
        )
    ran = [r for r in runtime.health if r.status is not HealthStatus.ERROR]
    if not ran:
        raise NotApplicable("no health check could be run: " + "; ".join(r.reason for r in runtime.health))
    for result in runtime.health:
        yield from _judge(target, result)


def _judge(target: Target, result: HealthResult) -> Iterator[Item]:
    shown = _shown(result)
    if result.status is HealthStatus.HEALTHY:
        yield Evidence(
            f"{shown}: healthy after {result.healthy_after or 0:g}s "
            f"(deadline {result.deadline:g}s: {result.rule_text}; {result.attempts} attempt(s))"
        )
        return
    if result.status is HealthStatus.ERROR:
        yield Evidence(f"{shown}: not run: {result.reason}")
        return
    if result.status is HealthStatus.UNDECIDED:
        message = f"{shown} did not pass during the run: {result.reason}."
    else:
        message = f"{shown} never passed: {result.reason}."
    last = result.log[-1] if result.log else None
    if last is not None:
        message += f" Last attempt: {last}."
    yield Violation(
        message,
        _where(target, result),
        detail=f"{result.name}:{result.status.value}",
        evidence=f"health log ({result.attempts} attempt(s), last {len(result.log)}):\n{result.log_text}",
    )


RULE = Rule(
    id="GK-RUN-002",
    name="container-unhealthy",
    title="The container did not become healthy when it ran",
    checklist=Checklist.HEALTH,
    severity=Severity.HIGH,
    check=check,
    fix="Make the health check pass: read the health log; check the port, the program it runs, start_period.",
    doc=__doc__ or "",
    options=NoOptions,
)
