"""Scan reports (Trivy JSON, Grype JSON, SARIF 2.1.0) -> ScanReport. Pure: text in, facts out.

The format is detected from the content, not the file name. Unknown keys are ignored, as the
scanners add fields over time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from gatekeeper.errors import InputError
from gatekeeper.facts.scan import ScanReport, Vulnerability
from gatekeeper.findings import Severity
from gatekeeper.text import loads_json

_NAMED = {
    "negligible": Severity.INFO,
    "info": Severity.INFO,
    "low": Severity.LOW,
    "medium": Severity.MEDIUM,
    "moderate": Severity.MEDIUM,
    "high": Severity.HIGH,
    "critical": Severity.CRITICAL,
}
_SARIF_LEVEL = {"error": Severity.HIGH, "warning": Severity.MEDIUM, "note": Severity.LOW}
# Trivy's SARIF puts the package facts only in the result message (pkg/report/sarif.go).
_TRIVY_SARIF_FIELD = re.compile(r"^(Package|Installed Version|Fixed Version): (.*?)\s*$", re.MULTILINE)


def _severity(text: Any) -> Severity | None:
    return _NAMED.get(str(text or "").strip().lower())


def _score_severity(score: Any) -> Severity | None:
    try:
        value = float(score)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer past 1e308
        return None
    if not 0.0 <= value <= 10.0:  # CVSS scores run from 0 to 10 (nan fails this too)
        return None
    if value >= 9.0:
        return Severity.CRITICAL
    if value >= 7.0:
        return Severity.HIGH
    if value >= 4.0:
        return Severity.MEDIUM
    if value > 0.0:
        return Severity.LOW
    return None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


_JSON_TYPES = {bool: "a boolean", int: "a number", float: "a number", str: "a string", dict: "an object"}


class _Malformed(ValueError):
    """A list of findings is something else: the report cannot be read as clean."""


def _items(value: Any, field: str) -> list[Any]:
    """A list that holds findings (null means none); anything else is a broken report."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Malformed(f"{field} is {_JSON_TYPES.get(type(value), 'something else')}, not a list")
    return value


def _trivy(doc: dict[str, Any]) -> Iterator[Vulnerability]:
    for result in _items(doc.get("Results"), "Results"):
        if not isinstance(result, dict):
            continue
        for vuln in _items(result.get("Vulnerabilities"), "Results[].Vulnerabilities"):
            if not isinstance(vuln, dict):
                continue
            yield Vulnerability(
                id=_str(vuln.get("VulnerabilityID")),
                package=_str(vuln.get("PkgName")),
                installed=_str(vuln.get("InstalledVersion")),
                fixed=_str(vuln.get("FixedVersion")),
                severity=_severity(vuln.get("Severity")),
                title=_str(vuln.get("Title")),
                published=_str(vuln.get("PublishedDate")),
                target=_str(result.get("Target")),
            )


def _grype(doc: dict[str, Any]) -> Iterator[Vulnerability]:
    for match in _items(doc.get("matches"), "matches"):
        if not isinstance(match, dict):
            continue
        vuln, artifact = _dict(match.get("vulnerability")), _dict(match.get("artifact"))
        fix = _dict(vuln.get("fix"))
        versions = _items(fix.get("versions"), "matches[].vulnerability.fix.versions")
        fixed = ", ".join(str(v) for v in versions) if fix.get("state") == "fixed" else ""
        yield Vulnerability(
            id=_str(vuln.get("id")),
            package=_str(artifact.get("name")),
            installed=_str(artifact.get("version")),
            fixed=fixed,
            severity=_severity(vuln.get("severity")),
            title=_str(vuln.get("description"))[:200],
        )


def _sarif(doc: dict[str, Any]) -> tuple[str, list[Vulnerability]]:
    tools: list[str] = []
    found: list[Vulnerability] = []
    for run in _items(doc.get("runs"), "runs"):
        if not isinstance(run, dict):
            continue
        driver = _dict(_dict(run.get("tool")).get("driver"))
        tools.append(_str(driver.get("name")) or "unknown")
        listed = driver.get("rules")
        listed = listed if isinstance(listed, list) else []  # metadata only: odd shapes are skipped
        rules = {_str(r.get("id")): r for r in listed if isinstance(r, dict)}
        for result in _items(run.get("results"), "runs[].results"):
            if not isinstance(result, dict) or result.get("suppressions"):
                continue
            rule_id = _str(result.get("ruleId"))
            rule = _dict(rules.get(rule_id))
            props = _dict(rule.get("properties"))
            severity = _score_severity(props.get("security-severity")) or _SARIF_LEVEL.get(
                _str(result.get("level")) or _str(_dict(rule.get("defaultConfiguration")).get("level"))
            )
            message = _str(_dict(result.get("message")).get("text"))
            fields = dict(_TRIVY_SARIF_FIELD.findall(message))
            title = _str(_dict(rule.get("shortDescription")).get("text")) or (
                message.splitlines()[0] if message else ""
            )
            found.append(
                Vulnerability(
                    id=rule_id or "unknown",
                    package=_str(_dict(result.get("properties")).get("package")) or fields.get("Package", ""),
                    installed=fields.get("Installed Version", ""),
                    fixed=fields.get("Fixed Version", ""),
                    severity=severity,
                    title=title[:200],
                )
            )
    return "sarif:" + ",".join(tools), found


def parse(text: str, path: str) -> ScanReport:
    try:
        doc = loads_json(text)
    except ValueError as exc:
        raise InputError(f"{path}: scan report is not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{path}: not a Trivy, Grype or SARIF report")
    try:
        return _parse(doc, path)
    except _Malformed as exc:
        raise InputError(f"{path}: broken scan report: {exc}") from None


def _parse(doc: dict[str, Any], path: str) -> ScanReport:
    if "SchemaVersion" in doc and ("Results" in doc or "ArtifactName" in doc):
        return ScanReport(
            path, "trivy", _str(doc.get("ArtifactName")), tuple(_trivy(doc)), _str(doc.get("CreatedAt"))
        )
    if "matches" in doc and isinstance(doc.get("matches"), list):
        target = _dict(doc.get("source")).get("target")
        artifact = _str(target.get("userInput")) if isinstance(target, dict) else _str(target)
        created = _str(_dict(doc.get("descriptor")).get("timestamp"))
        return ScanReport(path, "grype", artifact, tuple(_grype(doc)), created)
    if isinstance(doc.get("runs"), list) and str(doc.get("version", "")).startswith("2."):
        scanner, vulns = _sarif(doc)
        return ScanReport(path, scanner, "", tuple(vulns))
    raise InputError(f"{path}: not a Trivy JSON, Grype JSON or SARIF 2.1.0 report")
