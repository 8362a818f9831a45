"""GitHub Actions workflow commands: one annotation per finding, most severe first.

GitHub keeps at most 10 annotations of each level per step; the rest are counted in one notice
that points at the job summary (the Markdown report, which the CLI appends to
$GITHUB_STEP_SUMMARY). Messages are escaped like actions/toolkit does (`%`, CR, LF; in
properties also `:` and `,`), so no text from the image can start a workflow command of its own.
Image-level findings are anchored to the Dockerfile when one was used, so they show in the diff.
"""

from __future__ import annotations

from gatekeeper.findings import IMAGE, Finding, Severity
from gatekeeper.report import Report, Status
from gatekeeper.reporters import RenderOptions, Reporter

PER_LEVEL = 10


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def level(finding: Finding) -> str:
    if finding.blocking:
        return "error"
    return "warning" if finding.severity >= Severity.LOW else "notice"


def _command(kind: str, props: dict[str, str], message: str) -> str:
    joined = ",".join(f"{k}={escape_property(v)}" for k, v in props.items() if v)
    return f"::{kind} {joined}::{escape_data(message)}\n" if joined else f"::{kind}::{escape_data(message)}\n"


def _annotation(report: Report, finding: Finding) -> str:
    props = {"title": f"{finding.rule.id} {finding.rule.name}"}
    location = finding.location
    if location.artifact != IMAGE:
        props["file"] = location.artifact
        props["line"] = str(location.line or 1)
    elif report.dockerfile:
        props["file"] = report.dockerfile
        props["line"] = "1"
    message = f"{finding.message} Fix: {finding.rule.fix}"
    return _command(level(finding), props, message)


def render(report: Report, options: RenderOptions) -> str:
    findings = sorted(report.active, key=lambda f: (-f.severity, f.rule.id, f.message))
    shown: dict[str, int] = {}
    lines: list[str] = []
    hidden = 0
    for finding in findings:
        kind = level(finding)
        if shown.get(kind, 0) >= PER_LEVEL:
            hidden += 1
            continue
        shown[kind] = shown.get(kind, 0) + 1
        lines.append(_annotation(report, finding))
    for result in report.results:
        if result.status is Status.ERROR:
            lines.append(_command("error", {"title": f"{result.rule.id} crashed"}, result.reason))
    if hidden:
        lines.append(
            _command(
                "notice", {"title": "gatekeeper"}, f"{hidden} more findings are listed in the job summary."
            )
        )
    verdict = "ready for production" if report.passed else "NOT ready for production"
    lines.append(_command("notice", {"title": "gatekeeper"}, f"{report.subject.reference}: {verdict}"))
    return "".join(lines)


REPORTER = Reporter("github", "GitHub Actions annotations (workflow commands)", render)
