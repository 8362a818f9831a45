"""Console: text from the image and the repository stays on its own line and drives no terminal."""

from __future__ import annotations

import dataclasses

import pytest

from gatekeeper.findings import Location
from gatekeeper.report import Report
from gatekeeper.reporters import RenderOptions
from gatekeeper.reporters.console import render
from gatekeeper.text import one_line
from tests.reporters.sample import sample_report

HOSTILE = "log dir\n::error file=README.md,line=1::Approved by security team\r\x1b]0;pwned\x07\x1b[2K end"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\nb\r\nc\t d", "a b c d"),
        ("\x1b[31mred\x1b[0m", "\ufffd[31mred\ufffd[0m"),
        ("bell\x07 nul\x00 c1\x9b", "bell\ufffd nul\ufffd c1\ufffd"),
        ("  ünïcode 🐳  ", "ünïcode 🐳"),
    ],
)
def test_one_line(text: str, expected: str) -> None:
    assert one_line(text) == expected


def hostile_report() -> Report:
    """The sample report with hostile text wherever the image or repository supplies it."""
    report = sample_report()
    results = []
    for result in report.results:
        findings = tuple(
            dataclasses.replace(
                f,
                message=HOSTILE,
                evidence=HOSTILE,
                location=Location(f.location.artifact, f.location.line, HOSTILE),
            )
            for f in result.findings
        )
        results.append(dataclasses.replace(result, findings=findings, evidence=(HOSTILE,)))
    subject = dataclasses.replace(report.subject, reference=HOSTILE, platform=HOSTILE)
    return dataclasses.replace(report, results=tuple(results), subject=subject)


@pytest.mark.parametrize("color", [False, True])
def test_hostile_text_cannot_start_a_line_or_reach_the_terminal(color: bool) -> None:
    report = hostile_report()
    assert sum(len(r.findings) for r in report.results) >= 3
    text = render(report, RenderOptions(color=color))
    assert text.count("Approved by security team") >= 4  # the text is shown, on one line
    for line in text.splitlines():
        assert not line.lstrip().startswith("::"), line
    assert "\r" not in text and "\x07" not in text
    assert "\x1b]" not in text and "\x1b[2K" not in text
    if not color:
        assert "\x1b" not in text
