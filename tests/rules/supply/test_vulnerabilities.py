from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gatekeeper.facts.scan import ScanReport, Vulnerability
from gatekeeper.findings import Severity
from gatekeeper.rule import NotApplicable
from gatekeeper.rules.supply.vulnerabilities import RULE
from tests.factories import target, target_evidence, target_violations

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def vuln(vid: str, sev: Severity | None, fixed: str = "", published: str = "") -> Vulnerability:
    return Vulnerability(vid, "openssl", "3.0.1", fixed, sev, "title", published, "debian 12")


def report(*vulns: Vulnerability, created: str = "2026-05-31T00:00:00Z") -> ScanReport:
    return ScanReport("trivy.json", "trivy", "app:prod", vulns, created)


def test_high_fails_by_default() -> None:
    tgt = target(
        scans=(report(vuln("CVE-1", Severity.HIGH, "3.0.2"), vuln("CVE-2", Severity.MEDIUM)),), now=NOW
    )
    [v] = target_violations(RULE, tgt)
    assert v.message == "CVE-1 (high) in openssl 3.0.1, fixed in 3.0.2: title"
    assert v.location.artifact == "trivy.json"


def test_threshold_and_fixable() -> None:
    tgt = target(
        scans=(report(vuln("CVE-1", Severity.CRITICAL), vuln("CVE-2", Severity.MEDIUM, "2")),), now=NOW
    )
    assert [v.detail for v in target_violations(RULE, tgt, severity="medium")] == [
        "CVE-1:openssl",
        "CVE-2:openssl",
    ]
    assert [v.detail for v in target_violations(RULE, tgt, severity="medium", fixable_only=True)] == [
        "CVE-2:openssl"
    ]


def test_unknown_severity_ranking() -> None:
    tgt = target(scans=(report(vuln("CVE-9", None)),), now=NOW)
    assert target_violations(RULE, tgt) == []
    assert target_violations(RULE, tgt, unknown_as="critical")


def test_grace_days() -> None:
    fresh = vuln("CVE-3", Severity.CRITICAL, published="2026-05-30T00:00:00Z")
    old = vuln("CVE-4", Severity.CRITICAL, published="2026-01-01T00:00:00Z")
    tgt = target(scans=(report(fresh, old),), now=NOW)
    assert [v.detail for v in target_violations(RULE, tgt, grace_days=7)] == ["CVE-4:openssl"]


def test_report_age() -> None:
    tgt = target(scans=(report(created="2026-01-01T00:00:00Z"),), now=NOW)
    [v] = target_violations(RULE, tgt, max_report_age_days=30)
    assert "the scan ran 151 days ago (limit 30)" in v.message
    undated = target(scans=(report(created=""),), now=NOW)
    assert "does not say when" in target_violations(RULE, undated, max_report_age_days=30)[0].message


def test_clean_report_evidence() -> None:
    tgt = target(scans=(report(vuln("CVE-5", Severity.LOW)),), now=NOW)
    assert target_evidence(RULE, tgt) == ["trivy report trivy.json: 1 vulnerabilities, none at or above high"]


def test_missing_report() -> None:
    with pytest.raises(NotApplicable, match="no scan report given"):
        target_violations(RULE, target())
    [v] = target_violations(RULE, target(scan_notes=("scanner trivy is not on PATH",)), missing="fail")
    assert v.message == "No vulnerability scan passed: scanner trivy is not on PATH."
