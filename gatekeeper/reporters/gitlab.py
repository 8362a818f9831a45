"""GitLab Code Quality (`artifacts:reports:codequality`): a JSON array, one entry per finding.

GitLab checks each entry against its CodeClimate schema and stops reading at the first invalid one,
and it keys entries by `fingerprint`, so identical fingerprints collapse into one
(shared/schemas/notes/gitlab-codequality.md). Hence every entry has:

- `description`: the rule title and the message on one line (never empty);
- `check_name`: the rule name (`runs-as-root`);
- `fingerprint`: the finding's line-independent fingerprint, made unique within the file
  (`sarif.unique_fingerprints`: a repeated fingerprint is replaced by a hash of it and its count);
- `severity`: info -> info, low -> minor, medium -> major, high -> critical, critical -> blocker;
- `location.path` (repo-relative) and `location.lines.begin` (>= 1): the finding's own file and line,
  or, for a finding about the image, the same anchor as SARIF (`sarif.anchor_path`: the Dockerfile,
  a compose or Kubernetes file, a policy file, `Dockerfile`) at line 1;
- `categories`: from the rule's checklist item (`CATEGORIES`), `content.body` with the message,
  fix, evidence, image pointer and docs link, `type: "issue"` and `engine_name: "gatekeeper"`.

Every unwaived finding is reported, blocking or not (GitLab shows all of them in the widget).
Waived findings are left out: Code Quality has no notion of an accepted issue, so an entry would
read as an open one. A clean run is `[]`.
"""

from __future__ import annotations

import json
from typing import Any

from gatekeeper.findings import IMAGE, Finding, Severity
from gatekeeper.report import Report
from gatekeeper.reporters import RenderOptions, Reporter
from gatekeeper.reporters.sarif import anchor, anchor_path, repo_path, unique_fingerprints
from gatekeeper.text import one_line, scrub_surrogates

SEVERITY = {
    Severity.INFO: "info",
    Severity.LOW: "minor",
    Severity.MEDIUM: "major",
    Severity.HIGH: "critical",
    Severity.CRITICAL: "blocker",
}
CATEGORIES = {
    "Non-root user": "Security",
    "Secrets managed externally": "Security",
    "Vulnerability scan": "Security",
    "Multi-stage build": "Performance",
    "Image size": "Performance",
    "Health checks": "Bug Risk",
    "Logs to stdout/stderr": "Bug Risk",
    "Resource limits": "Bug Risk",
    "Dockerfile hygiene": "Style",
    "Policy exceptions": "Bug Risk",
}
"""CodeClimate categories by checklist item; anything else is `Bug Risk`."""


def _entry(finding: Finding, fingerprint: str, fallback: str, report: Report) -> dict[str, Any]:
    rule = finding.rule
    where = anchor(finding, fallback)
    title = one_line(rule.title) or rule.name or rule.id
    message = one_line(finding.message)
    body = [finding.message.strip() or title]
    if rule.fix:
        body.append(f"**Fix:** {rule.fix}")
    if finding.evidence:
        body.append(f"**Evidence:** {finding.evidence}")
    loc = finding.location
    if loc.artifact == IMAGE:
        place = f"{loc.pointer} in " if loc.pointer else ""
        body.append(f"**Where:** {place}the image {report.subject.reference}".rstrip())
    else:
        body.append(f"**Where:** {loc}")
    if rule.docs_url:
        body.append(f"[Documentation]({rule.docs_url})")
    return {
        "type": "issue",
        "engine_name": "gatekeeper",
        "check_name": rule.name or rule.id,
        "description": f"{title}: {message}" if message else title,
        "content": {"body": "\n\n".join(body)},
        "categories": [CATEGORIES.get(rule.checklist, "Bug Risk")],
        "severity": SEVERITY[finding.severity],
        "fingerprint": fingerprint,
        "location": {"path": repo_path(where.path), "lines": {"begin": where.line}},
    }


def to_codequality(report: Report) -> list[dict[str, Any]]:
    findings = report.findings
    fallback = anchor_path(report)
    keys = unique_fingerprints(findings)  # over all findings, so each matches its SARIF result
    return [
        _entry(f, key, fallback, report)
        for f, (_, key, _) in zip(findings, keys, strict=True)
        if f.waiver is None
    ]


def render(report: Report, options: RenderOptions) -> str:
    text = json.dumps(to_codequality(report), indent=2, sort_keys=True, ensure_ascii=False)
    # Lone surrogates (undecodable file names) cannot be written as UTF-8: show them as U+FFFD.
    return scrub_surrogates(text) + "\n"


REPORTER = Reporter("gitlab", "GitLab Code Quality report (artifacts:reports:codequality)", render)
