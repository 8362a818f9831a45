"""Markdown (GitHub-flavoured): a PR / MR comment or a GitHub job summary.

Verdict first, then the checklist as a table, then every failure with its location, evidence and fix;
rules that could not run; passed rules and the layers folded into `<details>`.

Everything that comes from the report is escaped: Markdown punctuation gets a backslash, `<`, `>` and
`&` become entities, newlines become `<br>` (so a message cannot break a table row, open a tag or
format the comment), and `@name` gets a word joiner so a message cannot mention (notify) anyone.
Only the catalogue's fix hints keep their `code` spans. Findings are capped per rule, and the whole
text is kept under `max_bytes` (GitHub job summaries take 1 MiB; a PR comment takes 65,536
characters, pass that to `render_markdown` when posting one).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from gatekeeper.findings import Finding, WaiverInfo
from gatekeeper.report import ChecklistItem, LayerSummary, Report, RuleResult, Status
from gatekeeper.reporters import RenderOptions, Reporter, clip, short_digest
from gatekeeper.text import plural
from gatekeeper.units import format_size

MAX_BYTES = 1024 * 1024 - 1024
"""GitHub's job summary limit (1 MiB), with room for a footer another step appends."""
PR_COMMENT_CHARS = 65_536
"""GitHub's limit for an issue or PR comment body (characters)."""
FINDINGS_PER_RULE = 50
CAPS = (FINDINGS_PER_RULE, 10, 3, 1, 0)
"""Findings listed per rule, tried in turn until the text fits."""
MAX_TEXT = 1000
"""Characters of one message or evidence line before it is cut."""
MAX_INSTRUCTION = 100

_SPECIAL = re.compile(r"([\\`*_\[\]|~#!])")
_MENTION = re.compile(r"(?<![\w.+-])@(?=\w)")
_NEWLINE = re.compile(r"\r\n|\r|\n")

_STATUS = {
    Status.PASSED: "✅ passed",
    Status.FAILED: "❌ failed",
    Status.SKIPPED: "⏭️ skipped",
    Status.ERROR: "⚠️ error",
    Status.WAIVED: "🔕 waived",
}
ADVISORY = "🔸 advisory"


def _cut(text: str, limit: int = MAX_TEXT) -> str:
    return clip(text, limit)


def text(value: str, limit: int = MAX_TEXT) -> str:
    """Literal text for a paragraph, list item or table cell: no formatting, tags, mentions or rows."""
    return _escape(_cut(value.strip(), limit))


def _escape(value: str) -> str:
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _SPECIAL.sub(r"\\\1", value)
    value = _MENTION.sub("@\u2060", value)
    return _NEWLINE.sub("<br>", value)


def code(value: str, *, in_table: bool = False, limit: int = MAX_TEXT) -> str:
    """A code span showing `value` literally (whitespace runs, newlines included, become one space)."""
    value = " ".join(_cut(value, limit).split())
    if not value:
        return ""
    if in_table:
        value = value.replace("|", "\\|")  # GFM splits cells before parsing code spans
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def hint(value: str) -> str:
    """A catalogue fix hint: its `code` spans stay code, the rest is literal text."""
    parts = value.split("`")
    if len(parts) % 2 == 0:  # unbalanced: show it all as text
        return text(value)
    return "".join(_escape(part) if i % 2 == 0 else code(part) for i, part in enumerate(parts))


def _headline(report: Report) -> list[str]:
    if report.errors:
        names = ", ".join(code(r.rule.name) for r in report.errors)
        lines = [f"## ⚠️ No verdict: {plural(len(report.errors), 'rule')} could not run"]
        lines += ["", f"{names} failed with an error, a bug in gatekeeper; the gate cannot judge this image."]
        if report.blocking:
            lines[-1] += f" Also {plural(len(report.blocking), 'blocking finding')}."
        return lines
    if report.blocking:
        return [f"## ❌ Not ready for production: {plural(len(report.blocking), 'blocking finding')}"]
    notes = []
    if report.active:
        notes.append(f"{plural(len(report.active), 'advisory finding')} below the threshold")
    if report.waived:
        notes.append(f"{plural(len(report.waived), 'waived finding')}")
    extra = f" ({', '.join(notes)})" if notes else ""
    return [f"## ✅ Ready for production{extra}"]


def _subject(report: Report) -> list[str]:
    s = report.subject
    if s.reference:
        parts = [code(s.reference)]
        if s.digest:
            parts.append(code(short_digest(s.digest)))
        if s.size is not None:
            size = format_size(s.size)
            if s.compressed_size is not None:
                size += f" ({format_size(s.compressed_size)} compressed)"
            parts.append(size)
        if s.platform:
            parts.append(text(s.platform))
        parts.append(plural(s.layers, "layer"))
        image = "**Image** " + " · ".join(parts)
    else:
        image = "**Image** none (repository files only)"
    origins = ", ".join(code(origin) for origin, _ in report.policy.sources) or code(report.policy.name)
    policy = f"**Policy** {origins}"
    if report.profile:
        policy += f" · profile {code(report.profile)}"
    policy += f" · fails on **{report.policy.fail_on.label}** and above"
    return [image + "  ", policy]


def _item_status(item: ChecklistItem, report: Report) -> str:
    if item.status in (Status.FAILED, Status.ADVISORY):
        blocking = any(f.blocking for r in report.results if r.rule.name in item.rules for f in r.findings)
        return _STATUS[Status.FAILED] if blocking else ADVISORY
    return _STATUS.get(item.status, text(item.status.value))


def _checklist(report: Report) -> list[str]:
    if not report.checklist:
        return []
    lines = ["### Checklist", "", "| Item | Status | Summary |", "| :--- | :--- | :--- |"]
    lines += [
        f"| {text(item.name)} | {_item_status(item, report)} | {text(item.summary, 300)} |"
        for item in report.checklist
    ]
    return lines


def _by_checklist(report: Report, statuses: Iterable[Status]) -> list[RuleResult]:
    """Results with these statuses, in checklist order (then catalogue order)."""
    wanted = set(statuses)
    order = {item.name: i for i, item in enumerate(report.checklist)}
    chosen = [r for r in report.results if r.status in wanted]
    return sorted(chosen, key=lambda r: order.get(r.rule.checklist, len(order)))


def _waiver(waiver: WaiverInfo) -> str:
    extra = "".join(f", {text(v)}" for v in (waiver.owner, waiver.ticket) if v)
    return f"waived until {text(waiver.expires)}: {text(waiver.reason)} ({code(waiver.origin)}{extra})"


def _finding(finding: Finding) -> list[str]:
    weight = "waived" if finding.waiver is not None else ("blocking" if finding.blocking else "advisory")
    where = code(str(finding.location))
    lines = [f"- **{finding.severity.label}** ({weight}) {where}: {text(finding.message)}"]
    if finding.evidence:
        lines.append(f"  <br>evidence: {text(finding.evidence)}")
    if finding.waiver is not None:
        lines.append(f"  <br>{_waiver(finding.waiver)}")
    return lines


def _failures(report: Report, cap: int, status: Status) -> list[str]:
    """The rules with this status (FAILED or WAIVED), blocking ones first, each with its findings."""
    failed = sorted(_by_checklist(report, [status]), key=lambda r: not r.blocking)
    if not failed:
        return []
    lines = ["### Failures" if status is Status.FAILED else "### Waived"]
    for result in failed:
        rule = result.rule
        mark = "❌" if result.blocking else "🔸" if status is Status.FAILED else "🔕"
        lines += ["", f"#### {mark} {text(rule.checklist)}: {code(rule.name)} ({text(rule.id)})", ""]
        lines.append(text(rule.title))
        lines.append("")
        # blocking first, waived last, then by severity; stable within (the engine's order)
        ordered = sorted(result.findings, key=lambda f: (f.waiver is not None, -f.severity))
        for finding in ordered[:cap]:
            lines += _finding(finding)
        hidden = len(ordered) - min(cap, len(ordered))
        if hidden:
            lines.append(f"- … and {plural(hidden, 'more finding')} (see the JSON or HTML report)")
        lines += [
            "",
            f"**Fix:** {hint(rule.fix)}" + (f" · [docs]({_url(rule.docs_url)})" if rule.docs_url else ""),
        ]
    return lines


def _url(url: str) -> str:
    """A link destination: only characters that cannot end or break the link."""
    return re.sub(r"[\s()<>\\]", lambda m: f"%{ord(m.group()):02X}", url)


def _not_run(report: Report) -> list[str]:
    results = _by_checklist(report, [Status.ERROR]) + _by_checklist(report, [Status.SKIPPED])
    if not results:
        return []
    lines = ["### Not judged", ""]
    for r in results:
        state = "errored" if r.status is Status.ERROR else "skipped"
        mark = "⚠️" if r.status is Status.ERROR else "⏭️"
        reason = text(r.reason) if r.reason else "no reason given"
        lines.append(
            f"- {mark} {code(r.rule.name)} ({text(r.rule.id)}, {text(r.rule.checklist)}) {state}: {reason}"
        )
    return lines


def _unused_waivers(report: Report) -> list[str]:
    if not report.unused_waivers:
        return []
    lines = ["### Unused waivers", "", "These waivers matched no finding; delete them from the policy.", ""]
    for w in report.unused_waivers:
        extra = "".join(f", {text(v)}" for v in (w.owner, w.ticket) if v)
        lines.append(
            f"- {code(w.rule)} in {code(w.origin)}, until {text(w.expires)}: {text(w.reason)}{extra}"
        )
    return lines


def _passed(report: Report) -> list[str]:
    results = _by_checklist(report, [Status.PASSED])
    if not results:
        return []
    lines = ["<details>", f"<summary>✅ {plural(len(results), 'passed rule')}</summary>", ""]
    for r in results:
        head = f"- {code(r.rule.name)} ({text(r.rule.id)}, {text(r.rule.checklist)})"
        evidence = [text(e, 300) for e in r.evidence[:10]]
        if len(r.evidence) > 10:
            evidence.append(f"… and {len(r.evidence) - 10} more")
        lines.append(head + (": " + "; ".join(evidence) if evidence else ""))
    lines += ["", "</details>"]
    return lines


def _layer_row(layer: LayerSummary, dockerfile: str | None) -> str:
    size = format_size(layer.size) if layer.size is not None else "?"
    if dockerfile is None:
        where = "–"
    else:
        where = text(f"{dockerfile}:{layer.line}") if layer.line is not None else "base image"
    instruction = code(layer.created_by, in_table=True, limit=MAX_INSTRUCTION)
    return f"| {layer.index} | {size} | {where} | {instruction} |"


def _bytes(report: Report) -> list[str]:
    lines: list[str] = []
    if report.layers:
        known = [layer.size for layer in report.layers if layer.size is not None]
        total = f", {format_size(sum(known))}" if known else ""
        dockerfile = report.dockerfile
        lines += ["", "<details>", f"<summary>Layers ({len(report.layers)}{total})</summary>", ""]
        lines += ["| Layer | Size | Made by | Instruction |", "| ---: | ---: | :--- | :--- |"]
        lines += [_layer_row(layer, dockerfile) for layer in report.layers]
        lines += ["", "</details>"]
    if report.wasted_files:
        wasted = sum(f.size for f in report.wasted_files)
        lines += ["", "<details>"]
        lines.append(
            f"<summary>Wasted space: {format_size(wasted)} in "
            f"{plural(len(report.wasted_files), 'hidden file')}</summary>"
        )
        lines += ["", "| File | Size | Added in layer | Hidden by layer |", "| :--- | ---: | ---: | ---: |"]
        for f in report.wasted_files:
            removed = str(f.removed_in) if f.removed_in is not None else "?"
            lines.append(f"| {code(f.path, in_table=True)} | {format_size(f.size)} | {f.layer} | {removed} |")
        lines += ["", "</details>"]
    return lines


def _footer(report: Report) -> list[str]:
    counts = ", ".join(
        f"{report.count(st)} {st.value}"
        for st in (Status.FAILED, Status.PASSED, Status.SKIPPED, Status.ERROR, Status.WAIVED)
        if report.count(st) or st is not Status.WAIVED
    )
    tool = text(f"{report.tool} {report.version}")
    return [
        "",
        f"<sub>{tool} · {plural(len(report.results), 'rule')}: {counts} · {report.duration_s:.1f} s</sub>",
    ]


def _render(report: Report, cap: int) -> str:
    blocks = [
        _headline(report),
        _subject(report),
        _checklist(report),
        _failures(report, cap, Status.FAILED),
        _not_run(report),
        _failures(report, cap, Status.WAIVED),
        _unused_waivers(report),
        _passed(report) + _bytes(report),
    ]
    body = "\n\n".join("\n".join(block) for block in blocks if block)
    return body + "\n" + "\n".join(_footer(report)) + "\n"


def render_markdown(report: Report, *, max_bytes: int = MAX_BYTES) -> str:
    """The Markdown for `report`, listing fewer findings per rule until it fits in `max_bytes`."""
    out = ""
    for cap in CAPS:
        out = _render(report, cap)
        if len(out.encode("utf-8")) <= max_bytes:
            return out
    note = "\n\n**Report truncated to fit; see the JSON or HTML report for everything.**\n"
    budget = max_bytes - len(note.encode("utf-8"))
    cut = out.encode("utf-8")[: max(budget, 0)].decode("utf-8", "ignore")
    return cut[: cut.rfind("\n") + 1] + note


def render(report: Report, options: RenderOptions) -> str:
    return render_markdown(report)


REPORTER = Reporter(
    "markdown", "GitHub-flavoured Markdown for a PR/MR comment or job summary", render, streams=True
)
