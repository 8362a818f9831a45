"""docs/rules.md is generated from the rule docstrings and must not go stale; rule invariants."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gatekeeper.docs import render
from gatekeeper.policy.loader import builtin_names, load_policy
from gatekeeper.rules import all_rules

ROOT = Path(__file__).resolve().parents[1]


def test_rules_md_is_current() -> None:
    current = (ROOT / "docs" / "rules.md").read_text()
    assert current == render(), "docs/rules.md is stale: run `python -m gatekeeper.docs > docs/rules.md`"


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.name)
def test_rule_invariants(rule: object) -> None:
    from gatekeeper.rule import Rule

    assert isinstance(rule, Rule)
    assert re.fullmatch(r"GK-(IMG|DF|RUN|SUP|POL)-\d{3}", rule.id)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name)
    assert rule.doc.strip().splitlines()[0].rstrip(".") == rule.title
    assert "Why:" in rule.doc and "How to fix:" in rule.doc
    assert "Fails" in rule.doc and "Passes" in rule.doc
    assert rule.fix
    module = rule.check.__module__.rsplit(".", 1)[-1]
    assert module == rule.name.replace("-", "_")
    tests = list((ROOT / "tests" / "rules").rglob(f"test_{module}.py"))
    assert tests, f"no tests/rules/**/test_{module}.py"


def test_ids_and_names_unique() -> None:
    rules = all_rules()
    assert len({r.id for r in rules}) == len(rules)
    assert len({r.name for r in rules}) == len(rules)


@pytest.mark.parametrize("name", builtin_names())
def test_builtin_policies_load(name: str) -> None:
    load_policy([f"builtin:{name}"], all_rules())


def test_every_rule_in_default_policy() -> None:
    policy = load_policy(["builtin:default"], all_rules())
    missing = [r.name for r in all_rules() if r.id not in policy.rules and not r.default_enabled]
    assert missing == []
