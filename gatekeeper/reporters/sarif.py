"""SARIF 2.1.0 for GitHub code scanning (and any other SARIF viewer): one run, one result per finding.

What GitHub needs, and how this reporter meets it (shared/research/formats.md, section 1):

- Every rule the report evaluated is a `tool.driver.rules[]` entry, in report order, so `ruleIndex`
  is the position of the rule's result. `help.text` / `help.markdown` carry the fix, the docs link
  and the checklist item, because GitHub ignores `helpUri` (it is still set for other viewers).
- Every finding is a result, blocking or not (`properties.blocking` tells which). Its `level` comes
  from the finding's own severity: critical and high are `error`, medium and low `warning`, info
  `note`. A rule's `defaultConfiguration.level` comes from its effective severity in the same way.
- Every result has a physical location with `region.startLine` (GitHub drops the whole upload if one
  result lacks it). A finding in a repository file points at that file and line (line 1 when the
  line is unknown). A finding about the image itself (`Location.artifact == "image"`) is anchored to
  the first file of this chain: the Dockerfile, the first compose or Kubernetes input, the first
  policy file that is not built in, and finally the literal `Dockerfile`; always at line 1. The
  anchored result keeps the image reference and the logical pointer (`config.User`, `/etc/passwd`)
  in `logicalLocations` and `properties`, with `properties.anchored: true`.
- Fingerprints are line-independent. `fingerprints["gatekeeper/v1"]` is the finding's fingerprint
  (made unique within the run; see `unique_fingerprints`), and
  `partialFingerprints.primaryLocationLineHash` is `<fingerprint>:<n>`, where n counts findings that
  share a fingerprint, as CodeQL does for identical lines.
- Security severity: only rules under a security checklist item (non-root user, secrets, the
  vulnerability scan) carry the `security` tag and `properties["security-severity"]`, because GitHub
  treats any rule with a score as a security rule. The score is the rule's effective severity:
  critical 9.5, high 8.0, medium 5.5, low 3.0. An info rule gets no score, since GitHub reads 0.0
  as "no security severity". `properties.problem.severity` (error, warning, recommendation) and
  `properties.precision` ("high": the rules check facts, they do not guess) are set on every rule.
- `run.automationDetails.id` is `gatekeeper/<image name without tag or digest>/`, so one job can
  upload a file per image without the uploads replacing each other.
- `invocations[0].executionSuccessful` is false when a rule crashed. Each crashed rule adds an
  error-level `toolExecutionNotifications` entry, and each skipped rule adds a note. There are no
  timestamps: the output is a pure function of the report.
- GitHub's limits are kept: at most 25,000 results per run (the most severe are kept and a warning
  notification says how many were left out), 20 tags per rule, 1024 characters per rule
  description and 255 per rule name (longer text is cut with `…`). A clean run has `"results": []`.

- A waived finding is still a result, with one accepted `suppressions` entry: the waiver's reason is
  the justification, and its expiry, owner, ticket and origin are properties. The kind is `inSource`
  when the waiver sits in the file the result points at (an inline `# gatekeeper: waive` comment),
  else `external` (a policy file). GitHub does not dismiss suppressed results by itself, so they
  arrive as open alerts there. `properties.blocking` is false for them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import quote

from gatekeeper.findings import IMAGE, Finding, Severity, WaiverInfo
from gatekeeper.report import Report, RuleResult, Status
from gatekeeper.reporters import RenderOptions, Reporter, clip
from gatekeeper.text import scrub_surrogates
from gatekeeper.units import is_uint

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/gatekeeper-dev/gatekeeper"
FINGERPRINT_KEY = "gatekeeper/v1"
MAX_RESULTS = 25_000
"""GitHub rejects a run with more results than this."""
MAX_TAGS = 20
"""GitHub rejects a rule with more tags than this."""
MAX_DESCRIPTION = 1024
"""GitHub's limit on a rule's shortDescription and fullDescription."""
MAX_NAME = 255
"""GitHub's limit on a rule's name."""
SECURITY_CHECKLIST = frozenset({"Non-root user", "Secrets managed externally", "Vulnerability scan"})
"""Checklist items whose rules are security rules (tag `security`, a security-severity score)."""

LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "warning",
    Severity.INFO: "note",
}
PROBLEM_SEVERITY = {"error": "error", "warning": "warning", "note": "recommendation"}
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
}
"""GitHub's bands: critical > 9.0, high 7.0-8.9, medium 4.0-6.9, low 0.1-3.9. Info has no score."""

_TRANSPORTS = ("docker://", "docker-daemon:", "docker-archive:", "oci-archive:", "oci:")
_FILE_TRANSPORTS = ("docker-archive:", "oci-archive:", "oci:")
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9._/-]+")


@dataclass(frozen=True, slots=True)
class Anchor:
    """The repository file and line a finding is shown at."""

    path: str
    line: int
    anchored: bool
    """True when the finding is about the image and the file only carries it."""


def anchor_path(report: Report) -> str:
    """Where image-level findings go: Dockerfile, compose/Kubernetes file, policy file, `Dockerfile`."""
    if report.dockerfile:
        return report.dockerfile
    for kind, path, _ in report.inputs:
        if kind in ("compose", "kubernetes") and path:
            return path
    for origin, _ in report.policy.sources:
        if origin and not origin.startswith("builtin:"):
            return origin
    return "Dockerfile"


def anchor(finding: Finding, fallback: str) -> Anchor:
    """The finding's own file and line when it has one, else `fallback` at line 1."""
    loc = finding.location
    if loc.artifact and loc.artifact != IMAGE:
        return Anchor(loc.artifact, max(loc.line or 1, 1), False)
    return Anchor(fallback, 1, True)


def unique_fingerprints(findings: Sequence[Finding]) -> list[tuple[str, str, int]]:
    """(fingerprint, unique fingerprint, occurrence) per finding, in order.

    The first finding with a fingerprint keeps it. The n-th one (n >= 2) gets a hash of the
    fingerprint and n, which is still line-independent and stable while the findings keep their order.
    """
    seen: dict[str, int] = {}
    out = []
    for finding in findings:
        base = finding.fingerprint or hashlib.sha256(finding.rule.id.encode()).hexdigest()[:32]
        n = seen.get(base, 0) + 1
        seen[base] = n
        key = base if n == 1 else hashlib.sha256(f"{base}\x1f{n}".encode()).hexdigest()[:32]
        out.append((base, key, n))
    return out


def image_name(reference: str) -> str:
    """The image without transport, tag or digest; an archive or layout gives its file name."""
    for prefix in _TRANSPORTS:
        if reference.startswith(prefix):
            rest = reference[len(prefix) :]
            if prefix in _FILE_TRANSPORTS:
                tail = rest.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
                return tail.split(":", 1)[0]
            reference = rest
            break
    name = reference.split("@", 1)[0]
    head, sep, tail = name.rpartition(":")
    return head if sep and "/" not in tail else name


def automation_id(report: Report) -> str:
    """`gatekeeper/<image>/`: the category is everything before the last `/`."""
    name = _UNSAFE_ID.sub("-", image_name(report.subject.reference)).strip("-/.")
    name = re.sub(r"/+", "/", name)
    return f"gatekeeper/{name}/" if name else "gatekeeper/"


def repo_path(path: str) -> str:
    """Forward slashes, no leading `./`."""
    posix = path.replace("\\", "/")
    while posix.startswith("./"):
        posix = posix[2:].lstrip("/")
    return posix or "Dockerfile"


def artifact_uri(path: str) -> str:
    """A repo-relative path as a relative URI reference; an absolute path as a `file:` URI."""
    windows = PureWindowsPath(path)
    if windows.drive and windows.is_absolute():
        return windows.as_uri()
    posix = repo_path(path)
    if posix.startswith("/"):
        return PurePosixPath(posix).as_uri()
    return quote(posix, safe="/")


def _rule(result: RuleResult) -> dict[str, Any]:
    info = result.rule
    level = LEVEL[result.severity]
    security = info.checklist in SECURITY_CHECKLIST
    tags = [_slug(info.checklist)] + (["security"] if security else [])
    properties: dict[str, Any] = {
        "tags": tags[:MAX_TAGS],
        "precision": "high",
        "problem.severity": PROBLEM_SEVERITY[level],
    }
    if security and result.severity in SECURITY_SEVERITY:
        properties["security-severity"] = SECURITY_SEVERITY[result.severity]
    help_text = f"{info.fix}\n\nChecklist item: {info.checklist}."
    help_markdown = f"{info.fix}\n\n**Checklist item:** {info.checklist}"
    if info.docs_url:
        help_text += f"\nDocumentation: {info.docs_url}"
        help_markdown += f"\n\n[Documentation]({info.docs_url})"
    rule: dict[str, Any] = {
        "id": info.id,
        "name": clip(info.name or info.id, MAX_NAME),
        "shortDescription": {"text": clip(info.title or info.name or info.id, MAX_DESCRIPTION)},
        "fullDescription": {
            "text": clip(info.summary or info.title or info.name or info.id, MAX_DESCRIPTION)
        },
        "help": {"text": help_text, "markdown": help_markdown},
        "defaultConfiguration": {"level": level},
        "properties": properties,
    }
    if info.docs_url:
        rule["helpUri"] = info.docs_url
    return rule


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "other"


def _result(
    finding: Finding,
    rule_index: int,
    where: Anchor,
    fingerprint: tuple[str, str, int],
    report: Report,
) -> dict[str, Any]:
    loc = finding.location
    base, key, occurrence = fingerprint
    location: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": {"uri": artifact_uri(where.path)},
            "region": {"startLine": where.line},
        }
    }
    if loc.pointer:
        scope = report.subject.reference if loc.artifact == IMAGE else loc.artifact
        logical: dict[str, Any] = {"name": loc.pointer}
        if scope:
            logical["fullyQualifiedName"] = f"{scope}#{loc.pointer}"
        location["logicalLocations"] = [logical]
    properties: dict[str, Any] = {
        "severity": finding.severity.label,
        "blocking": finding.blocking,
        "artifact": loc.artifact,
    }
    if report.subject.reference:
        properties["image"] = report.subject.reference
    if loc.pointer:
        properties["pointer"] = loc.pointer
    if finding.evidence:
        properties["evidence"] = finding.evidence
    if where.anchored:
        properties["anchored"] = True
    entry: dict[str, Any] = {
        "ruleId": finding.rule.id,
        "ruleIndex": rule_index,
        "level": LEVEL[finding.severity],
        "message": {"text": finding.message.strip() or finding.rule.title or finding.rule.id},
        "locations": [location],
        "fingerprints": {FINGERPRINT_KEY: key},
        "partialFingerprints": {"primaryLocationLineHash": f"{base}:{occurrence}"},
        "properties": properties,
    }
    if finding.waiver is not None:
        entry["suppressions"] = [_suppression(finding.waiver, where)]
    return entry


def _suppression(waiver: WaiverInfo, where: Anchor) -> dict[str, Any]:
    origin_path = waiver.origin.rsplit(":", 1)[0] if is_uint(waiver.origin[-1:]) else waiver.origin
    inline = bool(origin_path) and not where.anchored and repo_path(origin_path) == repo_path(where.path)
    properties = {"expires": waiver.expires, "origin": waiver.origin, "rule": waiver.rule}
    properties |= {k: v for k, v in (("owner", waiver.owner), ("ticket", waiver.ticket)) if v}
    return {
        "kind": "inSource" if inline else "external",
        "status": "accepted",
        "justification": waiver.reason,
        "properties": properties,
    }


def _notification(result: RuleResult, index: int, level: str, text: str) -> dict[str, Any]:
    return {
        "level": level,
        "message": {"text": text},
        "associatedRule": {"id": result.rule.id, "index": index},
    }


def to_sarif(report: Report) -> dict[str, Any]:
    fallback = anchor_path(report)
    indexed = [(i, f) for i, result in enumerate(report.results) for f in result.findings]
    keys = unique_fingerprints([f for _, f in indexed])
    entries = [(i, f, fp) for (i, f), fp in zip(indexed, keys, strict=True)]
    notifications: list[dict[str, Any]] = []
    for index, result in enumerate(report.results):
        name = f"{result.rule.name} ({result.rule.id})"
        if result.status is Status.ERROR:
            text = f"{name} failed to run: {result.reason or 'unknown error'}"
            notifications.append(_notification(result, index, "error", text))
        elif result.status is Status.SKIPPED:
            text = f"{name} was skipped: {result.reason or 'no reason given'}"
            notifications.append(_notification(result, index, "note", text))
    if len(entries) > MAX_RESULTS:
        order = sorted(range(len(entries)), key=lambda k: (-entries[k][1].severity, k))
        keep = sorted(order[:MAX_RESULTS])
        left_out = len(entries) - MAX_RESULTS
        entries = [entries[k] for k in keep]
        notifications.append(
            {
                "level": "warning",
                "message": {
                    "text": f"{left_out} of the least severe findings were left out: "
                    f"GitHub accepts at most {MAX_RESULTS} results per run."
                },
            }
        )
    results = [_result(f, i, anchor(f, fallback), fp, report) for i, f, fp in entries]
    invocation: dict[str, Any] = {"executionSuccessful": not report.errors}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    subject = report.subject
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": report.tool or "gatekeeper",
                "informationUri": INFORMATION_URI,
                "rules": [_rule(r) for r in report.results],
            }
        },
        "automationDetails": {"id": automation_id(report)},
        "invocations": [invocation],
        "results": results,
        "properties": {
            "image": {
                "reference": subject.reference,
                "digest": subject.digest,
                "platform": subject.platform,
            },
            "policy": {"name": report.policy.name, "failOn": report.policy.fail_on.label},
            "ready": report.passed,
        },
    }
    if report.version:
        run["tool"]["driver"]["version"] = report.version
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render(report: Report, options: RenderOptions) -> str:
    text = json.dumps(to_sarif(report), indent=2, sort_keys=True, ensure_ascii=False)
    # Lone surrogates (undecodable file names) cannot be written as UTF-8: show them as U+FFFD.
    return scrub_surrogates(text) + "\n"


REPORTER = Reporter("sarif", "SARIF 2.1.0 for GitHub code scanning", render)
