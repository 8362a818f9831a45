"""Severity, locations and findings: what the engine stamps onto a rule's violations."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass


class Severity(enum.IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.name.lower() for s in cls)
            raise ValueError(f"unknown severity {text!r} (one of {names})") from None

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Location:
    """Where a finding points: a repository file and line, or a logical place in the image."""

    artifact: str
    """Repo-relative file path (`Dockerfile`), or `image` for the image itself."""
    line: int | None = None
    pointer: str = ""
    """Logical path: `config.User`, `/etc/passwd`, `services.web.user`."""

    def __str__(self) -> str:
        text = self.artifact
        if self.line is not None:
            text += f":{self.line}"
        if self.pointer:
            text += f" ({self.pointer})" if self.artifact != "image" else f" {self.pointer}"
        return text


IMAGE = "image"


def image_location(pointer: str = "") -> Location:
    return Location(IMAGE, None, pointer)


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """The catalogue entry of a rule, as reports show it."""

    id: str
    name: str
    title: str
    checklist: str
    severity: Severity
    fix: str
    summary: str
    docs_url: str


@dataclass(frozen=True, slots=True)
class WaiverInfo:
    """The waiver that covers a finding (or that matched nothing), as reports show it."""

    rule: str
    reason: str
    expires: str
    """YYYY-MM-DD."""
    origin: str
    owner: str = ""
    ticket: str = ""


@dataclass(frozen=True, slots=True)
class Finding:
    rule: RuleInfo
    severity: Severity
    message: str
    location: Location
    fingerprint: str
    evidence: str = ""
    waiver: WaiverInfo | None = None
    """Set when a waiver covers this finding: it is reported, but does not fail the gate."""
    blocking: bool = False
    """Decided by the engine: unwaived, and at or above the threshold that applies to its rule
    (the policy's fail_on, the fail_on of the policy that locked the rule, or always for the
    policy's own integrity rules)."""


def fingerprint(rule_id: str, subject: str, location: Location, detail: str) -> str:
    """Stable across rebuilds and line moves: no digest, no line number."""
    key = "\x1f".join((rule_id, subject, location.artifact, location.pointer, detail))
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32]
