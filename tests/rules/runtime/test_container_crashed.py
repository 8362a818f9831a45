from __future__ import annotations

import pytest

from gatekeeper.facts import Target
from gatekeeper.facts.workload import Limits, Workload
from gatekeeper.findings import Location
from gatekeeper.rule import NotApplicable
from gatekeeper.rules.runtime.container_crashed import RULE
from tests.factories import check_target, target, target_evidence, target_violations
from tests.rules.runtime.sample import COMPOSE, facts, job, settings


def test_skipped_without_run() -> None:
    with pytest.raises(NotApplicable, match=r"--run"):
        check_target(RULE, Target())


def test_ran_the_whole_window() -> None:
    tgt = target(runtime=facts(memory_peak=12 << 20))
    assert target_violations(RULE, tgt) == []
    assert target_evidence(RULE, tgt) == [
        "the container ran 10s without a crash, restart or OOM kill; peak memory 12 MiB",
        "settings: memory 64 MiB (default), 1 CPUs (default), pids 256, network none, "
        "capabilities dropped: ALL, no-new-privileges",
    ]


def test_oom_kill_points_at_the_memory_limit() -> None:
    memory_at = Location("compose.yaml", 9, "services.app.deploy.resources.limits.memory")
    workload = Workload(
        "compose service app", "compose", COMPOSE, limits=Limits("0.5", "32m", None, memory_at)
    )
    run = settings(
        workload="compose service app", origin=COMPOSE, memory=32 << 20, memory_from="compose.yaml:9"
    )
    runtime = facts(settings=run, oom_killed=True, exit_code=137, exited_after=1.2, status="exited")
    [v] = target_violations(RULE, target(image_workloads=[workload], runtime=runtime))
    assert v.message == (
        "compose service app was killed by the OOM killer after 1.2s under its memory limit "
        "(32 MiB, compose.yaml:9)."
    )
    assert v.location == memory_at
    assert v.detail == "oom-killed"


def test_oom_killed_job_is_reported_here_too() -> None:
    [v] = target_violations(RULE, target(runtime=job(oom_killed=True, exit_code=137)))
    assert v.detail == "oom-killed"


def test_jobs_otherwise_left_to_job_failed() -> None:
    with pytest.raises(NotApplicable, match="job-failed"):
        check_target(RULE, target(runtime=job(exit_code=1)))
    with pytest.raises(NotApplicable, match="job-failed reports it"):
        check_target(RULE, target(runtime=job(started=False, reason="bad user")))


def test_service_that_exits_fails() -> None:
    runtime = facts(status="exited", exit_code=0, exited_after=0.3, log_sample=("stderr: config missing",))
    [v] = target_violations(RULE, target(runtime=runtime))
    assert v.message == (
        "the container exited with code 0 after 0.3s, within the 10s observation window: "
        "a service that stops is restarted over and over."
    )
    assert v.evidence == "last 1 line(s) of output:\nstderr: config missing"


def test_not_started_and_restarted() -> None:
    [v] = target_violations(RULE, target(runtime=facts(started=False, reason="the engine refused")))
    assert (v.message, v.detail) == ("the container did not start: the engine refused.", "not-started")
    [v] = target_violations(RULE, target(runtime=facts(restarts=2)))
    assert v.message == "the container was restarted 2 time(s) during the run."


def test_run_notes_are_evidence() -> None:
    runtime = facts(notes=("'${MEM}' is not a memory size; using the policy limit instead",))
    assert target_evidence(RULE, target(runtime=runtime))[-1] == (
        "note: '${MEM}' is not a memory size; using the policy limit instead"
    )
