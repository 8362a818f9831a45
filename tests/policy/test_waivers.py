"""Waivers end to end: policy waivers and inline Dockerfile waivers through the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import cli
from gatekeeper.errors import ExitCode
from tests.imagegen import BUSYBOX_ROOT as ROOT_IMAGE
from tests.imagegen import write_docker_archive


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write_docker_archive(tmp_path / "app.tar", ROOT_IMAGE, tags=("registry.example.com/team/app:1.0",))
    return tmp_path


def run(*args: str) -> tuple[int, dict[str, Any]]:
    code = cli.main(["check", "docker-archive:app.tar", "--no-discover", "--json", "out.json", *args])
    return code, json.loads(Path("out.json").read_text())


def policy(work: Path, waivers: str, extra: str = "") -> str:
    (work / "p.yaml").write_text(f"version: 1\nextends: builtin:default\n{extra}waivers:\n{waivers}")
    return "p.yaml"


def test_waived_finding_passes_and_stays_in_report(work: Path) -> None:
    waiver = "  - {rule: runs-as-root, reason: 'legacy base, JIRA-12', expires: 2099-01-01, owner: team-a}\n"
    code, doc = run("--policy", policy(work, waiver))
    assert code == ExitCode.OK
    [finding] = [f for f in doc["findings"] if f["rule"] == "runs-as-root"]
    assert finding["waiver"]["reason"] == "legacy base, JIRA-12"
    assert finding["waiver"]["origin"] == "p.yaml:4"
    assert finding["blocking"] is False
    assert doc["verdict"]["waived"] == 1


def test_image_glob_scopes_the_waiver(work: Path) -> None:
    other = (
        "  - {rule: runs-as-root, images: ['registry.example.com/batch/*'], reason: batch, "
        "expires: 2099-01-01}\n"
    )
    code, doc = run("--policy", policy(work, other))
    assert code == ExitCode.GATE_FAILED
    assert [w["rule_id"] for w in doc["unused_waivers"]] == ["GK-IMG-001"]
    mine = (
        "  - {rule: runs-as-root, images: ['registry.example.com/team/*'], reason: legacy, "
        "expires: 2099-01-01}\n"
    )
    assert run("--policy", policy(work, mine))[0] == ExitCode.OK


def test_expired_waiver_fails_the_gate(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    waiver = "  - {rule: runs-as-root, reason: legacy base image, expires: 2020-01-31, ticket: OPS-1}\n"
    code, doc = run("--policy", policy(work, waiver))
    assert code == ExitCode.GATE_FAILED
    rules = {r["name"]: r for r in doc["rules"]}
    assert rules["waiver-expired"]["status"] == "failed"
    assert rules["runs-as-root"]["status"] == "failed"
    expired = [f for f in doc["findings"] if f["rule"] == "waiver-expired"]
    assert "expired on 2020-01-31 (reason: legacy base image, OPS-1)" in expired[0]["message"]
    assert expired[0]["location"] == {"artifact": "p.yaml", "line": 4, "pointer": "waivers"}


def test_waiver_paths(work: Path) -> None:
    waiver = "  - {rule: runs-as-root, paths: ['config.User'], reason: legacy, expires: 2099-01-01}\n"
    assert run("--policy", policy(work, waiver))[0] == ExitCode.OK
    wrong = "  - {rule: runs-as-root, paths: ['/etc/*'], reason: legacy, expires: 2099-01-01}\n"
    assert run("--policy", policy(work, wrong))[0] == ExitCode.GATE_FAILED


@pytest.mark.parametrize(
    ("line", "code", "problem"),
    [
        ('# gatekeeper: waive runs-as-root reason="legacy base" expires=2099-01-01', ExitCode.OK, None),
        (
            '# gatekeeper: waive runs-as-root reason="legacy base"',
            ExitCode.GATE_FAILED,
            "a waiver needs expires=YYYY-MM-DD",
        ),
        (
            '# gatekeeper: waive runs-as-rot reason="x y z" expires=2099-01-01',
            ExitCode.GATE_FAILED,
            "unknown rule 'runs-as-rot'",
        ),
        (
            "# gatekeeper: waive runs-as-root expires=2099-01-01",
            ExitCode.GATE_FAILED,
            "a waiver needs a reason",
        ),
    ],
)
def test_inline_waivers(work: Path, line: str, code: int, problem: str | None) -> None:
    (work / "Dockerfile").write_text(f"FROM busybox:1.36\n{line}\nCOPY . /app\n")
    (work / "only-root.yaml").write_text("version: 1\nrules: {runs-as-root: {}}\n")
    got, doc = run("--dockerfile", "Dockerfile", "--policy", "only-root.yaml")
    assert got == code
    problems = [f for f in doc["findings"] if f["rule"] == "inline-waiver-invalid"]
    if problem is None:
        assert problems == []
        [root] = [f for f in doc["findings"] if f["rule"] == "runs-as-root"]
        assert root["waiver"]["origin"] == "Dockerfile:2"
    else:
        assert problem in problems[0]["message"]
        assert problems[0]["location"]["line"] == 2


def test_inline_waivers_forbidden_by_policy(work: Path) -> None:
    (work / "Dockerfile").write_text(
        'FROM busybox:1.36\n# gatekeeper: waive runs-as-root reason="legacy" expires=2099-01-01\n'
    )
    (work / "p.yaml").write_text("version: 1\nextends: builtin:default\nallow_inline_waivers: false\n")
    code, doc = run("--dockerfile", "Dockerfile", "--policy", "p.yaml")
    assert code == ExitCode.GATE_FAILED
    messages = [f["message"] for f in doc["findings"] if f["rule"] == "inline-waiver-invalid"]
    assert messages == ["Line 2: inline waivers are not allowed by the policy."]


def test_waiver_without_reason_or_expiry_is_invalid_policy(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (work / "p.yaml").write_text("version: 1\nwaivers:\n  - {rule: runs-as-root, expires: 2099-01-01}\n")
    assert cli.main(["check", "docker-archive:app.tar", "--policy", "p.yaml"]) == ExitCode.USAGE
    assert "waivers.0: 'reason' is required" in capsys.readouterr().err
    (work / "p.yaml").write_text(
        "version: 1\nwaivers:\n  - {rule: runs-as-root, reason: legacy, expires: 2099-02-30}\n"
    )
    assert cli.main(["check", "docker-archive:app.tar", "--policy", "p.yaml"]) == ExitCode.USAGE
    assert "'2099-02-30' is not a valid date" in capsys.readouterr().err


def test_expired_waiver_fails_even_with_a_lenient_threshold(work: Path) -> None:
    waiver = "  - {rule: labels-missing, reason: later, expires: 2020-01-01}\n"
    code, doc = run("--policy", policy(work, waiver, extra="fail_on: critical\n"))
    assert code == ExitCode.GATE_FAILED
    expired = [f for f in doc["findings"] if f["rule"] == "waiver-expired"]
    assert expired[0]["blocking"] is True
    assert doc["verdict"]["blocking"] == 1


def test_locked_rule_blocks_under_a_raised_fail_on(work: Path) -> None:
    (work / "org.yaml").write_text(
        "version: 1\nextends: builtin:default\nrules:\n  runs-as-root: {locked: true}\n"
    )
    (work / "team.yaml").write_text("version: 1\nextends: org.yaml\nfail_on: critical\n")
    code, doc = run("--policy", "team.yaml")
    assert code == ExitCode.GATE_FAILED
    blocking = [f["rule"] for f in doc["findings"] if f["blocking"]]
    assert blocking == ["runs-as-root"]
