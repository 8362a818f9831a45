"""HTML: one self-contained page to open from the CI artifacts.

The verdict, the checklist at a glance, every finding with evidence and fix, what was not judged, and
pictures where they beat text: layer sizes as an inline SVG bar chart (each bar labelled with the
Dockerfile line and instruction that made it), the largest files and the wasted space.

Self-contained and safe to open: inline CSS only, no JavaScript, no fonts, images or other external
resources (the only URLs are the rules' documentation links), light and dark colour schemes, print
styles. Every string from the report goes through `html.escape`, so a message such as `<script>` is
shown, never run; and the page's own Content-Security-Policy forbids scripts and any loading, as a
second line of defence. The output depends only on the report (no clock), so it is byte-for-byte
reproducible.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

from gatekeeper.findings import Finding, WaiverInfo
from gatekeeper.report import ChecklistItem, FileSummary, LayerSummary, Report, RuleResult, Status
from gatekeeper.reporters import RenderOptions, Reporter, clip, short_digest
from gatekeeper.text import plural
from gatekeeper.units import format_size

FINDINGS_PER_RULE = 200
"""Findings shown per rule; the rest are counted (the JSON report has them all)."""
INSTRUCTION_CHARS = 54
"""Characters of a layer's instruction shown next to its bar (the full text is in a tooltip)."""

_MARK = {Status.PASSED: "✓", Status.FAILED: "✗", Status.SKIPPED: "–", Status.ERROR: "!", Status.WAIVED: "⊘"}
_ADVISORY_MARK = "●"
_TABLE = '<div class="table-wrap"><table>'
_END_TABLE = "</table></div>"
_WITH_FINDINGS = (Status.FAILED, Status.WAIVED)


CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
"""The page's own Content-Security-Policy: no script runs and nothing loads, even if escaping failed."""


def e(value: object) -> str:
    """Escape anything from the report for HTML text and attribute values."""
    return html.escape(str(value), quote=True)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "item"


def _rich(text: str) -> str:
    """Escaped text whose paired `backticks` become <code> (rules write commands that way)."""
    parts = text.split("`")
    if len(parts) % 2 == 0:
        return e(text)
    return "".join(e(part) if i % 2 == 0 else f"<code>{e(part)}</code>" for i, part in enumerate(parts))


def _link(url: str, label: str) -> str:
    if not url.startswith(("https://", "http://")):
        return e(url)
    return f'<a href="{e(url)}">{e(label)}</a>'


def _cut(text: str, limit: int) -> str:
    return clip(" ".join(text.split()), limit)


def _pct(part: int, whole: int) -> str:
    """A CSS / SVG percentage with two decimals: stable across platforms."""
    return f"{100 * part / whole:.2f}" if whole > 0 else "0.00"


# ------------------------------------------------------------------------------------------- CSS

CSS = """
:root {
  color-scheme: light dark;
  --bg: #f6f8fa; --surface: #ffffff; --text: #1f2328; --muted: #59636e; --border: #d1d9e0;
  --accent: #0969da; --code-bg: #eff2f5;
  --pass: #1a7f37; --pass-bg: #dafbe1; --fail: #cf222e; --fail-bg: #ffebe9;
  --warn: #9a6700; --warn-bg: #fff8c5; --skip: #59636e; --skip-bg: #eff2f5;
  --error: #8250df; --error-bg: #fbefff;
  --bar: #0969da; --bar-base: #a3acb6; --track: #eff2f5; --waste: #bc4c00;
  --banner-pass: #1a7f37; --banner-fail: #cf222e; --banner-none: #8250df;
  --sev-critical: #82071e; --sev-high: #cf222e; --sev-medium: #9a6700; --sev-low: #0969da;
  --sev-info: #59636e;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --surface: #151b23; --text: #e6edf3; --muted: #9198a1; --border: #3d444d;
    --accent: #4493f8; --code-bg: #262c36;
    --pass: #3fb950; --pass-bg: #12261e; --fail: #f85149; --fail-bg: #2d1517;
    --warn: #d29922; --warn-bg: #272115; --skip: #9198a1; --skip-bg: #212830;
    --error: #ab7df8; --error-bg: #231a37;
    --bar: #4493f8; --bar-base: #656c76; --track: #212830; --waste: #f0883e;
    --banner-pass: #1f6f34; --banner-fail: #b62324; --banner-none: #6e40c9;
    --sev-critical: #a40e26; --sev-high: #b62324; --sev-medium: #845306; --sev-low: #1158c7;
    --sev-info: #4b535d;
  }
}
* { box-sizing: border-box; }
html { background: var(--bg); color: var(--text); }
body {
  margin: 0; padding: 0 1.25rem 2rem;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Helvetica Neue", Arial,
    sans-serif;
}
main, .masthead, footer { max-width: 1120px; margin: 0 auto; }
code, .mono {
  font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace;
  font-size: 0.88em;
}
code { background: var(--code-bg); border-radius: 4px; padding: 0.1em 0.35em; overflow-wrap: anywhere; }
a { color: var(--accent); }
h2 { font-size: 1.3rem; margin: 0 0 0.75rem; }
h3 { font-size: 1.05rem; margin: 0 0 0.5rem; }
h4 { font-size: 1rem; margin: 0; }
section.card {
  background: var(--surface); border: 1px solid var(--border); border-radius: 10px;
  padding: 1.25rem 1.5rem; margin: 1.25rem 0;
}
.muted { color: var(--muted); }
.masthead {
  display: flex; justify-content: space-between; gap: 1rem; flex-wrap: wrap;
  padding: 0.9rem 0 0; color: var(--muted); font-size: 0.85rem;
}
.masthead strong { color: var(--text); letter-spacing: 0.02em; }

/* verdict */
#verdict {
  color: #ffffff; border-radius: 12px; padding: 1.5rem 1.75rem; margin: 0.75rem 0 1.25rem;
  -webkit-print-color-adjust: exact; print-color-adjust: exact;
}
#verdict.ready { background: var(--banner-pass); }
#verdict.not-ready { background: var(--banner-fail); }
#verdict.no-verdict { background: var(--banner-none); }
#verdict h1 { margin: 0; font-size: 2rem; line-height: 1.2; }
#verdict .why { margin: 0.4rem 0 1rem; font-size: 1.05rem; }
#verdict .counts { display: flex; flex-wrap: wrap; gap: 0.5rem; margin: 0; padding: 0; list-style: none; }
#verdict .counts li {
  background: rgba(0, 0, 0, 0.22); border-radius: 999px; padding: 0.2rem 0.8rem; font-size: 0.9rem;
}
#verdict .counts strong { font-size: 1rem; }

/* subject */
dl.facts {
  display: grid; grid-template-columns: max-content 1fr; gap: 0.35rem 1.25rem; margin: 0;
}
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }

/* checklist tiles */
ul.tiles {
  display: grid; grid-template-columns: repeat(auto-fill, minmax(250px, 1fr)); gap: 0.75rem;
  list-style: none; margin: 0; padding: 0;
}
.tile {
  border: 1px solid var(--border); border-top: 5px solid var(--skip); border-radius: 8px;
  padding: 0.7rem 0.9rem; background: var(--surface); break-inside: avoid;
}
.tile h3 { margin: 0 0 0.2rem; font-size: 1rem; }
.tile .state { margin: 0 0 0.35rem; font-weight: 600; font-size: 0.9rem; }
.tile .summary { margin: 0; font-size: 0.88rem; overflow-wrap: anywhere; white-space: pre-line; }
.tile a { font-size: 0.85rem; }
.st-passed { border-top-color: var(--pass); } .st-passed .state { color: var(--pass); }
.st-failed { border-top-color: var(--fail); } .st-failed .state { color: var(--fail); }
.st-advisory { border-top-color: var(--warn); } .st-advisory .state { color: var(--warn); }
.st-skipped { border-top-color: var(--skip); } .st-skipped .state { color: var(--skip); }
.st-error { border-top-color: var(--error); } .st-error .state { color: var(--error); }
.st-waived { border-top-color: var(--skip); } .st-waived .state { color: var(--skip); }

/* findings */
.group + .group { margin-top: 1.5rem; }
.group > h3 { border-bottom: 1px solid var(--border); padding-bottom: 0.3rem; }
article.rule {
  border: 1px solid var(--border); border-left: 5px solid var(--fail); border-radius: 8px;
  padding: 0.8rem 1rem; margin: 0.75rem 0; break-inside: avoid;
}
article.rule.advisory { border-left-color: var(--warn); }
article.rule.waived { border-left-color: var(--skip); }
article.rule header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.25rem 0.75rem; }
.rule-id { color: var(--muted); font-size: 0.85rem; }
.rule-title { margin: 0.15rem 0 0.5rem; color: var(--muted); }
ol.finding-list { list-style: none; margin: 0; padding: 0; }
li.finding { padding: 0.55rem 0; border-top: 1px dashed var(--border); break-inside: avoid; }
.finding-meta { display: flex; flex-wrap: wrap; align-items: center; gap: 0.4rem; }
.msg { margin: 0.3rem 0 0; white-space: pre-line; overflow-wrap: anywhere; }
.evidence { margin: 0.3rem 0 0; font-size: 0.9rem; white-space: pre-line; }
.label {
  display: inline-block; min-width: 4.5rem; color: var(--muted); font-size: 0.78rem; font-weight: 600;
  text-transform: uppercase; letter-spacing: 0.04em;
}
.fix { margin: 0.6rem 0 0; padding: 0.5rem 0.75rem; background: var(--pass-bg); border-radius: 6px; }
.docs { margin: 0.4rem 0 0; font-size: 0.9rem; }
.more { margin: 0.5rem 0 0; color: var(--muted); }
.badge {
  display: inline-block; border-radius: 999px; padding: 0.05rem 0.6rem; font-size: 0.78rem;
  font-weight: 700; text-transform: uppercase; letter-spacing: 0.04em; color: #ffffff;
  -webkit-print-color-adjust: exact; print-color-adjust: exact;
}
.sev-critical { background: var(--sev-critical); } .sev-high { background: var(--sev-high); }
.sev-medium { background: var(--sev-medium); } .sev-low { background: var(--sev-low); }
.sev-info { background: var(--sev-info); }
.gate { font-size: 0.8rem; font-weight: 600; }
.gate.blocking { color: var(--fail); } .gate.advisory { color: var(--warn); }
.gate.waived { color: var(--skip); }
.waiver { margin: 0.3rem 0 0; font-size: 0.9rem; }

/* tables */
table { width: 100%; border-collapse: collapse; font-size: 0.9rem; }
caption { text-align: left; color: var(--muted); padding-bottom: 0.4rem; }
th, td {
  text-align: left; vertical-align: top; padding: 0.4rem 0.6rem; border-bottom: 1px solid var(--border);
}
th { color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.path { overflow-wrap: anywhere; }
td.barcell { width: 28%; vertical-align: middle; }
.table-wrap { overflow-x: auto; }
@media (max-width: 700px) {
  .barcell { display: none; }
  body { padding: 0 0.5rem 1rem; }
  section.card { padding: 1rem; }
  th, td { padding: 0.35rem 0.4rem; }
}
.hbar { display: block; height: 0.7rem; border-radius: 3px; background: var(--bar); min-width: 2px;
  -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.hbar.waste { background: var(--waste); }
.status-error, .status-skipped, .status-passed { white-space: nowrap; }
td.rule-cell { white-space: nowrap; }
.status-error { color: var(--error); font-weight: 600; }
.status-skipped { color: var(--skip); font-weight: 600; }
.status-passed { color: var(--pass); font-weight: 600; }

/* where the bytes are */
figure { margin: 0 0 1rem; }
figcaption { color: var(--muted); margin-bottom: 0.5rem; }
svg.chart { display: block; width: 100%; height: auto; }
svg.chart text { fill: var(--text); font-size: 13px; font-family: inherit; }
svg.chart text.head { fill: var(--muted); font-size: 12px; font-weight: 600; }
svg.chart text.code {
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px;
}
svg.chart .row.base text { fill: var(--muted); }
svg.chart text.value { font-variant-numeric: tabular-nums; }
svg.chart rect.track { fill: var(--track); }
svg.chart rect.bar { fill: var(--bar); }
svg.chart .row.base rect.bar { fill: var(--bar-base); }
svg.chart rect.waste { fill: var(--waste); }
.bytes-part + .bytes-part { margin-top: 1.5rem; }
details { margin-top: 0.5rem; }
summary { cursor: pointer; color: var(--accent); }
.legend {
  display: flex; gap: 1.25rem; flex-wrap: wrap; font-size: 0.85rem; color: var(--muted); margin: 0.4rem 0 0;
}
.swatch { display: inline-block; width: 0.8rem; height: 0.8rem; border-radius: 2px; vertical-align: -0.1rem;
  margin-right: 0.3rem; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.swatch.own { background: var(--bar); } .swatch.base { background: var(--bar-base); }
.swatch.waste { background: var(--waste); }

footer { color: var(--muted); font-size: 0.85rem; margin-top: 1.5rem; }

@media print {
  :root { --bg: #ffffff; --surface: #ffffff; }
  body { padding: 0; font-size: 11pt; }
  section.card { border: none; padding: 0; margin: 1rem 0; }
  .docs a::after { content: " (" attr(href) ")"; color: var(--muted); overflow-wrap: anywhere; }
  h2, h3 { break-after: avoid; }
  summary { color: var(--text); }
}
"""


# -------------------------------------------------------------------------------------- sections


def _gate(finding: Finding) -> str:
    if finding.waiver is not None:
        return "waived"
    return "blocking" if finding.blocking else "advisory"


def _weight(result: RuleResult, report: Report) -> int:
    """0 blocking, 1 advisory, 2 waived: the order rules are shown in."""
    if result.blocking:
        return 0
    return 1 if any(f.waiver is None for f in result.findings) else 2


def _item_state(item: ChecklistItem, report: Report) -> tuple[str, str, str]:
    """(css class, mark, words) for a checklist item."""
    rules = [r for r in report.results if r.rule.name in item.rules]
    if item.status in (Status.FAILED, Status.ADVISORY):
        blocking = sum(1 for r in rules for f in r.findings if f.blocking)
        active = sum(1 for r in rules for f in r.findings if f.waiver is None)
        if blocking:
            return "st-failed", _MARK[Status.FAILED], f"Failed: {plural(blocking, 'blocking finding')}"
        return "st-advisory", _ADVISORY_MARK, f"Advisory: {plural(active, 'finding')} below the threshold"
    if item.status is Status.WAIVED:
        waived = sum(1 for r in rules for f in r.findings if f.waiver is not None)
        return "st-waived", _MARK[Status.WAIVED], f"Waived: {plural(waived, 'finding')}"
    words = {Status.PASSED: "Passed", Status.SKIPPED: "Not checked", Status.ERROR: "Error: rule crashed"}
    return f"st-{item.status.value}", _MARK.get(item.status, "?"), words.get(item.status, item.status.value)


def _verdict(report: Report) -> list[str]:
    blocking, findings, errors = len(report.blocking), len(report.findings), len(report.errors)
    fail_on = report.policy.fail_on.label
    if errors:
        css, title = "no-verdict", "No verdict"
        mark = _MARK[Status.ERROR]
        why = f"{plural(errors, 'rule')} crashed, a bug in gatekeeper, so the image cannot be judged"
        if blocking:
            why += f"; {plural(blocking, 'blocking finding')} at or above {fail_on} as well"
    elif blocking:
        css, title, mark = "not-ready", "Not ready for production", _MARK[Status.FAILED]
        why = f"{plural(blocking, 'blocking finding')} at or above {fail_on}"
    else:
        css, title, mark = "ready", "Ready for production", _MARK[Status.PASSED]
        why = f"nothing at or above {fail_on}"
        if report.active:
            why += f"; {plural(len(report.active), 'advisory finding')} below the threshold"
        if report.waived:
            why += f"; {plural(len(report.waived), 'finding')} waived"
    counts = [
        (blocking, "blocking"),
        (findings, "findings" if findings != 1 else "finding"),
        (report.count(Status.FAILED), "rules failed"),
        (report.count(Status.PASSED), "passed"),
        (report.count(Status.SKIPPED), "not checked"),
        (errors, "errors" if errors != 1 else "error"),
    ]
    if report.waived:
        counts.insert(2, (len(report.waived), "waived"))
    counts = [(n, label) for n, label in counts if n or label in ("blocking", "findings", "passed")]
    out = [
        f'<section id="verdict" class="{css}" aria-labelledby="verdict-title">',
        f'<h1 id="verdict-title"><span aria-hidden="true">{mark}</span> {e(title)}</h1>',
        f'<p class="why">{e(why)}.</p>',
        '<ul class="counts">',
    ]
    out += [f"<li><strong>{n}</strong> {e(label)}</li>" for n, label in counts]
    out += ["</ul>", "</section>"]
    return out


def _subject(report: Report) -> list[str]:
    s = report.subject
    rows: list[tuple[str, str]] = []
    if s.reference:
        rows.append(("Image", f"<code>{e(s.reference)}</code>"))
        if s.digest:
            rows.append(("Digest", f'<code title="{e(s.digest)}">{e(short_digest(s.digest))}</code>'))
        if s.platform:
            rows.append(("Platform", e(s.platform)))
        if s.size is not None:
            size = format_size(s.size)
            if s.compressed_size is not None:
                size += f" ({format_size(s.compressed_size)} compressed)"
            rows.append(("Size", e(size) + f", {plural(s.layers, 'layer')}"))
        if s.created:
            rows.append(("Created", e(s.created)))
    else:
        rows.append(("Image", "none: repository files only"))
    origins = "<br>".join(
        f'<code>{e(origin)}</code> <span class="muted mono" title="{e(digest)}">'
        f"{e(short_digest(digest))}</span>"
        for origin, digest in report.policy.sources
    )
    rows.append(("Policy", origins or f"<code>{e(report.policy.name)}</code>"))
    if report.profile:
        rows.append(("Profile", f"<code>{e(report.profile)}</code>"))
    rows.append(("Fails on", f"<strong>{e(report.policy.fail_on.label)}</strong> and above"))
    out = [
        '<section id="subject" class="card" aria-labelledby="subject-title">',
        '<h2 id="subject-title">Image and policy</h2>',
        '<dl class="facts">',
    ]
    out += [f"<dt>{e(k)}</dt><dd>{v}</dd>" for k, v in rows]
    out += ["</dl>", "</section>"]
    return out


def _checklist(report: Report) -> list[str]:
    out = [
        '<section id="checklist" class="card" aria-labelledby="checklist-title">',
        '<h2 id="checklist-title">Checklist</h2>',
    ]
    if not report.checklist:
        return [*out, '<p class="muted">No rule ran.</p>', "</section>"]
    out.append('<ul class="tiles">')
    failing = {r.rule.checklist for r in report.results if r.status in _WITH_FINDINGS}
    for item in report.checklist:
        css, mark, words = _item_state(item, report)
        out.append(f'<li class="tile {css}" id="tile-{_slug(item.name)}">')
        out.append(f"<h3>{e(item.name)}</h3>")
        out.append(f'<p class="state"><span aria-hidden="true">{mark}</span> {e(words)}</p>')
        out.append(f'<p class="summary">{_rich(clip(item.summary, 220))}</p>')
        if item.name in failing:
            out.append(f'<a href="#item-{_slug(item.name)}">See the findings</a>')
        out.append("</li>")
    out += ["</ul>", "</section>"]
    return out


def _waiver(waiver: WaiverInfo) -> str:
    who = "".join(f", {e(v)}" for v in (waiver.owner, waiver.ticket) if v)
    return (
        f'<p class="waiver"><span class="label">Waived</span> until {e(waiver.expires)}: '
        f'{e(waiver.reason)} <span class="muted">(<code>{e(waiver.origin)}</code>{who})</span></p>'
    )


def _finding(finding: Finding) -> list[str]:
    sev = finding.severity.label
    gate = _gate(finding)
    out = [
        '<li class="finding">',
        '<div class="finding-meta">',
        f'<span class="badge sev-{sev}">{e(sev)}</span>',
        f'<span class="gate {gate}">{gate}</span>',
        f'<code class="loc">{e(finding.location)}</code>',
        "</div>",
        f'<p class="msg">{_rich(finding.message)}</p>',
    ]
    if finding.evidence:
        out.append(f'<p class="evidence"><span class="label">Evidence</span> {_rich(finding.evidence)}</p>')
    if finding.waiver is not None:
        out.append(_waiver(finding.waiver))
    out.append("</li>")
    return out


def _rule(result: RuleResult, report: Report) -> list[str]:
    rule = result.rule
    css = ("rule", "rule advisory", "rule waived")[_weight(result, report)]
    # blocking first, waived last, then by severity; stable within (the engine's order)
    ordered = sorted(result.findings, key=lambda f: (f.waiver is not None, -f.severity))
    out = [
        f'<article class="{css}" id="rule-{e(rule.id)}">',
        "<header>",
        f"<h4><code>{e(rule.name)}</code></h4>",
        f'<span class="rule-id">{e(rule.id)}</span>',
        "</header>",
        f'<p class="rule-title">{e(rule.title)}</p>',
        '<ol class="finding-list">',
    ]
    for finding in ordered[:FINDINGS_PER_RULE]:
        out += _finding(finding)
    out.append("</ol>")
    hidden = len(ordered) - FINDINGS_PER_RULE
    if hidden > 0:
        out.append(f'<p class="more">… and {plural(hidden, "more finding")}: see the JSON report.</p>')
    out.append(f'<p class="fix"><span class="label">Fix</span> {_rich(rule.fix)}</p>')
    if rule.docs_url:
        out.append(f'<p class="docs">{_link(rule.docs_url, f"How to fix {rule.name}")}</p>')
    out.append("</article>")
    return out


def _findings(report: Report) -> list[str]:
    out = [
        '<section id="findings" class="card" aria-labelledby="findings-title">',
        '<h2 id="findings-title">Findings</h2>',
    ]
    failed = [r for r in report.results if r.status in _WITH_FINDINGS]
    if not failed:
        return [*out, '<p class="muted">No findings.</p>', "</section>"]
    names = [item.name for item in report.checklist]
    names += sorted({r.rule.checklist for r in failed} - set(names))
    # blocking items first, then advisory, then waived ones; checklist order within each
    groups = [(name, [r for r in failed if r.rule.checklist == name]) for name in names]
    groups = [(name, rules) for name, rules in groups if rules]
    groups.sort(key=lambda g: min(_weight(r, report) for r in g[1]))
    for name, rules in groups:
        slug = _slug(name)
        out.append(f'<section class="group" id="item-{slug}" aria-labelledby="item-{slug}-title">')
        out.append(f'<h3 id="item-{slug}-title">{e(name)}</h3>')
        for result in sorted(rules, key=lambda r: _weight(r, report)):
            out += _rule(result, report)
        out.append("</section>")
    out.append("</section>")
    return out


def _unused_waivers(report: Report) -> list[str]:
    if not report.unused_waivers:
        return []
    out = [
        '<section id="waivers" class="card" aria-labelledby="waivers-title">',
        '<h2 id="waivers-title">Unused waivers</h2>',
        '<p class="muted">These waivers matched no finding: delete them from the policy.</p>',
        _TABLE,
        '<thead><tr><th scope="col">Rule</th><th scope="col">Reason</th><th scope="col">Expires</th>'
        '<th scope="col">Policy file</th></tr></thead>',
        "<tbody>",
    ]
    for w in report.unused_waivers:
        who = "".join(f", {e(v)}" for v in (w.owner, w.ticket) if v)
        out.append(
            f"<tr><td><code>{e(w.rule)}</code></td><td>{e(w.reason)}{who}</td><td>{e(w.expires)}</td>"
            f'<td class="path"><code>{e(w.origin)}</code></td></tr>'
        )
    out += ["</tbody>", _END_TABLE, "</section>"]
    return out


def _not_judged(report: Report) -> list[str]:
    results = [r for r in report.results if r.status is Status.ERROR]
    results += [r for r in report.results if r.status is Status.SKIPPED]
    if not results:
        return []
    out = [
        '<section id="not-judged" class="card" aria-labelledby="not-judged-title">',
        '<h2 id="not-judged-title">Not judged</h2>',
        '<p class="muted">Rules that crashed (a bug in gatekeeper: no verdict is possible) '
        "or were not checked in this run.</p>",
        _TABLE,
        '<thead><tr><th scope="col">Rule</th><th scope="col">Checklist item</th>'
        '<th scope="col">Status</th><th scope="col">Reason</th></tr></thead>',
        "<tbody>",
    ]
    for r in results:
        status = "error" if r.status is Status.ERROR else "skipped"
        words = "Error" if r.status is Status.ERROR else "Not checked"
        out.append(
            f'<tr id="rule-{e(r.rule.id)}">{_rule_cell(r)}<td>{e(r.rule.checklist)}</td>'
            f'<td class="status-{status}">{words}</td><td>{e(r.reason or "no reason given")}</td></tr>'
        )
    out += ["</tbody>", _END_TABLE, "</section>"]
    return out


def _rule_cell(result: RuleResult) -> str:
    rule = result.rule
    return (
        f'<td class="rule-cell"><code>{e(rule.name)}</code><br><span class="rule-id">{e(rule.id)}</span></td>'
    )


def _passed(report: Report) -> list[str]:
    results = [r for r in report.results if r.status is Status.PASSED]
    if not results:
        return []
    out = [
        '<section id="passed" class="card" aria-labelledby="passed-title">',
        '<h2 id="passed-title">Passed</h2>',
        _TABLE,
        '<thead><tr><th scope="col">Rule</th><th scope="col">Checklist item</th>'
        '<th scope="col">Evidence</th></tr></thead>',
        "<tbody>",
    ]
    for r in results:
        evidence = "<br>".join(_rich(line) for line in r.evidence) or '<span class="muted">passed</span>'
        cells = f"{_rule_cell(r)}<td>{e(r.rule.checklist)}</td><td>{evidence}</td>"
        out.append(f'<tr id="rule-{e(r.rule.id)}">{cells}</tr>')
    out += ["</tbody>", _END_TABLE, "</section>"]
    return out


# ------------------------------------------------------------------------------- bytes: pictures

_W = 1000
_ROW = 30
_HEAD = 26
_BAR_X = 600
_BAR_MAX = 280
_COL_LINE = 44
_COL_CMD = 150


def _basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _layer_where(layer: LayerSummary, dockerfile: str | None) -> str:
    if layer.line is not None:
        return f"line {layer.line}"
    return "base image" if dockerfile is not None else "–"


def _layers_chart(report: Report) -> list[str]:
    layers = report.layers
    total = sum(layer.size or 0 for layer in layers)
    largest = max((layer.size or 0 for layer in layers), default=0)
    dockerfile = report.dockerfile
    height = _HEAD + _ROW * len(layers) + 6
    caption = f"Uncompressed size of each of the {plural(len(layers), 'layer')} ({format_size(total)})"
    if dockerfile:
        caption += f", with the line of {dockerfile} that made it"
    out = [
        '<figure id="layers-chart" class="bytes-part">',
        f"<figcaption>{e(caption)}.</figcaption>",
        f'<svg class="chart" viewBox="0 0 {_W} {height}" width="{_W}" height="{height}" role="img" '
        'aria-labelledby="layers-chart-title">',
        f'<title id="layers-chart-title">{e(caption)}</title>',
        f'<text class="head" x="0" y="16">Layer</text>'
        f'<text class="head" x="{_COL_LINE}" y="16">{e(_basename(dockerfile or "Dockerfile"))}</text>'
        f'<text class="head" x="{_COL_CMD}" y="16">Instruction</text>'
        f'<text class="head" x="{_BAR_X}" y="16">Size</text>',
    ]
    wasted = _wasted_by_layer(report)
    for row, layer in enumerate(layers):
        y = _HEAD + row * _ROW
        base = " base" if layer.line is None and dockerfile is not None else ""
        size = layer.size or 0
        width = f"{_BAR_MAX * size / largest:.1f}" if largest else "0.0"
        if size and width == "0.0":
            width = "0.5"
        value = format_size(layer.size) if layer.size is not None else "size unknown"
        if layer.size is not None and total:
            share = 100 * size / total
            value += f" · {share:.0f}%" if share >= 1 or not size else " · <1%"
        where = _layer_where(layer, dockerfile)
        instruction = _cut(layer.created_by, INSTRUCTION_CHARS)
        tooltip = f"Layer {layer.index}, {where}: {layer.created_by} ({value})"
        waste = ""
        if wasted.get(layer.index) and largest:
            waste_w = min(_BAR_MAX * wasted[layer.index] / largest, float(width))
            waste_x = _BAR_X + float(width) - waste_w
            waste = (
                f'<rect class="waste" x="{waste_x:.1f}" y="{y + 6}" width="{waste_w:.1f}" '
                'height="18" rx="3"/>'
            )
            tooltip += f"; {format_size(wasted[layer.index])} of it hidden by later layers"
        text_y = y + 19
        value_x = _BAR_X + float(width) + 8
        out += [
            f'<g class="row{base}">',
            f"<title>{e(tooltip)}</title>",
            f'<text x="0" y="{text_y}">#{layer.index}</text>',
            f'<text x="{_COL_LINE}" y="{text_y}">{e(where)}</text>',
            f'<text class="code" x="{_COL_CMD}" y="{text_y}">{e(instruction)}</text>',
            f'<rect class="track" x="{_BAR_X}" y="{y + 6}" width="{_BAR_MAX}" height="18" rx="3"/>',
            f'<rect class="bar" x="{_BAR_X}" y="{y + 6}" width="{width}" height="18" rx="3"/>{waste}',
            f'<text class="value" x="{value_x:.1f}" y="{text_y}">{e(value)}</text>',
            "</g>",
        ]
    out.append("</svg>")
    legend = ['<span><span class="swatch own"></span>made by the Dockerfile</span>']
    if dockerfile is None:
        legend = ["<span>no Dockerfile given: layers are not matched to lines</span>"]
    elif any(layer.line is None for layer in layers):
        legend.append(
            '<span><span class="swatch base"></span>from the base image (no Dockerfile line)</span>'
        )
    if wasted:
        legend.append('<span><span class="swatch waste"></span>hidden by a later layer (wasted)</span>')
    out.append(f'<p class="legend">{"".join(legend)}</p>')
    out += _layer_table(layers, dockerfile, wasted)
    out.append("</figure>")
    return out


def _wasted_by_layer(report: Report) -> dict[int, int]:
    """Bytes per layer that a later layer hides (of the wasted files the report lists)."""
    wasted: dict[int, int] = {}
    for f in report.wasted_files:
        wasted[f.layer] = wasted.get(f.layer, 0) + f.size
    return wasted


def _layer_table(layers: Sequence[LayerSummary], dockerfile: str | None, wasted: dict[int, int]) -> list[str]:
    out = [
        "<details>",
        "<summary>All layers as a table, with full instructions</summary>",
        _TABLE,
        '<thead><tr><th scope="col" class="num">Layer</th><th scope="col" class="num">Size</th>'
        '<th scope="col" class="num">Compressed</th><th scope="col" class="num">Wasted</th>'
        '<th scope="col">Dockerfile</th>'
        '<th scope="col">Instruction</th></tr></thead>',
        "<tbody>",
    ]
    for layer in layers:
        size = format_size(layer.size) if layer.size is not None else "?"
        packed = format_size(layer.compressed_size) if layer.compressed_size is not None else "?"
        waste = format_size(wasted[layer.index]) if wasted.get(layer.index) else "–"
        out.append(
            f'<tr><td class="num">{layer.index}</td><td class="num">{e(size)}</td>'
            f'<td class="num">{e(packed)}</td><td class="num">{e(waste)}</td>'
            f"<td>{e(_layer_where(layer, dockerfile))}</td>"
            f'<td class="path"><code>{e(layer.created_by)}</code></td></tr>'
        )
    out += ["</tbody>", _END_TABLE, "</details>"]
    return out


def _file_rows(files: Iterable[FileSummary], wasted: bool) -> list[str]:
    files = list(files)
    largest = max((f.size for f in files), default=0)
    rows = []
    for f in files:
        cells = [
            f'<td class="path"><code>{e(f.path)}</code></td>',
            f'<td class="num">{e(format_size(f.size))}</td>',
            f'<td class="num">{f.layer}</td>',
        ]
        if wasted:
            cells.append(f'<td class="num">{f.removed_in if f.removed_in is not None else "?"}</td>')
        bar = "hbar waste" if wasted else "hbar"
        width = _pct(f.size, largest)
        cells.append(
            f'<td class="barcell" aria-hidden="true"><span class="{bar}" style="width: {width}%"></span></td>'
        )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return rows


def _largest(report: Report) -> list[str]:
    out = [
        '<section id="largest-files" class="bytes-part" aria-labelledby="largest-files-title">',
        '<h3 id="largest-files-title">Largest files</h3>',
    ]
    if not report.largest_files:
        return [*out, '<p class="muted">File sizes were not read in this run.</p>', "</section>"]
    out += [
        _TABLE,
        '<thead><tr><th scope="col">File</th><th scope="col" class="num">Size</th>'
        '<th scope="col" class="num">Layer</th><th scope="col" class="barcell">Relative size</th>'
        "</tr></thead>",
        "<tbody>",
        *_file_rows(report.largest_files, wasted=False),
        "</tbody>",
        _END_TABLE,
        "</section>",
    ]
    return out


def _wasted(report: Report) -> list[str]:
    out = [
        '<section id="wasted-space" class="bytes-part" aria-labelledby="wasted-space-title">',
        '<h3 id="wasted-space-title">Wasted space</h3>',
    ]
    if not report.wasted_files:
        words = "No file is hidden by a later layer."
        if not report.largest_files:
            words = "File sizes were not read in this run."
        return [*out, f'<p class="muted">{words}</p>', "</section>"]
    total = sum(f.size for f in report.wasted_files)
    count = len(report.wasted_files)
    out += [
        f"<p><strong>{e(format_size(total))}</strong> in {plural(count, 'file')} that a later layer deletes "
        f"or replaces: {'it still ships' if count == 1 else 'they still ship'} in the layer that added "
        f"{'it' if count == 1 else 'them'}. Remove files in the same <code>RUN</code> that creates them.</p>",
        _TABLE,
        '<thead><tr><th scope="col">File</th><th scope="col" class="num">Size</th>'
        '<th scope="col" class="num">Added in layer</th><th scope="col" class="num">Hidden by layer</th>'
        '<th scope="col" class="barcell">Relative size</th></tr></thead>',
        "<tbody>",
        *_file_rows(report.wasted_files, wasted=True),
        "</tbody>",
        _END_TABLE,
        "</section>",
    ]
    return out


def _bytes(report: Report) -> list[str]:
    out = [
        '<section id="bytes" class="card" aria-labelledby="bytes-title">',
        '<h2 id="bytes-title">Where the bytes are</h2>',
    ]
    if report.layers:
        out += _layers_chart(report)
    else:
        out.append('<p id="layers-chart" class="muted">No layers: no image was read.</p>')
    out += _largest(report)
    out += _wasted(report)
    out.append("</section>")
    return out


def _inputs(report: Report) -> list[str]:
    out = [
        '<section id="inputs" class="card" aria-labelledby="inputs-title">',
        '<h2 id="inputs-title">Inputs</h2>',
    ]
    if not report.inputs:
        return [*out, '<p class="muted">No repository files were used.</p>', "</section>"]
    out += [
        _TABLE,
        '<thead><tr><th scope="col">Kind</th><th scope="col">Path</th><th scope="col">How</th></tr></thead>',
        "<tbody>",
    ]
    out += [
        f'<tr><td>{e(kind)}</td><td class="path"><code>{e(path)}</code></td><td>{e(how)}</td></tr>'
        for kind, path, how in report.inputs
    ]
    out += ["</tbody>", _END_TABLE, "</section>"]
    return out


def _title(report: Report) -> str:
    if report.errors:
        verdict = "no verdict"
    elif report.blocking:
        verdict = "not ready"
    else:
        verdict = "ready"
    subject = report.subject.reference or "repository files"
    return f"gatekeeper: {verdict} · {subject}"


def render(report: Report, options: RenderOptions) -> str:
    started = report.started_at.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="color-scheme" content="light dark">',
        f'<meta name="generator" content="{e(report.tool)} {e(report.version)}">',
        f"<title>{e(_title(report))}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        '<header class="masthead">',
        f"<span><strong>{e(report.tool)}</strong> production-readiness report</span>",
        f"<span>{e(started)} · {report.duration_s:.2f} s</span>",
        "</header>",
        "<main>",
        *_verdict(report),
        *_subject(report),
        *_checklist(report),
        *_findings(report),
        *_not_judged(report),
        *_unused_waivers(report),
        *_passed(report),
        *_bytes(report),
        *_inputs(report),
        "</main>",
        "<footer>",
        f"<p>Made by {e(report.tool)} {e(report.version)}. This page is self-contained: no scripts, "
        "no external resources; it reads the same offline and printed.</p>",
        "</footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


REPORTER = Reporter("html", "self-contained HTML page with the checklist, findings and layer charts", render)
