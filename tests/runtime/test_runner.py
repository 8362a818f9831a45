"""`--run` on the real engine with real images (tests/data/runtime/): what it proves, and that it
always removes what it started.

Every test ends by listing the containers labelled `gatekeeper.run`: none may be left behind,
after success, failure, timeout, an engine error, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import api, cli
from gatekeeper.errors import ImageNotFound, UsageError
from gatekeeper.facts.needs import Request
from gatekeeper.facts.runtime import HealthStatus, RuntimeFacts
from gatekeeper.facts.workload import Workload
from gatekeeper.findings import Location
from gatekeeper.inputs import InputOptions, display_path
from gatekeeper.parsers import compose, kubernetes
from gatekeeper.report import Report, RuleResult, Status
from gatekeeper.runtime import RunOptions, RunRequest, runner
from gatekeeper.sources import SourceOptions, open_image, parse_reference
from tests.conftest import BuiltImage, build_image, static_busybox

pytestmark = pytest.mark.docker

DATA = Path(__file__).resolve().parents[1] / "data" / "runtime"
IMAGES = ("healthy", "never-healthy", "log-file", "root", "memory-hog", "job")
POLICY = str(DATA / "policy.yaml")
COMPOSE = str(DATA / "compose.yaml")
K8S = str(DATA / "k8s")
FAST = RunOptions(enabled=True, observe=2.0, timeout=30.0)


@pytest.fixture(scope="session")
def run_images(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, BuiltImage]:
    """gk-test/run-<name>:classic for every directory of tests/data/runtime/."""
    busybox = static_busybox()
    built = {}
    for name in IMAGES:
        context = tmp_path_factory.mktemp(f"run-{name}")
        shutil.copytree(DATA / name, context, dirs_exist_ok=True)
        shutil.copy2(busybox, context / "busybox")
        built[name] = build_image(docker_client, context, f"gk-test/run-{name}:classic", "classic")
    return built


def _ours(docker_client: Any) -> set[str]:
    return {c["Id"] for c in docker_client.api.containers(all=True, filters={"label": runner.LABEL})}


@pytest.fixture(autouse=True)
def nothing_left_behind(docker_client: Any) -> Iterator[None]:
    """The cleanup proof: no container of a gatekeeper run survives any test."""
    before = _ours(docker_client)
    yield
    left = _ours(docker_client) - before
    for container in left:  # do not let one failure cascade into the next test
        docker_client.api.remove_container(container, force=True, v=True)
    assert not left, f"--run left {len(left)} container(s) behind"


def run(image: BuiltImage, workload: Workload | None = None, options: RunOptions = FAST) -> RuntimeFacts:
    """run_image as api.check calls it, with the image's config read from the engine."""
    ref = parse_reference(image.tag)
    facts = open_image(ref, Request(), SourceOptions())
    return runner.run_image(ref, facts, workload, options, SourceOptions())


def check(image: BuiltImage, *, compose_file: str = "", k8s: str = "", **run: Any) -> Report:
    inputs = InputOptions(
        compose=(compose_file,) if compose_file else (), k8s=(k8s,) if k8s else (), discover=False
    )
    return api.check(image.tag, policies=[POLICY], inputs=inputs, run=RunRequest(**run) if run else None)


def result(report: Report, name: str) -> RuleResult:
    return next(r for r in report.results if r.rule.name == name)


def messages(report: Report, name: str) -> list[str]:
    return [f.message for f in result(report, name).findings]


# ------------------------------------------------------------------------------ what it proves


def test_healthy_service(run_images: dict[str, BuiltImage]) -> None:
    report = check(run_images["healthy"])
    unhealthy = result(report, "container-unhealthy")
    assert unhealthy.status is Status.PASSED, unhealthy
    [health] = unhealthy.evidence
    assert health.startswith(
        "image HEALTHCHECK (/bin/wget -q -O /dev/null http://localhost:8080/): healthy after "
    )
    assert health.endswith("(deadline 95s: start period 5s + 3 x 30s; " + health.rsplit("; ", 1)[1])
    assert result(report, "container-crashed").status is Status.PASSED
    assert result(report, "runs-as-root").status is Status.PASSED
    assert any(
        e.startswith("--run: the main process ran as UID 10001 (PID ")
        for e in result(report, "runs-as-root").evidence
    )
    logs = result(report, "logs-to-files")
    assert logs.status is Status.PASSED
    assert any("line(s) on stdout, 1 on stderr" in e for e in logs.evidence)
    assert result(report, "job-failed").status is Status.SKIPPED


def test_token_in_the_output_is_redacted(run_images: dict[str, BuiltImage]) -> None:
    facts = run(run_images["healthy"])
    body = "aB3dE5gH7jK9mN1pQ3rS5tU7vW9xY1zA3bC5"
    assert "stdout: starting; deploy token ghp_…(40 chars)" in facts.log_sample
    assert not any(body in line for line in facts.log_sample)
    assert facts.changes == ()
    assert facts.memory_peak is not None and facts.memory_peak > 0


def test_never_healthy_service_has_the_health_log(run_images: dict[str, BuiltImage]) -> None:
    report = check(run_images["never-healthy"])
    unhealthy = result(report, "container-unhealthy")
    assert unhealthy.status is Status.FAILED
    [finding] = unhealthy.findings
    assert finding.message.startswith(
        "image HEALTHCHECK (/bin/sh -c echo database not reachable; exit 1) never passed: "
        "not healthy within 3s (start period 1s + 2 x 1s). Last attempt: "
    )
    assert finding.evidence.startswith("health log (")
    assert "exit 1: database not reachable" in finding.evidence
    assert result(report, "container-crashed").status is Status.PASSED


def test_log_file_and_silence(run_images: dict[str, BuiltImage]) -> None:
    report = check(run_images["log-file"])
    found = messages(report, "logs-to-files")
    assert (
        "--run: the container wrote 1 log file in /var/log/app (docker diff): /var/log/app/app.log." in found
    )
    assert any(m.startswith("--run: nothing reached stdout or stderr in ") for m in found)


def test_root_process_seen_by_the_engine(run_images: dict[str, BuiltImage]) -> None:
    report = check(run_images["root"])
    root = messages(report, "runs-as-root")
    assert "The image runs as root: no USER is set, so it runs as root." in root
    assert any(m.startswith("--run: the main process ran as root (UID 0): PID ") for m in root)
    assert any(m.endswith("while :; do echo tick; sleep 1; done.") for m in root)


def test_memory_limit_exceeded(run_images: dict[str, BuiltImage]) -> None:
    report = check(run_images["memory-hog"])  # the policy's 64 MiB
    [oom] = result(report, "container-crashed").findings
    assert oom.message.startswith("the container was killed by the OOM killer after ")
    assert oom.message.endswith("under its memory limit (64 MiB, policy).")
    assert "stdout: allocating" in oom.evidence


def test_failed_job_from_the_policy_kind(run_images: dict[str, BuiltImage], tmp_path: Path) -> None:
    policy = tmp_path / "jobs.yaml"
    policy.write_text(f"version: 1\nextends: [{POLICY}]\nruntime: {{kind: job}}\n")
    report = api.check(
        run_images["job"].tag,
        policies=[str(policy)],
        inputs=InputOptions(discover=False),
        run=RunRequest(enabled=True),
    )
    [failed] = result(report, "job-failed").findings
    assert failed.message.startswith("the job failed: exit code 3 after ")
    assert failed.evidence == "last 2 line(s) of output:\nstdout: migrating\nstderr: done, exit 3"
    assert result(report, "container-crashed").status is Status.SKIPPED
    assert result(report, "container-unhealthy").status is Status.SKIPPED


# ------------------------------------------------------------------ compose and Kubernetes settings


def test_compose_drives_user_limits_env_and_healthcheck(run_images: dict[str, BuiltImage]) -> None:
    report = check(run_images["healthy"], compose_file=COMPOSE)
    [health] = result(report, "container-unhealthy").evidence
    assert health.startswith(
        "compose service web healthcheck (wget -q -O /dev/null http://localhost:8080/ && echo up): "
        "healthy after "
    )
    assert "(deadline 8s: start period 5s + 3 x 1s;" in health  # the start period is the image's
    crashed = result(report, "container-crashed")
    assert crashed.status is Status.PASSED
    shown = display_path(Path(COMPOSE), Path.cwd())
    assert crashed.evidence[1] == (
        f"settings: user 65534:65534, memory 48 MiB ({shown}:11), 0.5 CPUs ({shown}:11), pids 256, "
        "network none, capabilities dropped: ALL, no-new-privileges, placeholders for DB_PASSWORD"
    )
    assert any(
        e.startswith("--run: the main process ran as UID 65534")
        for e in result(report, "runs-as-root").evidence
    )


def test_compose_memory_limit_kills_the_hog(run_images: dict[str, BuiltImage]) -> None:
    [workload] = [
        w for w in compose.parse(Path(COMPOSE).read_text(), "compose.yaml") if w.name.endswith("hog")
    ]
    facts = run(run_images["memory-hog"], workload)
    assert facts.oom_killed and facts.exit_code == 137
    assert (facts.settings.memory, facts.settings.memory_from) == (32 << 20, "compose.yaml:18")


def test_compose_user_that_does_not_exist(run_images: dict[str, BuiltImage]) -> None:
    report = check(run_images["root"], compose_file=COMPOSE)
    [finding] = result(report, "container-crashed").findings
    assert finding.message.startswith(
        "compose service broken did not start: the engine could not start the container: "
    )
    assert "no-such-user" in finding.message
    assert finding.location.artifact.endswith("compose.yaml")
    assert result(report, "container-unhealthy").status is Status.SKIPPED


def test_kubernetes_probes_exec_http_and_tcp(run_images: dict[str, BuiltImage]) -> None:
    [web, _] = kubernetes.parse((DATA / "k8s" / "deploy.yaml").read_text(), "k8s/deploy.yaml")
    options = RunOptions(enabled=True, observe=1.0, timeout=30.0, probe_image=run_images["healthy"].tag)
    facts = run(run_images["healthy"], web, options)
    assert [(h.name, h.status) for h in facts.health] == [
        ("Deployment/web container web startup probe", HealthStatus.HEALTHY),
        ("Deployment/web container web liveness probe", HealthStatus.HEALTHY),
        ("Deployment/web container web readiness probe", HealthStatus.HEALTHY),
    ]
    assert [h.command for h in facts.health] == [
        "/bin/sh -c test -f /www/index.html",
        "GET http://127.0.0.1:8080/",
        "TCP 127.0.0.1:8080",
    ]
    assert facts.main_uid == 10001
    assert (facts.settings.memory, facts.settings.cpus) == (48 << 20, 0.5)


def test_kubernetes_probe_helper_defaults_to_the_image(run_images: dict[str, BuiltImage]) -> None:
    report = check(run_images["healthy"], k8s=str(DATA / "k8s" / "deploy.yaml"))
    unhealthy = result(report, "container-unhealthy")
    assert unhealthy.status is Status.PASSED, unhealthy
    assert len(unhealthy.evidence) == 3


def test_kubernetes_job_succeeds(run_images: dict[str, BuiltImage]) -> None:
    report = check(run_images["job"], k8s=K8S)
    passed = result(report, "job-failed")
    assert passed.status is Status.PASSED, passed
    [text] = passed.evidence
    assert text.startswith("Job/migrate container migrate completed with exit code 0 after ")
    assert "memory 32 MiB (k8s/job.yaml" not in text  # one manifest file holds both
    assert "memory 32 MiB (" in text and "0.25 CPUs" in text


def test_missing_helper_image_is_reported_not_failed(run_images: dict[str, BuiltImage]) -> None:
    [web, _] = kubernetes.parse((DATA / "k8s" / "deploy.yaml").read_text(), "k8s/deploy.yaml")
    options = RunOptions(enabled=True, observe=1.0, timeout=30.0, probe_image="gk-test/no-such-probe:1")
    facts = run(run_images["healthy"], web, options)
    statuses = [h.status for h in facts.health]
    assert statuses == [HealthStatus.HEALTHY, HealthStatus.ERROR, HealthStatus.ERROR]
    assert "gk-test/no-such-probe:1 is not in the local engine (--run never pulls)" in facts.health[1].reason


# ------------------------------------------------------------------------- safety and cleanup


def test_timeout_ends_a_hanging_job(run_images: dict[str, BuiltImage]) -> None:
    origin = Location("k8s/job.yaml", 8, "spec.template.spec.containers.0")
    job = Workload("Job/slow container slow", "kubernetes", origin, is_job=True, env=(("JOB_SLEEP", "60"),))
    facts = run(run_images["job"], job, RunOptions(enabled=True, timeout=2.0))
    assert facts.timed_out and facts.exit_code is None
    assert 2.0 <= facts.duration < 5.0


def test_unhealthy_until_the_timeout(run_images: dict[str, BuiltImage]) -> None:
    facts = run(run_images["healthy"], None, RunOptions(enabled=True, timeout=2.0, observe=1.0))
    assert facts.health[0].status is HealthStatus.HEALTHY  # httpd answers well within 2s
    never = run(run_images["never-healthy"], None, RunOptions(enabled=True, timeout=1.5, observe=1.0))
    assert never.health[0].status is HealthStatus.UNDECIDED
    assert "the run's 1.5s timeout ended it (its deadline is 3s" in never.health[0].reason


def test_hanging_health_check_cannot_stretch_the_run(run_images: dict[str, BuiltImage]) -> None:
    text = "services:\n  app:\n    image: x\n    healthcheck:\n      test: [CMD, sleep, '100']\n"
    [workload] = compose.parse(text, "compose.yaml")
    facts = run(run_images["root"], workload, RunOptions(enabled=True, timeout=2.0, observe=1.0))
    [health] = facts.health
    assert health.status is HealthStatus.UNDECIDED  # its own timeout (30s) and deadline (90s) are far away
    assert health.log[0].exit_code == -1
    assert facts.duration < 3.5


def test_ctrl_c_mid_run_removes_the_container(
    run_images: dict[str, BuiltImage], monkeypatch: pytest.MonkeyPatch, docker_client: Any
) -> None:
    started: list[set[str]] = []

    def interrupt(seconds: float) -> None:
        started.append(_ours(docker_client))
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "_pause", interrupt)
    with pytest.raises(KeyboardInterrupt):
        run(run_images["root"])
    assert len(started[0]) >= 1  # it was running when interrupted


def test_sigterm_mid_run_removes_the_container(
    run_images: dict[str, BuiltImage], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "_pause", lambda seconds: os.kill(os.getpid(), signal.SIGTERM))
    previous = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        run(run_images["root"])
    assert signal.getsignal(signal.SIGTERM) is previous


def test_error_mid_run_removes_the_containers(
    run_images: dict[str, BuiltImage], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("the engine went away")

    monkeypatch.setattr(runner._Run, "_collect", broken)
    [web, _] = kubernetes.parse((DATA / "k8s" / "deploy.yaml").read_text(), "k8s/deploy.yaml")
    with pytest.raises(RuntimeError, match="the engine went away"):
        run(run_images["healthy"], web, RunOptions(enabled=True, observe=0.5, timeout=10.0))


def test_never_pulls(run_images: dict[str, BuiltImage]) -> None:
    with pytest.raises(ImageNotFound, match=r"--run never pulls"):
        runner.run_image(parse_reference("gk-test/not-built-anywhere:1"), None, None, FAST, SourceOptions())


def test_hardened_host_config(
    run_images: dict[str, BuiltImage], monkeypatch: pytest.MonkeyPatch, docker_client: Any
) -> None:
    seen: list[dict[str, Any]] = []

    def spy(seconds: float) -> None:
        for container in docker_client.api.containers(filters={"label": runner.LABEL}):
            seen.append(docker_client.api.inspect_container(container["Id"]))
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "_pause", spy)
    with pytest.raises(KeyboardInterrupt):
        run(run_images["root"])
    [inspect] = seen
    host = inspect["HostConfig"]
    assert host["NetworkMode"] == "none"
    assert host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["PidsLimit"] == 256
    assert host["Memory"] == host["MemorySwap"] == 512 << 20
    assert host["NanoCpus"] == 1_000_000_000
    assert not host["Privileged"] and not host.get("Binds") and not host.get("PortBindings")
    assert inspect["Config"]["Healthcheck"]["Test"] == ["NONE"]


# ---------------------------------------------------------------------------------- the CLI


def test_cli_says_it_runs_the_image(
    run_images: dict[str, BuiltImage], capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(
        [
            "check",
            run_images["root"].tag,
            "--policy",
            POLICY,
            "--no-discover",
            "--run",
            "--run-timeout",
            "20s",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 1
    assert (
        f"gatekeeper: --run starts {run_images['root'].tag} on the local engine and runs its code "
        "(no network, all capabilities dropped)\n"
    ) in err
    assert "--run: the main process ran as root (UID 0)" in out


def test_cli_no_run_overrides_the_policy(
    run_images: dict[str, BuiltImage], capsys: pytest.CaptureFixture[str]
) -> None:
    cli.main(
        ["check", run_images["root"].tag, "--policy", POLICY, "--no-discover", "--no-run", "--format", "json"]
    )
    out, err = capsys.readouterr()
    assert "--run starts" not in err
    assert "runtime verification not requested (--run)" in out


def test_run_needs_the_local_engine(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="runtime verification needs the image in the local engine"):
        api.check(f"docker-archive:{tmp_path / 'x.tar'}", run=RunRequest(enabled=True))
