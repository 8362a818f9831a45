"""The job did not run to completion with exit code 0.

A batch image (a Kubernetes Job or CronJob, a migration, a report) is healthy when it finishes
and says so with exit code 0. `--run` starts it with the settings it will have in production and
waits for it, up to the run's timeout.

Why: the article's checklist item "Health checks configured", for containers that are not
servers: a job has no health check, its exit code is its health. A job that fails, or hangs, with
the limits and user it will really get is a failed deployment.

How to fix: read the output in the evidence (redacted). Exit code 137 with an OOM kill needs a
higher memory limit or a leaner job; 126/127 mean the command is not executable or not in the
image; a timeout means it waited for something (the network is off during `--run`) or needs a
longer `runtime.timeout`.

Fails: the job exited with a non-zero code; it did not finish within the run's timeout; it did
not start (the engine refused: unknown user, a bad command). The last lines of its output are
the evidence.
Passes: it exited with code 0 within the timeout; the evidence says after how long.
Skipped: without `--run` (or `runtime: {enabled: true}` in the policy); for services (a workload
that is not a Kubernetes Job or CronJob, unless the policy says `runtime: {kind: job}`).

Options: none (the run itself is configured by the policy's `runtime:` section and `--run-timeout`).
"""

from __future__ import annotations

from collections.abc import Iterator

from gatekeeper.facts import Target
from gatekeeper.facts.runtime import RuntimeFacts
from gatekeeper.findings import Location, Severity, image_location
from gatekeeper.rule import Checklist, Evidence, Item, NoOptions, NotApplicable, Rule, Violation


def _where(runtime: RuntimeFacts) -> Location:
    return runtime.settings.origin or image_location("runtime")


def check(target: Target, _: NoOptions) -> Iterator[Item]:
    runtime = target.require_runtime()
    if not runtime.job:
        raise NotApplicable(
            "the image ran as a service, not a job (Kubernetes Job/CronJob or runtime.kind: job)"
        )
    name = runtime.settings.workload or "the job"
    if not runtime.started:
        yield Violation(f"{name} did not start: {runtime.reason}.", _where(runtime), detail="not-started")
        return
    if runtime.timed_out:
        yield Violation(
            f"{name} did not finish within the run's {runtime.settings.timeout:g}s timeout.",
            _where(runtime),
            detail="timeout",
            evidence=runtime.output_evidence,
        )
        return
    after = f" after {runtime.exited_after:g}s" if runtime.exited_after is not None else ""
    if runtime.exit_code != 0:
        oom = " (killed by the OOM killer: memory limit too low)" if runtime.oom_killed else ""
        yield Violation(
            f"{name} failed: exit code {runtime.exit_code}{after}{oom}.",
            _where(runtime),
            detail="exit-code",
            evidence=runtime.output_evidence,
        )
        return
    yield Evidence(f"{name} completed with exit code 0{after} ({runtime.settings.summary()})")


RULE = Rule(
    id="GK-RUN-003",
    name="job-failed",
    title="The job did not run to completion with exit code 0",
    checklist=Checklist.HEALTH,
    severity=Severity.HIGH,
    check=check,
    fix="Make the job exit 0 under its production settings: read its output, check limits and command.",
    doc=__doc__ or "",
    options=NoOptions,
)
