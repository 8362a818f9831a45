"""How --run is wired into `api.check` and the CLI, without an engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gatekeeper import api, cli
from gatekeeper.errors import ExitCode
from gatekeeper.report import Report, Status
from gatekeeper.runtime import RunRequest
from tests.imagegen import BUSYBOX_LIKE, Image, write_docker_archive

RUNTIME_RULES = ("container-unhealthy", "job-failed", "container-crashed")


@pytest.fixture
def archive(tmp_path: Path) -> str:
    image = Image(layers=BUSYBOX_LIKE.layers, config={"User": "10001", "Env": ["PATH=/bin"]})
    write_docker_archive(tmp_path / "app.tar", image)
    return f"docker-archive:{tmp_path / 'app.tar'}"


def statuses(report: Report) -> dict[str, tuple[Status, str]]:
    return {r.rule.name: (r.status, r.reason) for r in report.results if r.rule.name in RUNTIME_RULES}


def test_runtime_rules_skip_without_run(archive: str) -> None:
    report = api.check(archive, policies=["builtin:default"])
    assert set(statuses(report).values()) == {(Status.SKIPPED, "runtime verification not requested (--run)")}


def test_policy_enabled_run_skips_an_image_that_cannot_run_here(archive: str, tmp_path: Path) -> None:
    policy = tmp_path / "run.yaml"
    policy.write_text("version: 1\nextends: [builtin:default]\nruntime: {enabled: true}\n")
    told: list[str] = []
    report = api.check(archive, policies=[str(policy)], notify=told.append)
    for status, reason in statuses(report).values():
        assert status is Status.SKIPPED
        assert reason.startswith("runtime verification needs the image in the local engine")
    assert told == []  # nothing was started, so nothing to announce


def test_cli_run_on_an_archive_is_a_usage_error(archive: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["check", archive, "--no-discover", "--run"]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "gatekeeper: error: --run: runtime verification needs the image in the local engine" in err
    assert "docker load -i FILE" in err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--run"], RunRequest(enabled=True)),
        (["--no-run"], RunRequest(enabled=False)),
        (["--run-timeout", "1m30s"], RunRequest(timeout=90.0)),
        (["--probe-image", "busybox:1.36"], RunRequest(probe_image="busybox:1.36")),
        ([], RunRequest()),
    ],
)
def test_cli_flags_reach_the_api(
    argv: list[str], expected: RunRequest, archive: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}
    real = api.check

    def spy(*args: Any, **kwargs: Any) -> Report:
        seen.update(kwargs)
        kwargs["run"] = None
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "check", spy)
    cli.main(["check", archive, "--no-discover", *argv])
    assert seen["run"] == expected
    assert seen["notify"] is cli._notice


@pytest.mark.parametrize("value", ["soon", "0s", "-1s"])
def test_cli_rejects_bad_timeouts(value: str, archive: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["check", archive, "--run-timeout", value]) == ExitCode.USAGE
    assert "--run-timeout" in capsys.readouterr().err
