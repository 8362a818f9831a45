"""The effective policy after every file is loaded and merged."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gatekeeper.findings import Severity


@dataclass(frozen=True)
class RuleSetting:
    enabled: bool = True
    severity: Severity | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PolicySource:
    """One file that went into the effective policy."""

    origin: str
    """`builtin:default` or the path as given / resolved."""
    digest: str
    """sha256 of the file's bytes."""


@dataclass(frozen=True)
class Policy:
    name: str
    fail_on: Severity
    rules: Mapping[str, RuleSetting]
    """Keyed by rule id."""
    sources: tuple[PolicySource, ...] = ()

    def setting(self, rule_id: str) -> RuleSetting:
        return self.rules.get(rule_id, RuleSetting(enabled=False))
