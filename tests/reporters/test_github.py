from __future__ import annotations

import dataclasses
from collections import Counter

from gatekeeper.findings import Finding, Severity, image_location
from gatekeeper.report import Report, RuleResult, Status
from gatekeeper.reporters import RenderOptions
from gatekeeper.reporters.github import PER_LEVEL, escape_data, escape_property, render
from tests.reporters.sample import sample_report


def test_escaping_like_actions_toolkit() -> None:
    assert escape_data("100%\r\nx") == "100%25%0D%0Ax"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_every_line_is_one_command() -> None:
    text = render(sample_report(), RenderOptions())
    lines = text.splitlines()
    assert all(line.startswith("::") for line in lines)
    assert lines[0].startswith("::error title=GK-TST-001 runs-as-root,file=Dockerfile,line=1::")
    assert "%0Anewline" in lines[0]


def test_injected_command_cannot_escape() -> None:
    report = sample_report()
    evil = dataclasses.replace(report.results[0].findings[0], message="x\n::add-mask::leak\n::error::fake")
    result = dataclasses.replace(report.results[0], findings=(evil,))
    text = render(dataclasses.replace(report, results=(result, *report.results[1:])), RenderOptions())
    assert "\n::add-mask::" not in text and "\n::error::fake" not in text


def test_per_level_cap_and_summary_notice() -> None:
    report = sample_report()
    rule = report.results[0].rule
    many = tuple(
        Finding(rule, Severity.HIGH, f"finding {i}", image_location(f"p{i}"), f"{i:032d}", blocking=True)
        for i in range(25)
    )
    result = RuleResult(rule, Status.FAILED, Severity.HIGH, findings=many)
    text = render(dataclasses.replace(report, results=(result,)), RenderOptions())
    assert text.count("::error ") == PER_LEVEL
    assert "15 more findings are listed in the job summary." in text


def _many(report: Report, severity: Severity, blocking: bool, count: int) -> RuleResult:
    rule = report.results[0].rule
    findings = tuple(
        Finding(rule, severity, f"finding {i}", image_location(f"p{i}"), f"{i:032d}", blocking=blocking)
        for i in range(count)
    )
    return RuleResult(rule, Status.FAILED, severity, findings=findings)


def _kinds(text: str) -> Counter[str]:
    return Counter(line.split(" ", 1)[0].split("::", 2)[1] for line in text.splitlines())


def test_the_verdict_keeps_its_notice_when_findings_fill_the_level() -> None:
    report = sample_report()
    text = render(
        dataclasses.replace(report, results=(_many(report, Severity.INFO, False, 12),)), RenderOptions()
    )
    assert _kinds(text) == Counter({"notice": PER_LEVEL})
    assert text.count("finding ") == PER_LEVEL - 2
    assert "4 more findings are listed in the job summary." in text
    assert text.splitlines()[-1].endswith(": ready for production")


def test_crashed_rules_keep_their_errors_when_findings_fill_the_level() -> None:
    report = sample_report()
    crash = next(r for r in report.results if r.status is Status.ERROR)
    results = (_many(report, Severity.HIGH, True, 11), crash)
    text = render(dataclasses.replace(report, results=results), RenderOptions())
    assert _kinds(text) == Counter({"error": PER_LEVEL, "notice": 2})
    assert f"{crash.rule.id} crashed" in text
    assert "2 more findings are listed in the job summary." in text
    assert text.splitlines()[-1].endswith(": no verdict: a rule crashed (a bug in gatekeeper)")


def test_one_hidden_finding_is_singular() -> None:
    report = sample_report()
    text = render(
        dataclasses.replace(report, results=(_many(report, Severity.HIGH, True, 11),)), RenderOptions()
    )
    assert "1 more finding is listed in the job summary." in text
