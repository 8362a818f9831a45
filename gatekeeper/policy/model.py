"""The effective policy after every file is loaded and merged."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from gatekeeper.findings import Severity


@dataclass(frozen=True)
class RuleSetting:
    enabled: bool = True
    severity: Severity | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    locked_by: str = ""
    """The policy file that locked this rule (empty when not locked)."""
    locked_fail_on: Severity | None = None
    """The fail_on in force where the rule was locked: a policy extending it cannot raise the bar
    for this rule's findings by raising its own fail_on."""


@dataclass(frozen=True)
class Waiver:
    """An explicit, expiring exception for one rule."""

    rule: str
    """Rule id."""
    reason: str
    expires: date
    """The last day the waiver applies."""
    images: tuple[str, ...] = ()
    """Globs on the image reference; empty = every image."""
    paths: tuple[str, ...] = ()
    """Globs on the finding's file or image path; empty = every finding of the rule."""
    owner: str = ""
    ticket: str = ""
    origin: str = ""
    """Where it was written: `team.yaml:14` or `Dockerfile:3`."""
    inline: bool = False

    def expired(self, today: date) -> bool:
        return today > self.expires


@dataclass(frozen=True)
class PolicySource:
    """One file that went into the effective policy."""

    origin: str
    """`builtin:default`, a path, or a URL (git+https://...@ref#path)."""
    digest: str
    """sha256 of the file's bytes."""
    resolved: str = ""
    """Where the bytes came from: a local path, the URL fetched, or `cache` when offline."""


@dataclass(frozen=True)
class Policy:
    name: str
    fail_on: Severity
    rules: Mapping[str, RuleSetting]
    """Keyed by rule id."""
    sources: tuple[PolicySource, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    profile: str = ""
    """The environment profile applied, if any."""
    allow_inline_waivers: bool = True
    origins: Mapping[str, str] = field(default_factory=dict)
    """Dotted key (`rules.GK-IMG-003.options.max`) -> where its value was set (`file:line`)."""
    document: Mapping[str, Any] = field(default_factory=dict)
    """The effective policy as a normalised document (for `gatekeeper policy show`)."""
    runtime: Mapping[str, Any] = field(default_factory=dict)
    """The merged `runtime:` section (the `--run` settings) as written; read by `runtime.run_options`."""

    def setting(self, rule_id: str, default_enabled: bool = False) -> RuleSetting:
        return self.rules.get(rule_id, RuleSetting(enabled=default_enabled))
