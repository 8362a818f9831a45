"""The result of one gate run: per-rule results, findings, the checklist and the verdict.

Reporters see only this; it is plain frozen data with no behaviour beyond derived views.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from gatekeeper.findings import Finding, RuleInfo, Severity, WaiverInfo


class Status(enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    ERROR = "error"
    WAIVED = "waived"
    """Every finding of the rule is covered by a waiver."""
    ADVISORY = "advisory"
    """Checklist items only: findings, none of them blocking."""


@dataclass(frozen=True)
class RuleResult:
    rule: RuleInfo
    status: Status
    severity: Severity
    """Effective severity (after the policy)."""
    evidence: tuple[str, ...] = ()
    reason: str = ""
    """Why it was skipped, or what went wrong (ERROR)."""
    findings: tuple[Finding, ...] = ()

    @property
    def blocking(self) -> bool:
        """Whether any finding of this rule fails the gate."""
        return any(f.blocking for f in self.findings)


@dataclass(frozen=True)
class ChecklistItem:
    name: str
    status: Status
    rules: tuple[str, ...]
    """Rule names that judge this item."""
    summary: str


@dataclass(frozen=True)
class Subject:
    reference: str
    source: str
    digest: str
    platform: str
    size: int | None
    compressed_size: int | None
    layers: int
    created: str = ""


@dataclass(frozen=True)
class LayerSummary:
    """One image layer, for pictures of where the bytes are."""

    index: int
    size: int | None
    compressed_size: int | None
    created_by: str
    """The history command, shortened (`RUN apt-get install ...`)."""
    line: int | None = None
    """The Dockerfile line that made it, when known."""


@dataclass(frozen=True)
class FileSummary:
    path: str
    size: int
    layer: int
    removed_in: int | None = None
    """For wasted files: the layer that deleted or overwrote this version."""


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    fail_on: Severity
    sources: tuple[tuple[str, str], ...]
    """(origin, sha256 digest) of every policy file, in load order."""


@dataclass(frozen=True)
class Report:
    tool: str
    version: str
    subject: Subject
    policy: PolicyInfo
    results: tuple[RuleResult, ...]
    checklist: tuple[ChecklistItem, ...]
    started_at: datetime
    inputs: tuple[tuple[str, str, str], ...] = ()
    """(kind, path, how) of every repository file the run used."""
    layers: tuple[LayerSummary, ...] = ()
    largest_files: tuple[FileSummary, ...] = ()
    wasted_files: tuple[FileSummary, ...] = ()
    """Versions hidden by a later layer that still ship in their own layer, largest first."""
    unused_waivers: tuple[WaiverInfo, ...] = ()
    """Waivers that matched no finding (stale exceptions worth deleting)."""
    profile: str = ""

    duration_s: float = 0.0

    @property
    def dockerfile(self) -> str | None:
        return next((path for kind, path, _ in self.inputs if kind == "dockerfile"), None)

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for r in self.results for f in r.findings)

    @property
    def active(self) -> tuple[Finding, ...]:
        """Findings not covered by a waiver."""
        return tuple(f for f in self.findings if f.waiver is None)

    @property
    def waived(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.waiver is not None)

    @property
    def blocking(self) -> tuple[Finding, ...]:
        """Findings that fail the gate (the engine decides: see Finding.blocking)."""
        return tuple(f for f in self.findings if f.blocking)

    @property
    def errors(self) -> tuple[RuleResult, ...]:
        return tuple(r for r in self.results if r.status is Status.ERROR)

    @property
    def passed(self) -> bool:
        """Ready for production: nothing blocking, and no rule failed to run."""
        return not self.blocking and not self.errors

    @property
    def verdict(self) -> str:
        """ "ready", "not ready", or "no verdict" when a rule crashed: what every format says."""
        if self.errors:
            return "no verdict"
        return "ready" if self.passed else "not ready"

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status is status)
