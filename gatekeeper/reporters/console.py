"""Console: ready / not ready first, then the checklist, each rule with evidence or fix."""

from __future__ import annotations

from gatekeeper.findings import Finding
from gatekeeper.report import Report, RuleResult, Status
from gatekeeper.reporters import RenderOptions, Reporter
from gatekeeper.units import format_size

_MARK = {
    Status.PASSED: "✓",
    Status.FAILED: "✗",
    Status.SKIPPED: "-",
    Status.ERROR: "!",
    Status.WAIVED: "~",
    Status.ADVISORY: "△",
}
_COLOR = {
    Status.PASSED: "32",
    Status.FAILED: "31",
    Status.SKIPPED: "2",
    Status.ERROR: "35",
    Status.WAIVED: "33",
    Status.ADVISORY: "33",
}


class _Paint:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.enabled else text


def _one_line(text: str) -> str:
    return " ".join(text.split())


def render(report: Report, options: RenderOptions) -> str:
    paint = _Paint(options.color)
    out: list[str] = []
    s = report.subject
    size = f", {format_size(s.size)}" if s.size is not None else ""
    digest = s.digest.split(":")[-1][:12] if s.digest else "?"
    if s.reference:
        out.append(f"gatekeeper {report.version}: {s.reference}")
        layers = f"{s.layers} layer{'s' if s.layers != 1 else ''}"
        out.append(f"  {s.source}, {digest}, {s.platform}, {layers}{size}")
    else:
        out.append(f"gatekeeper {report.version}: no image, judging the repository files only")
    origins = ", ".join(origin for origin, _ in report.policy.sources) or report.policy.name
    profile = f", profile {report.profile}" if report.profile else ""
    out.append(f"  policy {origins}{profile}, fails on {report.policy.fail_on.label} and above")
    if report.inputs:
        used = ", ".join(f"{path} ({how})" for _, path, how in report.inputs)
        out.append(f"  inputs {used}")
    out.append("")
    out.append(_headline(report, paint))
    for item in report.checklist:
        out.append("")
        status = paint(f"{_MARK[item.status]} {item.status.value}", _COLOR[item.status])
        out.append(paint(item.name, "1") + f"  {status}")
        for result in report.results:
            if result.rule.name in item.rules:
                out.extend(_rule_lines(result, report, paint))
    if report.unused_waivers:
        out.append("")
        out.append(paint("Unused waivers", "1") + "  (they matched nothing; delete them or fix their scope)")
        for w in report.unused_waivers:
            out.append(
                f"  ~ {w.rule} from {w.origin or 'policy'}: {_one_line(w.reason)} (expires {w.expires})"
            )
    out.append("")
    counts = ", ".join(
        f"{report.count(st)} {st.value}"
        for st in (Status.FAILED, Status.PASSED, Status.WAIVED, Status.SKIPPED, Status.ERROR)
    )
    out.append(f"{len(report.results)} rules: {counts}")
    return "\n".join(out) + "\n"


def _headline(report: Report, paint: _Paint) -> str:
    if report.errors:
        names = ", ".join(r.rule.name for r in report.errors)
        return paint(f"! NO VERDICT: rule(s) crashed ({names}); this is a bug in gatekeeper", "1;35")
    blocking = len(report.blocking)
    if blocking:
        noun = "finding" if blocking == 1 else "findings"
        return paint(f"✗ NOT READY for production: {blocking} blocking {noun}", "1;31")
    advisory = len(report.active)
    notes = [f"{advisory} below the threshold"] if advisory else []
    notes += [f"{len(report.waived)} waived"] if report.waived else []
    extra = f" ({', '.join(notes)})" if notes else ""
    return paint(f"✓ READY for production{extra}", "1;32")


def _rule_lines(result: RuleResult, report: Report, paint: _Paint) -> list[str]:
    mark = paint(_MARK[result.status], _COLOR[result.status])
    head = f"  {mark} {result.rule.name} ({result.rule.id})"
    if result.status is Status.PASSED:
        evidence = "; ".join(_one_line(e) for e in result.evidence)
        return [head + (f": {evidence}" if evidence else "")]
    if result.status in (Status.SKIPPED, Status.ERROR):
        return [head + f": {_one_line(result.reason)}"]
    lines = [head]
    for finding in result.findings:
        lines.extend(_finding_lines(finding, finding.blocking, paint))
    lines.append(f"      fix: {result.rule.fix}")
    lines.append(f"      docs: {result.rule.docs_url}")
    return lines


def _finding_lines(finding: Finding, blocking: bool, paint: _Paint) -> list[str]:
    sev = finding.severity.label.upper()
    sev = paint(sev, "1;31" if blocking else "33")
    lines = [f"    {sev} {_one_line(finding.message)}  [{finding.location}]"]
    if finding.waiver is not None:
        w = finding.waiver
        who = f", owner {w.owner}" if w.owner else ""
        label = finding.severity.label.upper()
        lines[0] = f"    {paint('WAIVED', '33')} {label} {_one_line(finding.message)}  [{finding.location}]"
        lines.append(f"      waived until {w.expires} by {w.origin or 'policy'}: {_one_line(w.reason)}{who}")
    if finding.evidence:
        lines.append(f"      evidence: {_one_line(finding.evidence)}")
    return lines


REPORTER = Reporter("console", "human-readable summary grouped by checklist item", render)
