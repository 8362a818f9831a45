"""GitLab Code Quality reporter: every entry valid against GitLab's schema, unique fingerprints.

GitLab validates entries one by one and stops at the first invalid one, and collapses entries that
share a fingerprint (shared/schemas/notes/gitlab-codequality.md), so both are checked on every
output. The schema comes from the repository's sibling `shared/schemas/gitlab/codeclimate.json`.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gatekeeper.findings import Location, Severity, WaiverInfo, image_location
from gatekeeper.report import Report, RuleResult, Status
from gatekeeper.reporters import sarif as sarif_module
from tests.reporters.sample import sample_report
from tests.reporters.test_sarif import (
    CLEAN_IMAGE,
    CLEAN_POLICY,
    DOCKERFILE,
    ROOT_IMAGE,
    failed,
    finding,
    passed_rules,
    real_report,
    render,
    report_of,
    rule_info,
    schema,
    schema_errors,
)

SEVERITIES = ("info", "minor", "major", "critical", "blocker")
CATEGORIES = (
    "Bug Risk",
    "Clarity",
    "Compatibility",
    "Complexity",
    "Duplication",
    "Performance",
    "Security",
    "Style",
)


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    loaded = schema("gitlab/codeclimate.json")
    jsonschema.Draft7Validator.check_schema(loaded)
    return jsonschema.Draft7Validator(loaded)


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Report:
    return real_report(tmp_path_factory.mktemp("gitlab-real"))


def entries_of(report: Report) -> list[dict[str, Any]]:
    doc = json.loads(render("gitlab", report))
    assert isinstance(doc, list)
    return doc


def check_codequality(report: Report, validator: jsonschema.protocols.Validator) -> list[dict[str, Any]]:
    text = render("gitlab", report)
    assert not text.startswith("\ufeff")
    assert text.endswith("\n")
    text.encode("utf-8")
    entries = json.loads(text)
    assert isinstance(entries, list)
    for k, entry in enumerate(entries):
        assert schema_errors(validator, entry) == [], k
        # What the docs require, beyond the (weaker) schema.
        assert entry["description"].strip()
        assert "\n" not in entry["description"]
        assert entry["check_name"]
        assert entry["fingerprint"]
        assert entry["severity"] in SEVERITIES
        path = entry["location"]["path"]
        assert path
        assert not path.startswith(("/", "./"))
        assert "\\" not in path
        begin = entry["location"]["lines"]["begin"]
        assert isinstance(begin, int)
        assert begin >= 1
        assert entry["categories"]
        assert set(entry["categories"]) <= set(CATEGORIES)
        assert entry["content"]["body"]
    fingerprints = [e["fingerprint"] for e in entries]
    assert len(set(fingerprints)) == len(fingerprints)
    return entries


def test_sample_is_valid(validator: jsonschema.protocols.Validator) -> None:
    entries = check_codequality(sample_report(), validator)
    assert [e["check_name"] for e in entries] == ["runs-as-root", "runs-as-root", "informational"]
    assert [e["severity"] for e in entries] == ["blocker", "critical", "info"]


def test_real_run_is_valid(real: Report, validator: jsonschema.protocols.Validator) -> None:
    entries = check_codequality(real, validator)
    assert len(entries) == len(real.findings)
    for entry, f in zip(entries, real.findings, strict=True):
        assert entry["check_name"] == f.rule.name
        assert entry["fingerprint"] == f.fingerprint
        assert entry["description"] == f"{f.rule.title}: {' '.join(f.message.split())}"
        assert entry["location"]["path"] == "build dir/Dockerfile"
        expected = f.location.line or 1 if f.location.artifact != "image" else 1
        assert entry["location"]["lines"]["begin"] == expected
        assert f.rule.fix in entry["content"]["body"]


def test_clean_run_is_an_empty_array(tmp_path: Path, validator: jsonschema.protocols.Validator) -> None:
    report = real_report(tmp_path, image=CLEAN_IMAGE, dockerfile=None, policy=CLEAN_POLICY)
    assert passed_rules(report) >= {"runs-as-root", "healthcheck-missing"}
    assert render("gitlab", report) == "[]\n"
    assert check_codequality(report, validator) == []


def test_anchors_match_sarif(real: Report) -> None:
    sarif_run = json.loads(render("sarif", real))["runs"][0]
    for entry, result in zip(entries_of(real), sarif_run["results"], strict=True):
        physical = result["locations"][0]["physicalLocation"]
        assert entry["location"]["lines"]["begin"] == physical["region"]["startLine"]
        assert sarif_module.artifact_uri(entry["location"]["path"]) == physical["artifactLocation"]["uri"]
        assert entry["fingerprint"] == result["fingerprints"]["gatekeeper/v1"]


def test_anchor_without_a_dockerfile() -> None:
    info = rule_info(1)
    item = finding(info, "about the image", image_location("config.User"), "f" * 32)
    inputs = [("kubernetes", "./k8s/app.yaml", "given")]
    entry = entries_of(report_of(failed(info, item), inputs=inputs))[0]
    assert entry["location"] == {"path": "k8s/app.yaml", "lines": {"begin": 1}}
    entry = entries_of(report_of(failed(info, item), inputs=()))[0]
    assert entry["location"] == {"path": "Dockerfile", "lines": {"begin": 1}}


def test_severity_mapping_for_every_severity(validator: jsonschema.protocols.Validator) -> None:
    expected = {
        Severity.INFO: "info",
        Severity.LOW: "minor",
        Severity.MEDIUM: "major",
        Severity.HIGH: "critical",
        Severity.CRITICAL: "blocker",
    }
    info = rule_info(1)
    findings = [
        finding(info, s.label, Location("Dockerfile", 1 + s), f"{s:032x}", severity=s) for s in Severity
    ]
    entries = check_codequality(report_of(failed(info, *findings)), validator)
    assert [e["severity"] for e in entries] == [expected[s] for s in Severity]


@pytest.mark.parametrize(
    ("checklist_item", "category"),
    [
        ("Non-root user", "Security"),
        ("Secrets managed externally", "Security"),
        ("Vulnerability scan", "Security"),
        ("Image size", "Performance"),
        ("Multi-stage build", "Performance"),
        ("Health checks", "Bug Risk"),
        ("Logs to stdout/stderr", "Bug Risk"),
        ("Resource limits", "Bug Risk"),
        ("Dockerfile hygiene", "Style"),
        ("Something new", "Bug Risk"),
    ],
)
def test_categories(checklist_item: str, category: str) -> None:
    info = rule_info(1, checklist_item)
    item = finding(info, "m", Location("Dockerfile", 1), "1" * 32)
    assert entries_of(report_of(failed(info, item)))[0]["categories"] == [category]


def test_fingerprints_stable_across_runs_and_line_moves(tmp_path: Path) -> None:
    first = entries_of(real_report(tmp_path))
    moved = "# syntax=docker/dockerfile:1\n\n\n" + DOCKERFILE
    rebuilt = dataclasses.replace(ROOT_IMAGE, config=dict(ROOT_IMAGE.config, Env=["PATH=/bin", "Y=2"]))
    second = entries_of(real_report(tmp_path, image=rebuilt, dockerfile=moved))
    assert [e["fingerprint"] for e in first] == [e["fingerprint"] for e in second]
    assert [e["location"]["lines"]["begin"] for e in first] != [
        e["location"]["lines"]["begin"] for e in second
    ]


def test_duplicate_fingerprints_are_made_unique(validator: jsonschema.protocols.Validator) -> None:
    info = rule_info(1)
    same = "7" * 32
    twins = [finding(info, f"n{k}", Location("Dockerfile", k + 1), same) for k in range(3)]
    entries = check_codequality(report_of(failed(info, *twins)), validator)
    fingerprints = [e["fingerprint"] for e in entries]
    assert fingerprints[0] == same
    assert len(set(fingerprints)) == 3
    # Stable: the same findings give the same fingerprints again.
    assert fingerprints == [e["fingerprint"] for e in entries_of(report_of(failed(info, *twins)))]


def test_waived_findings_are_left_out(validator: jsonschema.protocols.Validator) -> None:
    info = rule_info(1)
    waiver = WaiverInfo(info.id, "accepted risk", "2030-01-01", "gatekeeper.yaml:4")
    same = "8" * 32
    findings = (
        finding(info, "waived", Location("Dockerfile", 2), same, waiver=waiver),
        finding(info, "active", Location("Dockerfile", 3), same),
    )
    report = report_of(failed(info, *findings))
    entries = check_codequality(report, validator)
    assert [e["description"] for e in entries] == ["Rule 1: active"]
    # The fingerprint is the one SARIF gives the same finding.
    sarif_run = json.loads(render("sarif", report))["runs"][0]
    assert entries[0]["fingerprint"] == sarif_run["results"][1]["fingerprints"]["gatekeeper/v1"]
    only_waived = report_of(RuleResult(info, Status.WAIVED, info.severity, findings=findings[:1]))
    assert render("gitlab", only_waived) == "[]\n"


def test_evidence_is_in_the_body(validator: jsonschema.protocols.Validator) -> None:
    info = rule_info(1)
    item = finding(info, "the message", Location("Dockerfile", 3), "4" * 32, evidence="EVIDENCE: 3 files")
    entry = check_codequality(report_of(failed(info, item)), validator)[0]
    assert "EVIDENCE: 3 files" in entry["content"]["body"]
    assert "EVIDENCE" not in entry["description"]


def test_escaping_of_awkward_text(validator: jsonschema.protocols.Validator) -> None:
    awkward = "quotes \" ' back\\slash\nnew\tline </script> ünïcode 🐳 \x00 \udcff"
    info = dataclasses.replace(rule_info(1), title="Title\nwith newline")
    item = finding(info, awkward, Location("dir with space/Dockerfile", 0), "3" * 32, evidence=awkward)
    entry = check_codequality(report_of(failed(info, item)), validator)[0]
    assert entry["description"] == (
        "Title with newline: quotes \" ' back\\slash new line </script> ünïcode 🐳 \ufffd \ufffd"
    )
    assert entry["location"] == {"path": "dir with space/Dockerfile", "lines": {"begin": 1}}
    assert "\ufffd" in entry["content"]["body"]


def test_deterministic(real: Report) -> None:
    text = render("gitlab", real)
    assert text == render("gitlab", real)
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
