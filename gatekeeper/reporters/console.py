"""Console: ready / not ready first, then the checklist, each rule with evidence or fix."""

from __future__ import annotations

from gatekeeper.findings import Finding
from gatekeeper.report import Report, RuleResult, Status
from gatekeeper.reporters import RenderOptions, Reporter
from gatekeeper.text import one_line
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


def render(report: Report, options: RenderOptions) -> str:
    paint = _Paint(options.color)
    out: list[str] = []
    s = report.subject
    size = f", {format_size(s.size)}" if s.size is not None else ""
    digest = s.digest.split(":")[-1][:12] if s.digest else "?"
    if s.reference:
        out.append(f"gatekeeper {report.version}: {one_line(s.reference)}")
        layers = f"{s.layers} layer{'s' if s.layers != 1 else ''}"
        out.append(f"  {one_line(s.source)}, {one_line(digest)}, {one_line(s.platform)}, {layers}{size}")
    else:
        out.append(f"gatekeeper {report.version}: no image, judging the repository files only")
    origins = ", ".join(one_line(origin) for origin, _ in report.policy.sources) or one_line(
        report.policy.name
    )
    profile = f", profile {one_line(report.profile)}" if report.profile else ""
    out.append(f"  policy {one_line(origins)}{profile}, fails on {report.policy.fail_on.label} and above")
    if report.inputs:
        used = ", ".join(f"{one_line(path)} ({how})" for _, path, how in report.inputs)
        out.append(f"  inputs {used}")
    out.append("")
    out.append(_headline(report, paint))
    for item in report.checklist:
        out.append("")
        status = paint(f"{_MARK[item.status]} {item.status.value}", _COLOR[item.status])
        out.append(paint(item.name, "1") + f"  {status}")
        for result in report.results:
            if result.rule.name in item.rules:
                out.extend(_rule_lines(result, paint))
    if report.unused_waivers:
        out.append("")
        out.append(paint("Unused waivers", "1") + "  (they matched nothing; delete them or fix their scope)")
        for w in report.unused_waivers:
            by = one_line(w.origin or "policy")
            out.append(f"  ~ {w.rule} from {by}: {one_line(w.reason)} (expires {w.expires})")
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


def _rule_lines(result: RuleResult, paint: _Paint) -> list[str]:
    mark = paint(_MARK[result.status], _COLOR[result.status])
    head = f"  {mark} {result.rule.name} ({result.rule.id})"
    if result.status is Status.PASSED:
        evidence = "; ".join(one_line(e) for e in result.evidence)
        return [head + (f": {evidence}" if evidence else "")]
    if result.status in (Status.SKIPPED, Status.ERROR):
        return [head + f": {one_line(result.reason)}"]
    lines = [head]
    for finding in result.findings:
        lines.extend(_finding_lines(finding, paint))
    lines.append(f"      fix: {result.rule.fix}")
    lines.append(f"      docs: {result.rule.docs_url}")
    return lines


def _finding_lines(finding: Finding, paint: _Paint) -> list[str]:
    text = f"{one_line(finding.message)}  [{one_line(finding.location)}]"
    label = finding.severity.label.upper()
    w = finding.waiver
    if w is None:
        lines = [f"    {paint(label, '1;31' if finding.blocking else '33')} {text}"]
    else:
        who = f", owner {one_line(w.owner)}" if w.owner else ""
        by = one_line(w.origin or "policy")
        lines = [
            f"    {paint('WAIVED', '33')} {label} {text}",
            f"      waived until {w.expires} by {by}: {one_line(w.reason)}{who}",
        ]
    if finding.evidence:
        lines.append(f"      evidence: {one_line(finding.evidence)}")
    return lines


REPORTER = Reporter("console", "human-readable summary grouped by checklist item", render, streams=True)
