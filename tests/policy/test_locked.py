from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper.errors import PolicyError
from gatekeeper.findings import Severity
from gatekeeper.policy.loader import load_policy
from gatekeeper.rules import all_rules

RULES = all_rules()
ORG = """version: 1
extends: [builtin:default]
allow_inline_waivers: false
rules:
  runs-as-root:
    severity: high
    locked: true
    options: {min_uid: 1000}
"""


def files(tmp_path: Path, team: str) -> str:
    (tmp_path / "org.yaml").write_text(ORG)
    path = tmp_path / "team.yaml"
    path.write_text("version: 1\nextends: [org.yaml]\n" + team)
    return str(path)


def error(tmp_path: Path, team: str) -> str:
    with pytest.raises(PolicyError) as info:
        load_policy([files(tmp_path, team)], RULES)
    return str(info.value)


@pytest.mark.parametrize(
    ("team", "what"),
    [
        ("rules:\n  runs-as-root: false\n", "cannot disable it"),
        ("rules:\n  runs-as-root: {enabled: false}\n", "cannot disable it"),
        ("rules:\n  runs-as-root: {severity: low}\n", "cannot lower its severity"),
        ("rules:\n  GK-IMG-001: {options: {min_uid: 1}}\n", "cannot change its options (min_uid)"),
        ("rules:\n  runs-as-root: {locked: false}\n", "cannot unlock it"),
        ("profiles:\n  dev:\n    rules:\n      runs-as-root: {enabled: false}\n", "cannot disable it"),
    ],
)
def test_weakening_a_locked_rule_names_both_files(tmp_path: Path, team: str, what: str) -> None:
    message = error(tmp_path, team)
    assert message.startswith(f"{tmp_path / 'team.yaml'}:")
    assert f"rule runs-as-root is locked by {tmp_path / 'org.yaml'}:7" in message
    assert what in message


def test_waiving_a_locked_rule(tmp_path: Path) -> None:
    team = "waivers:\n  - {rule: runs-as-root, reason: legacy image, expires: 2030-01-01}\n"
    message = error(tmp_path, team)
    assert f"{tmp_path / 'team.yaml'}:4:5: waivers.0: rule runs-as-root is locked by" in message
    assert "cannot be waived" in message


def test_raising_severity_and_keeping_options_is_allowed(tmp_path: Path) -> None:
    team = "rules:\n  runs-as-root: {severity: critical, options: {min_uid: 1000}}\n"
    policy = load_policy([files(tmp_path, team)], RULES)
    assert policy.rules["GK-IMG-001"].severity is Severity.CRITICAL
    assert policy.rules["GK-IMG-001"].locked_by == f"{tmp_path / 'org.yaml'}:7"


def test_inline_waivers_stay_forbidden(tmp_path: Path) -> None:
    message = error(tmp_path, "allow_inline_waivers: true\n")
    assert "inline waivers are forbidden by" in message and "org.yaml:3" in message
    assert load_policy([files(tmp_path, "")], RULES).allow_inline_waivers is False


def test_org_may_tune_its_own_locked_rule_in_the_same_file(tmp_path: Path) -> None:
    (tmp_path / "org.yaml").write_text(
        ORG + "profiles:\n  dev:\n    match: ['*:dev']\n    rules:\n      runs-as-root: {severity: low}\n"
    )
    policy = load_policy([str(tmp_path / "org.yaml")], RULES, image_names=["app:dev"])
    assert policy.profile == "dev"
    assert policy.rules["GK-IMG-001"].severity is Severity.LOW


def test_raising_fail_on_does_not_unblock_a_locked_rule(tmp_path: Path) -> None:
    policy = load_policy([files(tmp_path, "fail_on: critical\n")], RULES)
    assert policy.fail_on is Severity.CRITICAL
    assert policy.rules["GK-IMG-001"].locked_fail_on is Severity.MEDIUM  # org.yaml's (from default)


def test_locks_hold_across_several_policy_files(tmp_path: Path) -> None:
    (tmp_path / "org.yaml").write_text(ORG)
    loose = tmp_path / "loose.yaml"
    loose.write_text("version: 1\nrules:\n  runs-as-root: false\n")
    with pytest.raises(
        PolicyError,
        match=r"loose\.yaml: rule runs-as-root is locked by .*org\.yaml:7; this policy cannot disable it",
    ):
        load_policy([str(tmp_path / "org.yaml"), str(loose)], RULES)
    waive = tmp_path / "waive.yaml"
    waive.write_text("version: 1\nwaivers:\n  - {rule: runs-as-root, reason: legacy, expires: 2099-01-01}\n")
    with pytest.raises(PolicyError, match="cannot be waived"):
        load_policy([str(tmp_path / "org.yaml"), str(waive)], RULES)
    stricter = tmp_path / "stricter.yaml"
    stricter.write_text("version: 1\nrules:\n  runs-as-root: {severity: critical}\n")
    assert (
        load_policy([str(tmp_path / "org.yaml"), str(stricter)], RULES).rules["GK-IMG-001"].severity
        is Severity.CRITICAL
    )


def test_paths_in_messages_are_normalised(tmp_path: Path) -> None:
    (tmp_path / "org").mkdir()
    (tmp_path / "org" / "org.yaml").write_text(ORG)
    (tmp_path / "team").mkdir()
    team = tmp_path / "team" / "team.yaml"
    team.write_text("version: 1\nextends: [../org/org.yaml]\nrules:\n  runs-as-root: false\n")
    with pytest.raises(PolicyError) as info:
        load_policy([str(team)], RULES)
    assert "/../" not in str(info.value)
    assert f"locked by {tmp_path / 'org' / 'org.yaml'}:7" in str(info.value)


@pytest.mark.parametrize(
    ("loose", "what"),
    [
        ("rules:\n  runs-as-root: {locked: false}\n", "cannot unlock it"),
        ("profiles:\n  dev:\n    rules:\n      runs-as-root: {severity: low}\n", "cannot lower its severity"),
    ],
)
def test_later_policy_file_checked_like_extends(tmp_path: Path, loose: str, what: str) -> None:
    (tmp_path / "org.yaml").write_text(ORG)
    (tmp_path / "loose.yaml").write_text("version: 1\n" + loose)
    with pytest.raises(PolicyError, match=what):
        load_policy([str(tmp_path / "org.yaml"), str(tmp_path / "loose.yaml")], RULES)
