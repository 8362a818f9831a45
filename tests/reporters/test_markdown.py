"""Markdown reporter: structure, escaping in table cells and text, caps and the size budget.

The GFM checks render the Markdown with `cmark-gfm` (GitHub's own Markdown library, Debian package
`cmark-gfm`, installed by scripts/test-env.sh) with GitHub's extensions and look at the HTML it makes.
Without the program those tests skip, and under CI (env CI set) they fail.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from gatekeeper.engine import checklist
from gatekeeper.findings import Finding, Location, RuleInfo, Severity, WaiverInfo
from gatekeeper.report import Report, RuleResult, Status
from gatekeeper.reporters import RenderOptions
from gatekeeper.reporters import markdown as md
from tests.conftest import unavailable
from tests.reporters.sample import sample_report

NASTY = 'pipe | in a cell\nsecond line `tick` <script>alert("x")</script> & *bold* [link](x) @octocat'


def render(report: Report) -> str:
    return md.REPORTER.render(report, RenderOptions())


def rule_info(i: int, checklist_item: str = "Image size", severity: Severity = Severity.MEDIUM) -> RuleInfo:
    return RuleInfo(
        id=f"GK-T-{i:03d}",
        name=f"rule-{i}",
        title=f"Rule {i}",
        checklist=checklist_item,
        severity=severity,
        fix=f"Fix rule {i} with `RUN a | b`.",
        summary=f"Summary of rule {i}.",
        docs_url=f"https://example.invalid/docs#rule-{i}",
    )


def finding(info: RuleInfo, message: str, severity: Severity = Severity.HIGH, n: int = 0) -> Finding:
    blocking = severity >= Severity.MEDIUM  # the sample policy fails on medium
    return Finding(
        info,
        severity,
        message,
        Location("Dockerfile", n + 1),
        f"{n:032x}",
        evidence=f"ev {n}",
        blocking=blocking,
    )


def report_of(*results: RuleResult) -> Report:
    return dataclasses.replace(sample_report(), results=tuple(results), checklist=checklist(results))


def table_rows(text: str, header: str) -> list[str]:
    """The lines of the Markdown table that starts with `header`."""
    lines = text.splitlines()
    start = lines.index(header)
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def cells(row: str) -> list[str]:
    """Split a GFM table row on unescaped pipes."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]


# ------------------------------------------------------------------------------------------ structure


def test_sample_structure() -> None:
    text = render(sample_report())
    assert text.startswith("## ⚠️ No verdict: 1 rule could not run\n")
    assert "**Image** `docker://registry.example.com/team/app:1.4.2` · `sha256:dddddddddddd`" in text
    assert "· 12.0 MB (4.5 MB compressed) · linux/amd64 · 4 layers" in text
    assert "**Policy** `builtin:default` · fails on **medium** and above" in text
    rows = table_rows(text, "| Item | Status | Summary |")
    assert [cells(r)[:2] for r in rows] == [
        ["Image size", "🔸 advisory"],
        ["Health checks", "✅ passed"],
        ["Non-root user", "❌ failed"],
        ["Resource limits", "⏭️ skipped"],
        ["Dockerfile hygiene", "⚠️ error"],
    ]
    # blocking failures before advisory ones; location, severity, evidence, fix and docs
    assert text.index("`runs-as-root`") < text.index("`informational`")
    assert "- **critical** (blocking) `image config.User`: Runs as root" in text
    assert "- **high** (blocking) `Dockerfile:12 (USER)`: Named user 'ghost' missing" in text
    assert "<br>evidence: USER root" in text
    fix = "**Fix:** Fix runs-as-root like this: `USER 10001`."
    assert f"{fix} · [docs](https://example.invalid/docs#runs-as-root)" in text
    # errors before skips; passed rules and the layers folded away
    errored = text.index(
        "`crashing-rule` (GK-TST-004, Dockerfile hygiene) errored: ValueError: boom &lt;here&gt;"
    )
    skipped = text.index("`resource-limits` (GK-TST-005, Resource limits) skipped: no runtime config given")
    assert errored < skipped
    assert "<summary>✅ 2 passed rules</summary>" in text
    assert "<summary>Layers (4, 12.0 MB)</summary>" in text
    instruction = "`RUN apt-get update && apt-get install -y curl \\| tee /var/log/apt.log`"
    assert f"| 1 | 4.8 MB | Dockerfile:3 | {instruction} |" in text
    assert "| 0 | 5.0 MB | base image |" in text
    assert "<summary>Wasted space: 901.0 kB in 2 hidden files</summary>" in text
    assert text.count("<details>") == text.count("</details>") == 3
    footer = "gatekeeper 0.0.0-test · 6 rules: 2 failed, 2 passed, 1 skipped, 1 error · 1.2 s"
    assert text.endswith(f"<sub>{footer}</sub>\n")


def test_headlines() -> None:
    info = rule_info(1)
    ok = RuleResult(info, Status.PASSED, Severity.MEDIUM, ("fine",))
    assert render(report_of(ok)).startswith("## ✅ Ready for production\n")
    low = RuleResult(info, Status.FAILED, Severity.LOW, findings=(finding(info, "meh", Severity.LOW),))
    advisory = "## ✅ Ready for production (1 advisory finding below the threshold)\n"
    assert render(report_of(low)).startswith(advisory)
    bad = RuleResult(info, Status.FAILED, Severity.HIGH, findings=(finding(info, "bad"),))
    assert render(report_of(bad)).startswith("## ❌ Not ready for production: 1 blocking finding\n")


def test_no_image_no_layers() -> None:
    report = dataclasses.replace(
        sample_report(),
        subject=dataclasses.replace(sample_report().subject, reference="", digest=""),
        layers=(),
        wasted_files=(),
    )
    text = render(report)
    assert "**Image** none (repository files only)" in text
    assert "Layers (" not in text
    assert "Wasted space" not in text


# ------------------------------------------------------------------------------------------- escaping


def test_table_cells_escape_pipes_newlines_and_html() -> None:
    info = rule_info(1)
    report = report_of(RuleResult(info, Status.FAILED, Severity.HIGH, findings=(finding(info, NASTY),)))
    text = render(report)
    (row,) = table_rows(text, "| Item | Status | Summary |")
    assert len(cells(row)) == 3, row
    summary = cells(row)[2]
    assert "\n" not in summary
    assert summary == (
        'pipe \\| in a cell<br>second line \\`tick\\` &lt;script&gt;alert("x")&lt;/script&gt; &amp; '
        "\\*bold\\* \\[link\\](x) @\u2060octocat"
    )
    assert "<script" not in text


def test_mentions_are_broken_but_email_addresses_are_not() -> None:
    assert md.text("ping @octocat and @team/x, mail me@example.com") == (
        "ping @\u2060octocat and @\u2060team/x, mail me@example.com"
    )


def test_code_spans() -> None:
    assert md.code("plain") == "`plain`"
    assert md.code("a `b` c") == "``a `b` c``"
    assert md.code("`edge`") == "`` `edge` ``"
    assert md.code("a\n  b") == "`a b`"
    assert md.code("x | y", in_table=True) == "`x \\| y`"
    assert md.hint("Run `COPY --from=<stage>` & go") == "Run `COPY --from=<stage>` &amp; go"
    assert md.hint("unbalanced ` tick") == "unbalanced \\` tick"


def test_layer_table_escapes_instructions_and_paths() -> None:
    report = sample_report()
    layers = (dataclasses.replace(report.layers[0], created_by="RUN a | b\n`c`", line=None),)
    wasted = (dataclasses.replace(report.wasted_files[0], path="/x|y `z`"),)
    text = render(dataclasses.replace(report, layers=layers, wasted_files=wasted))
    (layer_row,) = table_rows(text, "| Layer | Size | Made by | Instruction |")
    assert cells(layer_row) == ["0", "5.0 MB", "base image", "`` RUN a \\| b `c` ``"]
    (file_row,) = table_rows(text, "| File | Size | Added in layer | Hidden by layer |")
    assert cells(file_row)[0] == "`` /x\\|y `z` ``"


def test_layers_without_a_dockerfile_have_no_line_column_claims() -> None:
    report = dataclasses.replace(sample_report(), inputs=())
    rows = table_rows(render(report), "| Layer | Size | Made by | Instruction |")
    assert [cells(r)[2] for r in rows] == ["–"] * 4


# ------------------------------------------------------------------------------------- caps and size


def test_findings_per_rule_are_capped() -> None:
    info = rule_info(1)
    findings = tuple(finding(info, f"finding number {n}", n=n) for n in range(120))
    text = render(report_of(RuleResult(info, Status.FAILED, Severity.HIGH, findings=findings)))
    assert text.count("(blocking) `Dockerfile:") == md.FINDINGS_PER_RULE == 50
    assert "- … and 70 more findings (see the JSON or HTML report)" in text


def test_size_budget_lowers_the_cap_until_it_fits() -> None:
    results = []
    for i in range(20):
        info = rule_info(i)
        big = tuple(finding(info, f"{n} " + "x" * 900, n=n) for n in range(60))
        results.append(RuleResult(info, Status.FAILED, Severity.HIGH, findings=big))
    report = report_of(*results)
    full = render(report)
    assert len(full.encode()) <= md.MAX_BYTES
    comment = md.render_markdown(report, max_bytes=md.PR_COMMENT_CHARS)
    assert len(comment.encode()) <= md.PR_COMMENT_CHARS
    assert "- … and 57 more findings" in comment  # three findings per rule fit a PR comment
    assert comment.count("<details>") == comment.count("</details>")


def test_truncates_as_a_last_resort() -> None:
    results = tuple(
        RuleResult(rule_info(i), Status.PASSED, Severity.LOW, ("e" * 290,) * 10) for i in range(200)
    )
    text = md.render_markdown(report_of(*results), max_bytes=20_000)
    assert len(text.encode()) <= 20_000
    assert text.endswith("**Report truncated to fit; see the JSON or HTML report for everything.**\n")


def test_long_messages_are_cut() -> None:
    info = rule_info(1)
    report = report_of(RuleResult(info, Status.FAILED, Severity.HIGH, findings=(finding(info, "y" * 5000),)))
    assert "y" * (md.MAX_TEXT - 1) + "…" in render(report)
    assert "y" * md.MAX_TEXT not in render(report)


# -------------------------------------------------------------------------------------------- waivers


def test_waived_findings_and_unused_waivers() -> None:
    info = rule_info(1)
    waiver = WaiverInfo("rule-1", "batch job | no probe", "2027-03-31", "gatekeeper.yaml", "@ops", "JIRA-12")
    waived = dataclasses.replace(finding(info, "waived one"), waiver=waiver, blocking=False)
    results = (RuleResult(info, Status.WAIVED, Severity.HIGH, findings=(waived,)),)
    report = dataclasses.replace(report_of(*results), unused_waivers=(waiver,))
    text = render(report)
    assert text.startswith("## ✅ Ready for production (1 waived finding)\n")
    assert "### Waived" in text
    assert "### Failures" not in text
    assert "(waived) `Dockerfile:1`: waived one" in text
    assert "waived until 2027-03-31: batch job \\| no probe (`gatekeeper.yaml`, @\u2060ops, JIRA-12)" in text
    assert "### Unused waivers" in text
    unused = "- `rule-1` in `gatekeeper.yaml`, until 2027-03-31: batch job \\| no probe, @\u2060ops, JIRA-12"
    assert unused in text
    assert "1 waived" in text.splitlines()[-1]


def test_partly_waived_rule_stays_a_failure_with_the_waived_finding_last() -> None:
    info = rule_info(1)
    waiver = WaiverInfo("rule-1", "known", "2027-03-31", "gatekeeper.yaml")
    findings = (
        dataclasses.replace(finding(info, "waived one", Severity.CRITICAL, 0), waiver=waiver, blocking=False),
        finding(info, "live one", Severity.HIGH, 1),
    )
    text = render(report_of(RuleResult(info, Status.FAILED, Severity.HIGH, findings=findings)))
    assert text.startswith("## ❌ Not ready for production: 1 blocking finding\n")
    assert text.index("live one") < text.index("waived one")


# ------------------------------------------------------------------------ rendered by GitHub's library


class _Html(HTMLParser):
    """Tables (rows of cell texts), every tag seen, and all text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self.tags: list[str] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def gfm(text: str) -> _Html:
    """Render like github.com: cmark-gfm with GitHub's extensions (tagfilter blocks <script> etc.)."""
    program = shutil.which("cmark-gfm")
    if program is None:
        unavailable("cmark-gfm is not installed (apt-get install cmark-gfm; scripts/test-env.sh does)")
    args = [program, "--unsafe", "-e", "table", "-e", "strikethrough", "-e", "autolink", "-e", "tagfilter"]
    done = subprocess.run(args, input=text, capture_output=True, text=True, timeout=60, check=True)
    parsed = _Html()
    parsed.feed(done.stdout)
    return parsed


def test_gfm_renders_the_sample_as_intended() -> None:
    report = sample_report()
    page = gfm(render(report))
    checklist_table, layer_table, wasted_table = page.tables
    assert checklist_table[0] == ["Item", "Status", "Summary"]
    assert [row[0] for row in checklist_table[1:]] == [item.name for item in report.checklist]
    assert all(len(row) == 3 for row in checklist_table)
    non_root = checklist_table[3]
    assert non_root[2] == 'Runs as root: 100% <&> "quoted", with commas, colons: andnewline — ünïcode'
    assert [row[3] for row in layer_table[1:]] == [layer.created_by for layer in report.layers]
    assert all(len(row) == 4 for row in wasted_table)
    assert page.tags.count("details") == 3
    assert "script" not in page.tags


@pytest.mark.parametrize(
    "message",
    [
        NASTY,
        "</details><details open><summary>x</summary>",
        "| a | b |\n| --- | --- |\n| c | d |",
        "# heading\n- list\n> quote\n```\nfence",
        "<!-- comment --> <img src=x onerror=alert(1)> &amp; &#x41;",
        "\\| backslash pipe \\",
    ],
)
def test_gfm_shows_hostile_messages_literally(message: str) -> None:
    info = rule_info(1)
    report = report_of(RuleResult(info, Status.FAILED, Severity.HIGH, findings=(finding(info, message),)))
    text = render(report)
    page = gfm(text)
    table = page.tables[0]
    assert all(len(row) == 3 for row in table)
    shown = table[1][2]
    assert shown == message.replace("\n", "").replace("@octocat", "@\u2060octocat").strip()
    assert not {"script", "img", "h1", "blockquote", "pre"} & set(page.tags)
    assert page.tags.count("details") == text.count("<details>") == 2  # the layers and the wasted files
