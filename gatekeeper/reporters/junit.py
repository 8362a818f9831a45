"""JUnit XML: one testsuite per image, one testcase per rule; valid against Jenkins xunit's XSD.

A clean run counts every rule as a passed test (never "0 tests"). A rule with blocking findings
is a `<failure>` whose text lists every finding with location, evidence and fix (GitLab shows only
the text); findings below the policy's threshold are listed in `<system-out>` of a passing case.
Skipped rules are `<skipped message=reason>`, crashed rules `<error>`. The classname is the
checklist item, so GitLab's "Suite" column groups tests by checklist item.

Built with xml.etree rather than junit-xml: junit-xml writes a `disabled` attribute on
`<testsuites>` and `<testsuite>` that the Jenkins xunit schema rejects.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from gatekeeper.findings import Finding
from gatekeeper.report import Report, RuleResult, Status
from gatekeeper.reporters import RenderOptions, Reporter

_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _ILLEGAL_XML.sub("\ufffd", text)


def _finding_text(finding: Finding) -> str:
    lines = [f"[{finding.severity.label}] {finding.message}", f"  at {finding.location}"]
    if finding.evidence:
        lines.append(f"  evidence: {finding.evidence}")
    return "\n".join(lines)


def _case(report: Report, result: RuleResult) -> ET.Element:
    rule = result.rule
    case = ET.Element(
        "testcase",
        {
            "classname": f"gatekeeper.{rule.checklist}",
            "name": f"{rule.id} {rule.name}: {rule.title}",
            "time": "0",
        },
    )
    active = [f for f in result.findings if f.waiver is None]
    blocking = [f for f in active if f.blocking]
    advisory = [f for f in active if not f.blocking]
    if result.status is Status.SKIPPED:
        ET.SubElement(case, "skipped", {"message": _clean(result.reason)})
    elif result.status is Status.WAIVED:
        waiver = result.findings[0].waiver
        reason = f"waived until {waiver.expires} ({waiver.origin}): {waiver.reason}" if waiver else "waived"
        ET.SubElement(case, "skipped", {"message": _clean(reason)})
    elif result.status is Status.ERROR:
        error = ET.SubElement(case, "error", {"type": "RuleError", "message": _clean(result.reason)})
        error.text = _clean(f"The rule {rule.name} crashed: {result.reason}\nThis is a bug in gatekeeper.")
    elif blocking:
        noun = "finding" if len(blocking) == 1 else "findings"
        summary = f"{len(blocking)} blocking {noun}: {blocking[0].message}"
        failure = ET.SubElement(case, "failure", {"type": rule.id, "message": _clean(summary)})
        body = [
            summary,
            "",
            *(_finding_text(f) for f in blocking),
            "",
            f"Fix: {rule.fix}",
            f"Docs: {rule.docs_url}",
        ]
        failure.text = _clean("\n".join(body))
    out = [_finding_text(f) for f in advisory]
    if result.status is Status.PASSED:
        out = [f"passed: {e}" for e in result.evidence]
    elif advisory:
        out.insert(0, f"below the policy threshold ({report.policy.fail_on.label}):")
    if out:
        ET.SubElement(case, "system-out").text = _clean("\n".join(out))
    return case


def _counts(report: Report) -> dict[str, int]:
    failed = sum(1 for r in report.results if r.status is Status.FAILED and r.blocking)
    return {
        "tests": len(report.results),
        "failures": failed,
        "errors": report.count(Status.ERROR),
        "skipped": report.count(Status.SKIPPED) + report.count(Status.WAIVED),
    }


def render(report: Report, options: RenderOptions) -> str:
    counts = _counts(report)
    seconds = f"{report.duration_s:.3f}"
    root = ET.Element(
        "testsuites",
        {
            "name": "gatekeeper",
            "tests": str(counts["tests"]),
            "failures": str(counts["failures"]),
            "errors": str(counts["errors"]),
            "time": seconds,
        },
    )
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": _clean(report.subject.reference or "gatekeeper"),
            "tests": str(counts["tests"]),
            "failures": str(counts["failures"]),
            "errors": str(counts["errors"]),
            "skipped": str(counts["skipped"]),
            "time": seconds,
            "timestamp": report.started_at.strftime("%Y-%m-%dT%H:%M:%S"),
        },
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("image", report.subject.reference),
        ("digest", report.subject.digest),
        ("platform", report.subject.platform),
        ("policy", report.policy.name),
        ("fail_on", report.policy.fail_on.label),
        ("verdict", report.verdict),
        ("gatekeeper", report.version),
    ):
        ET.SubElement(props, "property", {"name": name, "value": _clean(value)})
    for result in report.results:
        suite.append(_case(report, result))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


REPORTER = Reporter("junit", "JUnit XML: one testcase per rule", render)
