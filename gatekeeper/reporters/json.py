"""JSON, `schema_version: 1`: a versioned shape of its own, not a dump of internal classes."""

from __future__ import annotations

import json
from typing import Any

from gatekeeper.findings import Finding, WaiverInfo
from gatekeeper.report import Report, RuleResult
from gatekeeper.reporters import RenderOptions, Reporter

SCHEMA_VERSION = 1


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "rule_id": f.rule.id,
        "rule": f.rule.name,
        "severity": f.severity.label,
        "blocking": f.blocking,
        "message": f.message,
        "location": {
            "artifact": f.location.artifact,
            "line": f.location.line,
            "pointer": f.location.pointer,
        },
        "evidence": f.evidence,
        "fingerprint": f.fingerprint,
        "waiver": _waiver(f.waiver) if f.waiver is not None else None,
    }


def _waiver(w: WaiverInfo) -> dict[str, Any]:
    return {
        "rule_id": w.rule,
        "reason": w.reason,
        "expires": w.expires,
        "origin": w.origin,
        "owner": w.owner,
        "ticket": w.ticket,
    }


def _rule(r: RuleResult) -> dict[str, Any]:
    return {
        "id": r.rule.id,
        "name": r.rule.name,
        "title": r.rule.title,
        "checklist": r.rule.checklist,
        "status": r.status.value,
        "severity": r.severity.label,
        "evidence": list(r.evidence),
        "reason": r.reason,
        "fix": r.rule.fix,
        "docs_url": r.rule.docs_url,
        "findings": len(r.findings),
    }


def to_v1(report: Report) -> dict[str, Any]:
    s = report.subject
    fail_on = report.policy.fail_on
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": report.tool, "version": report.version},
        "subject": {
            "reference": s.reference,
            "source": s.source,
            "digest": s.digest,
            "platform": s.platform,
            "size": s.size,
            "compressed_size": s.compressed_size,
            "layers": s.layers,
            "created": s.created,
        },
        "policy": {
            "name": report.policy.name,
            "fail_on": fail_on.label,
            "profile": report.profile,
            "sources": [{"origin": o, "digest": d} for o, d in report.policy.sources],
        },
        "verdict": {
            "ready": report.passed,
            "blocking": len(report.blocking),
            "findings": len(report.findings),
            "waived": len(report.waived),
            "errors": len(report.errors),
        },
        "inputs": [{"kind": k, "path": p, "how": h} for k, p, h in report.inputs],
        "checklist": [
            {"item": c.name, "status": c.status.value, "rules": list(c.rules), "summary": c.summary}
            for c in report.checklist
        ],
        "rules": [_rule(r) for r in report.results],
        "findings": [_finding(f) for f in report.findings],
        "unused_waivers": [_waiver(w) for w in report.unused_waivers],
        "started_at": report.started_at.isoformat(),
        "duration_s": round(report.duration_s, 3),
    }


def schema() -> dict[str, Any]:
    """The JSON Schema of this shape (shipped as gatekeeper/reporters/report.schema.json)."""
    from importlib import resources

    text = resources.files("gatekeeper.reporters").joinpath("report.schema.json").read_text("utf-8")
    value: dict[str, Any] = json.loads(text)
    return value


def render(report: Report, options: RenderOptions) -> str:
    return json.dumps(to_v1(report), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


REPORTER = Reporter("json", "machine-readable JSON (schema_version 1)", render)
