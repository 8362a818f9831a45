from __future__ import annotations

import pytest

from gatekeeper.facts import Target
from gatekeeper.rule import NotApplicable
from gatekeeper.rules.runtime.job_failed import RULE
from tests.factories import check_target, target, target_evidence, target_violations
from tests.rules.runtime.sample import COMPOSE, facts, job, settings


def test_skipped_without_run_and_for_services() -> None:
    with pytest.raises(NotApplicable, match=r"--run"):
        check_target(RULE, Target())
    with pytest.raises(NotApplicable, match="ran as a service"):
        check_target(RULE, target(runtime=facts()))


def test_exit_zero_passes() -> None:
    tgt = target(runtime=job())
    assert target_violations(RULE, tgt) == []
    [text] = target_evidence(RULE, tgt)
    assert text.startswith("the job completed with exit code 0 after 0.4s (memory 64 MiB (default), 1 CPUs")


def test_non_zero_exit_fails_with_the_output() -> None:
    runtime = job(exit_code=3, log_sample=("stderr: migration 42 failed",))
    [v] = target_violations(RULE, target(runtime=runtime))
    assert v.message == "the job failed: exit code 3 after 0.4s."
    assert v.evidence == "last 1 line(s) of output:\nstderr: migration 42 failed"
    assert v.detail == "exit-code"


def test_oom_kill_is_named() -> None:
    [v] = target_violations(RULE, target(runtime=job(exit_code=137, oom_killed=True)))
    assert "exit code 137 after 0.4s (killed by the OOM killer: memory limit too low)" in v.message


def test_timeout_and_not_started() -> None:
    runtime = job(timed_out=True, exit_code=None, status="running", log_sample=())
    [v] = target_violations(RULE, target(runtime=runtime))
    assert v.message == "the job did not finish within the run's 60s timeout."
    assert v.evidence == "no output on stdout or stderr"
    named = settings(job=True, workload="CronJob/report container report", origin=COMPOSE)
    [v] = target_violations(RULE, target(runtime=facts(settings=named, started=False, reason="no such user")))
    assert v.message == "CronJob/report container report did not start: no such user."
    assert v.location == COMPOSE
