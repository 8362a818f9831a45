"""Scan report parser: Trivy JSON, Grype JSON and SARIF 2.1.0 in, ScanReport out (format from content)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from gatekeeper.errors import InputError
from gatekeeper.facts.scan import ScanReport, Vulnerability
from gatekeeper.findings import Severity
from gatekeeper.parsers.scan import parse
from tests.shared import shared_file

IMAGE = "registry.example.com/team/api:1.4.2"

# --- Trivy (`trivy image --format json`, SchemaVersion 2) -------------------------------------

TRIVY: dict[str, Any] = {
    "SchemaVersion": 2,
    "CreatedAt": "2024-05-01T10:00:00.123456789Z",
    "ArtifactName": IMAGE,
    "ArtifactType": "container_image",
    "Metadata": {
        "OS": {"Family": "debian", "Name": "12.5"},
        "ImageID": "sha256:4f3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c",
        "DiffIDs": ["sha256:1111111111111111111111111111111111111111111111111111111111111111"],
        "RepoTags": [IMAGE],
        "RepoDigests": [],
        "ImageConfig": {"architecture": "amd64", "os": "linux", "config": {"User": "10001"}},
    },
    "Results": [
        {
            "Target": f"{IMAGE} (debian 12.5)",
            "Class": "os-pkgs",
            "Type": "debian",
            "Vulnerabilities": [
                {
                    "VulnerabilityID": "CVE-2024-2511",
                    "PkgID": "libssl3@3.0.11-1~deb12u2",
                    "PkgName": "libssl3",
                    "PkgIdentifier": {
                        "PURL": "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12.5"
                    },
                    "InstalledVersion": "3.0.11-1~deb12u2",
                    "FixedVersion": "3.0.13-1~deb12u1",
                    "Status": "fixed",
                    "Layer": {
                        "DiffID": "sha256:1111111111111111111111111111111111111111111111111111111111111111"
                    },
                    "SeveritySource": "debian",
                    "PrimaryURL": "https://avd.aquasec.com/nvd/cve-2024-2511",
                    "DataSource": {
                        "ID": "debian",
                        "Name": "Debian Security Tracker",
                        "URL": "https://salsa.debian.org/",
                    },
                    "Title": "openssl: Unbounded memory growth with session handling in TLSv1.3",
                    "Description": "Issue summary: Some non-default TLS server configurations ...",
                    "Severity": "MEDIUM",
                    "CweIDs": ["CWE-1325"],
                    "CVSS": {
                        "nvd": {"V3Vector": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H", "V3Score": 5.9}
                    },
                    "References": ["https://www.openssl.org/news/secadv/20240408.txt"],
                    "PublishedDate": "2024-04-08T14:15:07.66Z",
                    "LastModifiedDate": "2024-05-03T13:15:21.93Z",
                },
                {
                    "VulnerabilityID": "CVE-2023-45853",
                    "PkgName": "zlib1g",
                    "InstalledVersion": "1:1.2.13.dfsg-1",
                    "Status": "will_not_fix",
                    "Title": "zlib: integer overflow and heap-based buffer overflow in zipOpenNewFileInZip4",
                    "Severity": "CRITICAL",
                    "PublishedDate": "2023-10-14T02:15:09.323Z",
                },
                {
                    "VulnerabilityID": "TEMP-0841856-B18BAF",
                    "PkgName": "bash",
                    "InstalledVersion": "5.2.15-2+b2",
                },
                {
                    "VulnerabilityID": "CVE-2011-3374",
                    "PkgName": "apt",
                    "InstalledVersion": "2.6.1",
                    "Severity": "UNKNOWN",
                },
            ],
        },
        {
            "Target": "Python",
            "Class": "lang-pkgs",
            "Type": "python-pkg",
            "Vulnerabilities": [
                {
                    "VulnerabilityID": "CVE-2024-35195",
                    "PkgName": "requests",
                    "PkgPath": "usr/local/lib/python3.11/site-packages/requests-2.31.0.dist-info/METADATA",
                    "InstalledVersion": "2.31.0",
                    "FixedVersion": "2.32.0, 2.32.2",
                    "Status": "fixed",
                    "Severity": "medium",
                    "Title": "requests: subsequent requests to the same host ignore cert verification",
                }
            ],
        },
        {"Target": "app/package-lock.json", "Class": "lang-pkgs", "Type": "npm", "Vulnerabilities": []},
        {"Target": "/app/.env", "Class": "secret"},
    ],
}


def test_trivy() -> None:
    report = parse(json.dumps(TRIVY, indent=2), "trivy.json")
    assert (report.path, report.scanner, report.artifact, report.created) == (
        "trivy.json",
        "trivy",
        IMAGE,
        "2024-05-01T10:00:00.123456789Z",
    )
    os_target = f"{IMAGE} (debian 12.5)"
    assert report.vulnerabilities == (
        Vulnerability(
            id="CVE-2024-2511",
            package="libssl3",
            installed="3.0.11-1~deb12u2",
            fixed="3.0.13-1~deb12u1",
            severity=Severity.MEDIUM,
            title="openssl: Unbounded memory growth with session handling in TLSv1.3",
            published="2024-04-08T14:15:07.66Z",
            target=os_target,
        ),
        Vulnerability(
            id="CVE-2023-45853",
            package="zlib1g",
            installed="1:1.2.13.dfsg-1",
            fixed="",
            severity=Severity.CRITICAL,
            title="zlib: integer overflow and heap-based buffer overflow in zipOpenNewFileInZip4",
            published="2023-10-14T02:15:09.323Z",
            target=os_target,
        ),
        Vulnerability("TEMP-0841856-B18BAF", "bash", "5.2.15-2+b2", "", None, target=os_target),
        Vulnerability("CVE-2011-3374", "apt", "2.6.1", "", None, target=os_target),
        Vulnerability(
            id="CVE-2024-35195",
            package="requests",
            installed="2.31.0",
            fixed="2.32.0, 2.32.2",  # several fixed versions, as Trivy writes them
            severity=Severity.MEDIUM,  # severities are compared case-insensitively
            title="requests: subsequent requests to the same host ignore cert verification",
            target="Python",
        ),
    )
    assert [v.fixable for v in report.vulnerabilities] == [True, False, False, False, True]


def test_trivy_without_results_has_no_findings() -> None:
    doc = {key: value for key, value in TRIVY.items() if key != "Results"}
    report = parse(json.dumps(doc), "trivy.json")
    assert report == ScanReport("trivy.json", "trivy", IMAGE, (), "2024-05-01T10:00:00.123456789Z")


@pytest.mark.parametrize(
    "results",
    [
        None,
        [],
        [{"Target": "x"}],
        [{"Target": "x", "Vulnerabilities": None}],
        ["junk", 3, {"Vulnerabilities": ["junk"]}],
    ],
)
def test_trivy_results_without_vulnerabilities(results: Any) -> None:
    doc = {"SchemaVersion": 2, "ArtifactName": "alpine:3.20", "Results": results}
    report = parse(json.dumps(doc), "t.json")
    assert (report.scanner, report.artifact, report.vulnerabilities, report.created) == (
        "trivy",
        "alpine:3.20",
        (),
        "",
    )


def test_trivy_without_artifact_name() -> None:
    report = parse('{"SchemaVersion": 2, "Results": []}', "t.json")
    assert (report.scanner, report.artifact) == ("trivy", "")


def test_trivy_ignores_wrongly_typed_fields() -> None:
    doc = {
        "SchemaVersion": 2,
        "ArtifactName": 7,
        "CreatedAt": None,
        "Results": [
            {"Target": 1, "Vulnerabilities": [{"VulnerabilityID": "CVE-1", "PkgName": ["x"], "Severity": 3}]}
        ],
    }
    report = parse(json.dumps(doc), "t.json")
    assert report == ScanReport("t.json", "trivy", "", (Vulnerability("CVE-1", "", "", "", None),), "")


# --- Grype (`grype <image> -o json`) ------------------------------------------------------------


def grype_match(vuln_id: str, severity: str, fix: dict[str, Any], name: str, version: str) -> dict[str, Any]:
    return {
        "vulnerability": {
            "id": vuln_id,
            "dataSource": f"https://security-tracker.debian.org/tracker/{vuln_id}",
            "namespace": "debian:distro:debian:12",
            "severity": severity,
            "urls": [],
            "description": f"Description of {vuln_id}.",
            "cvss": [],
            "fix": fix,
            "advisories": [],
        },
        "relatedVulnerabilities": [{"id": vuln_id, "namespace": "nvd:cpe", "severity": severity}],
        "matchDetails": [
            {"type": "exact-indirect-match", "matcher": "dpkg-matcher", "searchedBy": {}, "found": {}}
        ],
        "artifact": {
            "id": "a1b2c3",
            "name": name,
            "version": version,
            "type": "deb",
            "locations": [{"path": "/var/lib/dpkg/status", "layerID": "sha256:1111"}],
            "language": "",
            "licenses": [],
            "cpes": [],
            "purl": f"pkg:deb/debian/{name}@{version}?arch=amd64&distro=debian-12",
            "upstreams": [],
        },
    }


GRYPE: dict[str, Any] = {
    "matches": [
        grype_match(
            "CVE-2023-5363",
            "High",
            {"versions": ["3.0.11-1~deb12u2"], "state": "fixed"},
            "libssl3",
            "3.0.9-1",
        ),
        grype_match(
            "CVE-2005-2541", "Negligible", {"versions": [], "state": "not-fixed"}, "tar", "1.34+dfsg-1.2"
        ),
        grype_match(
            "CVE-2023-4039", "Medium", {"versions": [], "state": "wont-fix"}, "gcc-12-base", "12.2.0-14"
        ),
        grype_match(
            "GHSA-abcd-1234", "Critical", {"versions": ["2.0.1", "1.9.9"], "state": "fixed"}, "lib", "1.9.0"
        ),
        grype_match("CVE-2024-0000", "Unknown", {"versions": [], "state": "unknown"}, "curl", "7.88.1-10"),
    ],
    "ignoredMatches": [
        grype_match("CVE-2020-0001", "Critical", {"versions": ["9"], "state": "fixed"}, "ignored", "1"),
    ],
    "source": {
        "type": "image",
        "target": {
            "userInput": IMAGE,
            "imageID": "sha256:4f3c2b1a",
            "manifestDigest": "sha256:9e8d7c6b",
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "tags": [IMAGE],
            "imageSize": 123456789,
            "layers": [],
            "repoDigests": [],
            "architecture": "amd64",
            "os": "linux",
        },
    },
    "distro": {"name": "debian", "version": "12", "idLike": []},
    "descriptor": {
        "name": "grype",
        "version": "0.74.7",
        "configuration": {"output": ["json"]},
        "db": {"built": "2024-04-30T01:31:58Z", "schemaVersion": 5},
        "timestamp": "2024-05-01T10:00:00.000000000Z",
    },
}


def test_grype() -> None:
    report = parse(json.dumps(GRYPE, indent=2), "grype.json")
    assert (report.path, report.scanner, report.artifact, report.created) == (
        "grype.json",
        "grype",
        IMAGE,
        "2024-05-01T10:00:00.000000000Z",
    )
    assert report.vulnerabilities == (
        Vulnerability(
            "CVE-2023-5363",
            "libssl3",
            "3.0.9-1",
            "3.0.11-1~deb12u2",
            Severity.HIGH,
            "Description of CVE-2023-5363.",
        ),
        Vulnerability(
            "CVE-2005-2541", "tar", "1.34+dfsg-1.2", "", Severity.INFO, "Description of CVE-2005-2541."
        ),
        Vulnerability(
            "CVE-2023-4039", "gcc-12-base", "12.2.0-14", "", Severity.MEDIUM, "Description of CVE-2023-4039."
        ),
        Vulnerability(
            "GHSA-abcd-1234",
            "lib",
            "1.9.0",
            "2.0.1, 1.9.9",
            Severity.CRITICAL,
            "Description of GHSA-abcd-1234.",
        ),
        Vulnerability("CVE-2024-0000", "curl", "7.88.1-10", "", None, "Description of CVE-2024-0000."),
    )
    # Only state `fixed` counts as fixable; ignoredMatches are not findings.
    assert [v.fixable for v in report.vulnerabilities] == [True, False, False, True, False]


@pytest.mark.parametrize(
    ("source", "artifact"),
    [
        ({"type": "directory", "target": "/src"}, "/src"),
        ({"type": "image", "target": {"userInput": "alpine:3.20"}}, "alpine:3.20"),
        ({"type": "image", "target": {}}, ""),
        ({"type": "image"}, ""),
        ("weird", ""),
    ],
)
def test_grype_source_target(source: Any, artifact: str) -> None:
    report = parse(json.dumps({"matches": [], "source": source}), "g.json")
    assert (report.scanner, report.artifact, report.vulnerabilities, report.created) == (
        "grype",
        artifact,
        (),
        "",
    )


def test_grype_long_description_is_cut() -> None:
    match = grype_match("CVE-1", "Low", {"versions": [], "state": "not-fixed"}, "x", "1")
    match["vulnerability"]["description"] = "x" * 500
    [vuln] = parse(json.dumps({"matches": [match]}), "g.json").vulnerabilities
    assert vuln.title == "x" * 200


def test_grype_tolerates_odd_matches() -> None:
    doc = {
        "matches": ["junk", {}, {"vulnerability": "x", "artifact": None}, {"vulnerability": {"fix": "fixed"}}]
    }
    report = parse(json.dumps(doc), "g.json")
    assert report.vulnerabilities == (Vulnerability("", "", "", "", None),) * 3


# --- SARIF 2.1.0 (Trivy's shape, pkg/report/sarif.go) ------------------------------------------


def trivy_rule(vuln_id: str, title: str, level: str, score: str | None) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "precision": "very-high",
        "tags": ["vulnerability", "security", level.upper()],
    }
    if score is not None:
        properties["security-severity"] = score
    return {
        "id": vuln_id,
        "name": "OsPackageVulnerability",
        "shortDescription": {"text": title},
        "fullDescription": {"text": f"{title}."},
        "defaultConfiguration": {"level": level},
        "helpUri": f"https://avd.aquasec.com/nvd/{vuln_id.lower()}",
        "help": {"text": f"Vulnerability {vuln_id}", "markdown": f"**Vulnerability {vuln_id}**"},
        "properties": properties,
    }


def trivy_result(
    vuln_id: str, index: int, level: str, package: str, installed: str, fixed: str, severity: str
) -> dict[str, Any]:
    return {
        "ruleId": vuln_id,
        "ruleIndex": index,
        "level": level,
        "message": {
            "text": f"Package: {package}\nInstalled Version: {installed}\nVulnerability {vuln_id}\n"
            f"Severity: {severity}\nFixed Version: {fixed}\nLink: [{vuln_id}](https://avd.aquasec.com/nvd/x)"
        },
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": "registry.example.com/team/api", "uriBaseId": "ROOTPATH"},
                    "region": {"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1},
                },
                "message": {"text": f"registry.example.com/team/api: {package}@{installed}"},
            }
        ],
    }


SARIF: dict[str, Any] = {
    "version": "2.1.0",
    "$schema": "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/main/sarif-2.1/schema/sarif-schema-2.1.0.json",
    "runs": [
        {
            "tool": {
                "driver": {
                    "fullName": "Trivy Vulnerability Scanner",
                    "informationUri": "https://github.com/aquasecurity/trivy",
                    "name": "Trivy",
                    "rules": [
                        trivy_rule("CVE-2024-2511", "openssl: Unbounded memory growth", "warning", "5.9"),
                        trivy_rule("CVE-2023-45853", "zlib: integer overflow", "error", "9.8"),
                        trivy_rule("CVE-2011-3374", "apt: weak signature check", "note", None),
                        trivy_rule("CVE-2022-0001", "accepted risk", "error", "7.5"),
                    ],
                    "version": "0.51.1",
                }
            },
            "results": [
                trivy_result(
                    "CVE-2024-2511", 0, "warning", "libssl3", "3.0.11-1~deb12u2", "3.0.13-1~deb12u1", "MEDIUM"
                ),
                trivy_result("CVE-2023-45853", 1, "error", "zlib1g", "1:1.2.13.dfsg-1", "", "CRITICAL"),
                trivy_result("CVE-2011-3374", 2, "note", "apt", "2.6.1", "", "LOW"),
                {
                    **trivy_result("CVE-2022-0001", 3, "error", "x", "1", "2", "HIGH"),
                    "suppressions": [{"kind": "external", "justification": "accepted until 2025-01-01"}],
                },
                {
                    "ruleId": "generic-rule",
                    "level": "error",
                    "message": {"text": "Something generic\nsecond line"},
                },
                {"ruleId": "no-level", "message": {"text": "x"}},
            ],
            "columnKind": "utf16CodeUnits",
            "originalUriBaseIds": {"ROOTPATH": {"uri": "file:///"}},
            "properties": {
                "imageName": IMAGE,
                "repoTags": [IMAGE],
                "repoDigests": [],
                "imageID": "sha256:4f3c",
            },
        }
    ],
}


def test_sarif_fixture_is_valid_sarif() -> None:
    schema = json.loads(shared_file("schemas/sarif/sarif-schema-2.1.0.json").read_text())
    errors = [e.message for e in jsonschema.Draft4Validator(schema).iter_errors(SARIF)]
    assert errors == []


def test_sarif_from_trivy() -> None:
    report = parse(json.dumps(SARIF, indent=2), "trivy.sarif")
    assert (report.path, report.scanner, report.artifact, report.created) == (
        "trivy.sarif",
        "sarif:Trivy",
        "",
        "",
    )
    assert report.vulnerabilities == (
        Vulnerability(
            "CVE-2024-2511",
            "libssl3",
            "3.0.11-1~deb12u2",
            "3.0.13-1~deb12u1",
            Severity.MEDIUM,  # security-severity 5.9
            "openssl: Unbounded memory growth",
        ),
        Vulnerability(
            "CVE-2023-45853", "zlib1g", "1:1.2.13.dfsg-1", "", Severity.CRITICAL, "zlib: integer overflow"
        ),
        Vulnerability(
            "CVE-2011-3374", "apt", "2.6.1", "", Severity.LOW, "apt: weak signature check"
        ),  # level note
        # suppressed results are skipped; a result without a rule keeps its message as the title
        Vulnerability("generic-rule", "", "", "", Severity.HIGH, "Something generic"),
        Vulnerability("no-level", "", "", "", None, "x"),
    )
    assert [v.fixable for v in report.vulnerabilities] == [True, False, False, False, False]


@pytest.mark.parametrize(
    ("score", "severity"),
    [
        ("10.0", Severity.CRITICAL),
        ("9.0", Severity.CRITICAL),
        ("8.9", Severity.HIGH),
        ("7.0", Severity.HIGH),
        ("6.9", Severity.MEDIUM),
        ("4.0", Severity.MEDIUM),
        ("3.9", Severity.LOW),
        ("0.1", Severity.LOW),
        (7.5, Severity.HIGH),  # a number instead of a string
        ("0.0", Severity.MEDIUM),  # no score: the level (warning) decides
        ("n/a", Severity.MEDIUM),
        # out of CVSS's 0-10: the level decides (10**400 raised OverflowError: exit 4)
        (10**400, Severity.MEDIUM),
        ("1e400", Severity.MEDIUM),
        ("nan", Severity.MEDIUM),
        ("11", Severity.MEDIUM),
        (-3, Severity.MEDIUM),
    ],
)
def test_sarif_security_severity(score: Any, severity: Severity) -> None:
    doc = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "scanner",
                        "rules": [{"id": "R", "properties": {"security-severity": score}}],
                    }
                },
                "results": [{"ruleId": "R", "level": "warning", "message": {"text": "m"}}],
            }
        ],
    }
    [vuln] = parse(json.dumps(doc), "s.sarif").vulnerabilities
    assert vuln.severity is severity


@pytest.mark.parametrize(
    ("result_level", "default_level", "severity"),
    [
        ("error", None, Severity.HIGH),
        ("warning", None, Severity.MEDIUM),
        ("note", None, Severity.LOW),
        ("none", None, None),
        (None, "error", Severity.HIGH),
        (None, "note", Severity.LOW),
        ("note", "error", Severity.LOW),  # the result's level wins over the rule's default
        (None, None, None),
    ],
)
def test_sarif_levels(result_level: str | None, default_level: str | None, severity: Severity | None) -> None:
    rule: dict[str, Any] = {"id": "R"}
    if default_level:
        rule["defaultConfiguration"] = {"level": default_level}
    result: dict[str, Any] = {"ruleId": "R", "message": {"text": "m"}}
    if result_level:
        result["level"] = result_level
    doc = {
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "t", "rules": [rule]}}, "results": [result]}],
    }
    [vuln] = parse(json.dumps(doc), "s.sarif").vulnerabilities
    assert vuln.severity is severity


def test_sarif_several_runs_and_package_property() -> None:
    doc = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "grype"}},
                "results": [{"ruleId": "CVE-1-x", "properties": {"package": "x"}}],
            },
            {"tool": {"driver": {}}, "results": []},
            "junk",
        ],
    }
    report = parse(json.dumps(doc), "s.sarif")
    assert report.scanner == "sarif:grype,unknown"
    assert report.vulnerabilities == (Vulnerability("CVE-1-x", "x", "", "", None, ""),)


@pytest.mark.parametrize(
    ("run", "vuln_id"),
    [
        ({"tool": [], "results": [{"ruleId": "R"}]}, "R"),
        ({"tool": {"driver": {"rules": 5}}, "results": [{"ruleId": "R"}]}, "R"),
        ({"tool": {"driver": "x"}, "results": [{"ruleId": ["R"], "message": "text"}]}, "unknown"),
        (
            {
                "tool": {"driver": {"rules": ["x", {"id": 5}]}},
                "results": [{"properties": [], "message": None}],
            },
            "unknown",
        ),
        (
            {
                "tool": {"driver": {"rules": [{"id": "R", "properties": [], "defaultConfiguration": 3}]}},
                "results": [{"ruleId": "R", "message": {"text": 5}}],
            },
            "R",
        ),
    ],
)
def test_sarif_tolerates_odd_shapes(run: dict[str, Any], vuln_id: str) -> None:
    """Odd metadata and odd entries are skipped (a list of findings that is not a list is not)."""
    report = parse(json.dumps({"version": "2.1.0", "runs": [run]}), "s.sarif")
    assert report.vulnerabilities == (Vulnerability(vuln_id, "", "", "", None),)


# --- detection and errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "",
            "r.json: scan report is not valid JSON (Expecting value: line 1 column 1 (char 0))",
            id="empty",
        ),
        pytest.param(
            "<html>502 Bad Gateway</html>",
            "r.json: scan report is not valid JSON (Expecting value: line 1 column 1 (char 0))",
            id="html",
        ),
        pytest.param(
            '{"SchemaVersion": 2,',
            "r.json: scan report is not valid JSON (Expecting property name enclosed in double quotes: "
            "line 1 column 21 (char 20))",
            id="truncated",
        ),
        pytest.param("[]", "r.json: not a Trivy, Grype or SARIF report", id="array"),
        pytest.param(
            '[{"SchemaVersion": 2}]', "r.json: not a Trivy, Grype or SARIF report", id="array-of-report"
        ),
        pytest.param('"text"', "r.json: not a Trivy, Grype or SARIF report", id="string"),
        pytest.param("null", "r.json: not a Trivy, Grype or SARIF report", id="null"),
        pytest.param("{}", "r.json: not a Trivy JSON, Grype JSON or SARIF 2.1.0 report", id="empty-object"),
        pytest.param(
            '{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": []}',
            "r.json: not a Trivy JSON, Grype JSON or SARIF 2.1.0 report",
            id="cyclonedx",
        ),
        pytest.param(
            '{"SchemaVersion": 2}',
            "r.json: not a Trivy JSON, Grype JSON or SARIF 2.1.0 report",
            id="bare-schema-version",
        ),
        pytest.param(
            '{"matches": {}}',
            "r.json: not a Trivy JSON, Grype JSON or SARIF 2.1.0 report",
            id="grype-matches-object",
        ),
        pytest.param(
            '{"version": "1.0.0", "runs": []}',
            "r.json: not a Trivy JSON, Grype JSON or SARIF 2.1.0 report",
            id="sarif-1",
        ),
        pytest.param(
            '{"version": "2.1.0", "runs": {}}',
            "r.json: not a Trivy JSON, Grype JSON or SARIF 2.1.0 report",
            id="sarif-runs-object",
        ),
        # A list of findings that is something else cannot be read as "no vulnerabilities".
        pytest.param(
            '{"SchemaVersion": 2, "Results": 5}',
            "r.json: broken scan report: Results is a number, not a list",
            id="trivy-results-number",
        ),
        pytest.param(
            '{"SchemaVersion": 2, "Results": {"Target": "x"}}',
            "r.json: broken scan report: Results is an object, not a list",
            id="trivy-results-object",
        ),
        pytest.param(
            '{"SchemaVersion": 2, "Results": [{"Vulnerabilities": "CVE-1"}]}',
            "r.json: broken scan report: Results[].Vulnerabilities is a string, not a list",
            id="trivy-vulnerabilities-string",
        ),
        pytest.param(
            '{"version": "2.1.0", "runs": [{"results": 7}]}',
            "r.json: broken scan report: runs[].results is a number, not a list",
            id="sarif-results-number",
        ),
        pytest.param(
            '{"matches": [{"vulnerability": {"fix": {"state": "fixed", "versions": 5}}}]}',
            "r.json: broken scan report: matches[].vulnerability.fix.versions is a number, not a list",
            id="grype-fix-versions-number",
        ),
        pytest.param(
            '{"matches": [{"vulnerability": {"fix": {"state": "fixed", "versions": "1.2.3"}}}]}',
            "r.json: broken scan report: matches[].vulnerability.fix.versions is a string, not a list",
            id="grype-fix-versions-string",
        ),
        pytest.param(
            '{"matches": [], "source": ' + "[" * 100_000 + "]" * 100_000 + "}",
            "r.json: scan report is not valid JSON (nested too deeply)",
            id="nested-too-deeply",
        ),
    ],
)
def test_errors(text: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse(text, "r.json")
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        ("CRITICAL", Severity.CRITICAL),
        ("Critical", Severity.CRITICAL),
        ("HIGH", Severity.HIGH),
        ("high", Severity.HIGH),
        ("MEDIUM", Severity.MEDIUM),
        ("Moderate", Severity.MEDIUM),
        ("LOW", Severity.LOW),
        ("Negligible", Severity.INFO),
        (" info ", Severity.INFO),
        ("UNKNOWN", None),
        ("Unknown", None),
        ("", None),
        ("severe", None),
    ],
)
def test_severity_names(severity: str, expected: Severity | None) -> None:
    doc = {
        "SchemaVersion": 2,
        "Results": [{"Vulnerabilities": [{"VulnerabilityID": "X", "Severity": severity}]}],
    }
    [vuln] = parse(json.dumps(doc), "t.json").vulnerabilities
    assert vuln.severity is expected
