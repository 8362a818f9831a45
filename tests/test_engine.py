from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from gatekeeper.engine import evaluate
from gatekeeper.facts import Target
from gatekeeper.findings import Severity
from gatekeeper.policy.model import Policy, RuleSetting
from gatekeeper.report import Status
from gatekeeper.rules import all_rules
from tests.factories import image
from tests.imagegen import BUSYBOX_LIKE

NOW = datetime(2026, 1, 1, tzinfo=UTC)
RULES = all_rules()


def policy(**settings: RuleSetting) -> Policy:
    return Policy("test", Severity.MEDIUM, settings)


def root_result(report: Any) -> Any:
    return next(r for r in report.results if r.rule.id == "GK-IMG-001")


def run(p: Policy, **config: Any) -> Any:
    facts = image(BUSYBOX_LIKE.layers, **config)
    return evaluate(Target(image=facts), p, RULES, subject_key="app", started_at=NOW)


def test_rules_not_in_policy_are_skipped() -> None:
    report = run(policy(**{"GK-IMG-001": RuleSetting()}))
    by_name = {r.rule.name: r for r in report.results}
    assert by_name["runs-as-root"].status is Status.FAILED
    assert by_name["image-size"].status is Status.SKIPPED
    assert by_name["image-size"].reason == "not in the policy"


def test_disabled_rule_skipped_with_reason() -> None:
    report = run(policy(**{"GK-IMG-001": RuleSetting(enabled=False)}))
    assert root_result(report).reason == "disabled by the policy"
    assert report.passed


def test_severity_override_and_threshold() -> None:
    low = policy(**{"GK-IMG-001": RuleSetting(severity=Severity.LOW)})
    report = run(low)
    assert report.findings[0].severity is Severity.LOW
    assert report.passed  # below fail_on: reported, not blocking
    assert not report.blocking


def test_fingerprint_stable_and_distinct() -> None:
    p = policy(**{"GK-IMG-001": RuleSetting()})
    a = run(p).findings[0].fingerprint
    assert a == run(p).findings[0].fingerprint
    b = (
        evaluate(Target(image=image(BUSYBOX_LIKE.layers)), p, RULES, subject_key="other", started_at=NOW)
        .findings[0]
        .fingerprint
    )
    assert a != b


def test_checklist_summary() -> None:
    everything = {r.id: RuleSetting() for r in RULES}
    report = run(policy(**everything), User="10001")
    items = {c.name: c.status for c in report.checklist}
    assert items["Non-root user"] is Status.PASSED
    assert items["Health checks"] is Status.FAILED
    assert items["Image size"] is Status.PASSED


def test_no_image_skips_image_rules() -> None:
    report = evaluate(
        Target(), policy(**{"GK-IMG-001": RuleSetting()}), RULES, subject_key="x", started_at=NOW
    )
    assert root_result(report).status is Status.SKIPPED
    assert root_result(report).reason == "no image or Dockerfile given"


def test_bad_option_value_is_error_not_pass() -> None:
    report = run(policy(**{"GK-IMG-001": RuleSetting(options={"min_uid": "x"})}))
    assert root_result(report).status is Status.ERROR
    assert not report.passed


def test_a_crashing_rule_does_not_leak_the_secret_its_error_quotes() -> None:
    token = "ghp_" + "A1b2C3d4E5" * 3 + "F6g7H8"  # a GitHub token format redact_secrets knows

    def boom(*_: object) -> Any:
        raise ValueError(f"cannot parse ENV value {token!r}")

    rules = tuple(dataclasses.replace(r, check=boom) if r.id == "GK-IMG-001" else r for r in RULES)
    report = evaluate(
        Target(image=image(BUSYBOX_LIKE.layers)),
        policy(**{"GK-IMG-001": RuleSetting()}),
        rules,
        subject_key="x",
        started_at=NOW,
    )
    result = root_result(report)
    assert result.status is Status.ERROR
    assert result.reason.startswith("ValueError: cannot parse ENV value '")
    assert token not in result.reason
    assert token[:10] not in result.reason
