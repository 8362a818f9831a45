"""Vulnerability scan results imported from Trivy JSON, Grype JSON or any SARIF file."""

from __future__ import annotations

from dataclasses import dataclass

from gatekeeper.findings import Severity


@dataclass(frozen=True, slots=True)
class Vulnerability:
    id: str
    package: str
    installed: str
    fixed: str
    """Fixed version(s), empty when no fix is known."""
    severity: Severity | None
    """None when the scanner said UNKNOWN."""
    title: str = ""
    published: str = ""
    """RFC 3339 date when the advisory was published, if the scanner gave it."""
    target: str = ""

    @property
    def fixable(self) -> bool:
        return bool(self.fixed)


@dataclass(frozen=True)
class ScanReport:
    path: str
    scanner: str
    """`trivy`, `grype` or `sarif:<tool name>`."""
    artifact: str
    """What the scanner scanned, as it says (image name, digest), for the evidence."""
    vulnerabilities: tuple[Vulnerability, ...]
    created: str = ""
    """When the scan ran (RFC 3339), if the report says."""
