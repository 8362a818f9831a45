"""The container was OOM-killed, stopped or restarted when it ran under its limits.

Limits only help when the app fits inside them. `--run` starts the image with the CPU and memory
limits of its compose service or Kubernetes container (else the policy's `runtime:` defaults),
swap off as in Kubernetes, and watches it for the observation window: a service must still be
running at the end, and nothing may be killed for memory.

Why: the article's checklist item "Resource limits defined (CPU, memory)": a limit the app does
not fit in turns into an OOM kill and a restart loop (CrashLoopBackOff) in production.

How to fix: for an OOM kill, raise the memory limit or lower what the app takes (worker count,
caches, JVM or Node heap flags sized below the limit). For a service that exits, read the output
in the evidence: a missing setting, a file it cannot write as a non-root user, a dependency it
cannot reach (the network is off during `--run`, so an app that must connect at start-up needs a
retry loop, which production needs anyway).

Fails: the container was OOM-killed (also a job); a service exited during the observation window
(whatever the code: a service that stops is restarted over and over); the engine restarted it;
it did not start (unknown user, bad command, a limit the engine rejects). The last lines of its
output are the evidence.
Passes: it ran the whole window under its limits; the evidence gives the settings used (user,
memory, CPUs, pids limit, network, capabilities, which environment values were placeholders)
and its peak memory.
Skipped: without `--run` (or `runtime: {enabled: true}` in the policy); a job that did not start
or exited without an OOM kill (job-failed judges those).

Options: none (the run itself is configured by the policy's `runtime:` section and `--run-timeout`).
"""

from __future__ import annotations

from collections.abc import Iterator

from gatekeeper.facts import Target
from gatekeeper.facts.runtime import RuntimeFacts, format_mib
from gatekeeper.findings import Location, Severity, image_location
from gatekeeper.rule import Checklist, Evidence, Item, NoOptions, NotApplicable, Rule, Violation


def _where(target: Target, runtime: RuntimeFacts, memory: bool = False) -> Location:
    if memory:
        for workload in target.image_workloads:
            if workload.name == runtime.settings.workload and workload.limits.memory_location is not None:
                return workload.limits.memory_location
    return runtime.settings.origin or image_location("runtime")


def check(target: Target, _: NoOptions) -> Iterator[Item]:
    runtime = target.require_runtime()
    settings = runtime.settings
    name = settings.workload or "the container"
    if not runtime.started:
        if runtime.job:
            raise NotApplicable(f"the job did not start: {runtime.reason} (job-failed reports it)")
        yield Violation(
            f"{name} did not start: {runtime.reason}.", _where(target, runtime), detail="not-started"
        )
        return
    after = f" after {runtime.exited_after:g}s" if runtime.exited_after is not None else ""
    if runtime.oom_killed:
        limit = format_mib(settings.memory) if settings.memory else "no limit"
        source = f", {settings.memory_from}" if settings.memory_from else ""
        yield Violation(
            f"{name} was killed by the OOM killer{after} under its memory limit ({limit}{source}).",
            _where(target, runtime, memory=True),
            detail="oom-killed",
            evidence=runtime.output_evidence,
        )
        return
    if runtime.job:
        raise NotApplicable("the image ran as a job and was not OOM-killed (job-failed judges how it ended)")
    if runtime.exit_code is not None:
        yield Violation(
            f"{name} exited with code {runtime.exit_code}{after}, within the {settings.observe:g}s "
            "observation window: a service that stops is restarted over and over.",
            _where(target, runtime),
            detail="exited",
            evidence=runtime.output_evidence,
        )
        return
    if runtime.restarts:
        yield Violation(
            f"{name} was restarted {runtime.restarts} time(s) during the run.",
            _where(target, runtime),
            detail="restarted",
            evidence=runtime.output_evidence,
        )
        return
    peak = f"; peak memory {format_mib(runtime.memory_peak)}" if runtime.memory_peak else ""
    yield Evidence(f"{name} ran {runtime.duration:g}s without a crash, restart or OOM kill{peak}")
    yield Evidence(f"settings: {settings.summary()}")
    for note in runtime.notes:
        yield Evidence(f"note: {note}")


RULE = Rule(
    id="GK-RUN-004",
    name="container-crashed",
    title="The container was OOM-killed, stopped or restarted when it ran under its limits",
    checklist=Checklist.LIMITS,
    severity=Severity.HIGH,
    check=check,
    fix="Fit the app in its limits or raise them; a service must keep running (its output is the evidence).",
    doc=__doc__ or "",
    options=NoOptions,
)
