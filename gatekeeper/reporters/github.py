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


_VERDICT = {
    "ready": "ready for production",
    "not ready": "NOT ready for production",
    "no verdict": "no verdict: a rule crashed (a bug in gatekeeper)",
}


def render(report: Report, options: RenderOptions) -> str:
    """Annotations, at most PER_LEVEL per level (GitHub keeps no more per step): the crashed rules
    and the verdict always get theirs, findings share what is left, most severe first."""
    crashed = [r for r in report.results if r.status is Status.ERROR]
    findings = sorted(report.active, key=lambda f: (-f.severity, f.rule.id, f.message))
    budget = {"error": PER_LEVEL - len(crashed), "warning": PER_LEVEL, "notice": PER_LEVEL - 1}
    wanted = {kind: sum(1 for f in findings if level(f) == kind) for kind in budget}
    if any(wanted[kind] > budget[kind] for kind in budget):
        budget["notice"] -= 1  # for the "more findings" notice
    shown = dict.fromkeys(budget, 0)
    lines: list[str] = []
    for finding in findings:
        kind = level(finding)
        if shown[kind] < budget[kind]:
            shown[kind] += 1
            lines.append(_annotation(report, finding))
    for result in crashed:
        lines.append(_command("error", {"title": f"{result.rule.id} crashed"}, result.reason))
    hidden = len(findings) - sum(shown.values())
    if hidden:
        more = "1 more finding is" if hidden == 1 else f"{hidden} more findings are"
        lines.append(_command("notice", {"title": "gatekeeper"}, f"{more} listed in the job summary."))
    verdict = _VERDICT[report.verdict]
    lines.append(_command("notice", {"title": "gatekeeper"}, f"{report.subject.reference}: {verdict}"))
    return "".join(lines)


REPORTER = Reporter("github", "GitHub Actions annotations (workflow commands)", render, streams=True)
