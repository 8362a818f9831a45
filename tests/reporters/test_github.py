from __future__ import annotations

import dataclasses

from gatekeeper.findings import Finding, Severity, image_location
from gatekeeper.report import RuleResult, Status
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
