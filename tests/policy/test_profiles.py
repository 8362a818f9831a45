from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper.errors import PolicyError
from gatekeeper.findings import Severity
from gatekeeper.policy.loader import load_policy
from gatekeeper.rules import all_rules

RULES = all_rules()
POLICY = """version: 1
extends: builtin:default
fail_on: high
profiles:
  prod:
    match: ["*:prod", "*:v*"]
    fail_on: medium
    rules:
      image-size: {options: {max: 100MB}}
  dev:
    match: ["*:dev", "*:pr-*"]
    fail_on: critical
"""


@pytest.fixture
def policy_file(tmp_path: Path) -> str:
    path = tmp_path / "p.yaml"
    path.write_text(POLICY)
    return str(path)


@pytest.mark.parametrize(
    ("names", "profile", "fail_on"),
    [
        (["app:prod"], "prod", Severity.MEDIUM),
        (["registry.example.com/team/app:v1.4.2"], "prod", Severity.MEDIUM),
        (["app:pr-17"], "dev", Severity.CRITICAL),
        (["app:latest"], "", Severity.HIGH),
    ],
)
def test_picked_by_reference(policy_file: str, names: list[str], profile: str, fail_on: Severity) -> None:
    policy = load_policy([policy_file], RULES, image_names=names)
    assert (policy.profile, policy.fail_on) == (profile, fail_on)


def test_profile_rules_merge_on_top(policy_file: str) -> None:
    policy = load_policy([policy_file], RULES, image_names=["app:prod"])
    assert policy.rules["GK-IMG-003"].options == {"max": "100MB"}
    assert policy.name.endswith("(profile prod)")


def test_explicit_profile_wins(policy_file: str) -> None:
    policy = load_policy([policy_file], RULES, image_names=["app:prod"], profile="dev")
    assert policy.profile == "dev"


def test_unknown_profile(policy_file: str) -> None:
    with pytest.raises(PolicyError, match=r"--profile qa: no such profile \(profiles: prod, dev\)"):
        load_policy([policy_file], RULES, profile="qa")


def test_profile_keys_validated(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("version: 1\nprofiles:\n  prod:\n    matches: ['*']\n")
    with pytest.raises(PolicyError, match="unknown key 'matches' \\(did you mean 'match'\\?\\)"):
        load_policy([str(path)], RULES)


def test_profile_applies_where_it_is_defined(tmp_path: Path) -> None:
    """A file extending the one that defines a profile still overrides what the profile sets."""
    (tmp_path / "base.yaml").write_text(POLICY)
    child = tmp_path / "prod.yaml"
    child.write_text("version: 1\nextends: [base.yaml]\nfail_on: low\n")
    policy = load_policy([str(child)], RULES, image_names=["app:prod"])
    assert policy.profile == "prod"
    assert policy.fail_on is Severity.LOW
    assert policy.origins["fail_on"] == f"{child}:3"
    assert policy.rules["GK-IMG-003"].options == {"max": "100MB"}  # the profile's rule still applies
