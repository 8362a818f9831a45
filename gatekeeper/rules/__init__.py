"""The rule catalogue: every module under gatekeeper.rules holding one `RULE`."""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Sequence
from typing import Any

from gatekeeper.errors import GatekeeperError
from gatekeeper.rule import Rule


class RuleDefinitionError(GatekeeperError):
    """A rule module breaks the contract (a bug in gatekeeper)."""


def all_rules() -> tuple[Rule[Any], ...]:
    """Import every rule module; return their RULEs sorted by id. No registry, no side effects."""
    rules: list[Rule[Any]] = []
    package = importlib.import_module(__name__)
    for info in pkgutil.walk_packages(package.__path__, prefix=__name__ + "."):
        if info.ispkg:
            continue
        module = importlib.import_module(info.name)
        rule = getattr(module, "RULE", None)
        if not isinstance(rule, Rule):
            raise RuleDefinitionError(f"{info.name} defines no RULE")
        rules.append(rule)
    rules.sort(key=lambda r: r.id)
    return tuple(rules)


def find_rule(rules: Sequence[Rule[Any]], key: str) -> Rule[Any] | None:
    """By id (`GK-IMG-001`, case-insensitive) or name (`runs-as-root`)."""
    for rule in rules:
        if key.upper() == rule.id or key == rule.name:
            return rule
    return None


def unknown_rule(rules: Sequence[Rule[Any]], key: str) -> str:
    """The message for a key find_rule does not know, with the closest name as a hint."""
    close = difflib.get_close_matches(key, [r.name for r in rules], n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown rule {key!r}{hint}; see `gatekeeper rules`"
