"""evaluate(target, policy, rules) -> Report. Pure: no I/O, no clock (the caller passes it)."""

from __future__ import annotations

import dataclasses
import heapq
import operator
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from gatekeeper import __version__
from gatekeeper.facts import Target
from gatekeeper.facts.image import FileEntry, FileType
from gatekeeper.facts.mapping import short_command
from gatekeeper.findings import Finding, RuleInfo, WaiverInfo, fingerprint
from gatekeeper.policy.model import Policy, Waiver
from gatekeeper.policy.waivers import matches
from gatekeeper.report import (
    ChecklistItem,
    FileSummary,
    LayerSummary,
    PolicyInfo,
    Report,
    RuleResult,
    Status,
    Subject,
)
from gatekeeper.rule import Checklist, Evidence, NotApplicable, Rule, Violation
from gatekeeper.secrets import redact_secrets


def evaluate(
    target: Target,
    policy: Policy,
    rules: Sequence[Rule[Any]],
    *,
    subject_key: str,
    started_at: datetime,
) -> Report:
    today = started_at.date()
    active = [w for w in target.waivers if not w.expired(today)]
    used: set[int] = set()
    results = tuple(
        _mark_blocking(
            _apply_waivers(_run(rule, target, policy, subject_key), active, target.image_names, used),
            rule,
            policy,
        )
        for rule in rules
    )
    return Report(
        tool="gatekeeper",
        version=__version__,
        subject=_subject(target),
        policy=PolicyInfo(policy.name, policy.fail_on, tuple((s.origin, s.digest) for s in policy.sources)),
        results=results,
        checklist=checklist(results),
        started_at=started_at,
        inputs=tuple((i.kind, i.path, i.how) for i in target.inputs),
        layers=_layers(target),
        largest_files=_largest_files(target),
        wasted_files=_wasted_files(target),
        unused_waivers=tuple(_waiver_info(w) for i, w in enumerate(active) if i not in used),
        profile=policy.profile,
    )


def _waiver_info(waiver: Waiver) -> WaiverInfo:
    return WaiverInfo(
        rule=waiver.rule,
        reason=waiver.reason,
        expires=waiver.expires.isoformat(),
        origin=waiver.origin,
        owner=waiver.owner,
        ticket=waiver.ticket,
    )


def _mark_blocking(result: RuleResult, rule: Rule[Any], policy: Policy) -> RuleResult:
    """Decide, once, which findings fail the gate; every reporter reads `Finding.blocking`."""
    if not result.findings:
        return result
    threshold = policy.fail_on
    locked = policy.setting(rule.id, rule.default_enabled).locked_fail_on
    if locked is not None:
        threshold = min(threshold, locked)

    def blocks(finding: Finding) -> bool:
        return finding.waiver is None and (rule.always_blocking or finding.severity >= threshold)

    findings = tuple(dataclasses.replace(f, blocking=blocks(f)) for f in result.findings)
    return dataclasses.replace(result, findings=findings)


def _apply_waivers(
    result: RuleResult, waivers: Sequence[Waiver], names: Sequence[str], used: set[int]
) -> RuleResult:
    """Mark findings covered by a waiver; a rule whose findings are all waived is WAIVED."""
    if not result.findings:
        return result
    findings = []
    for finding in result.findings:
        index = next((i for i, w in enumerate(waivers) if matches(w, finding, names)), None)
        if index is None:
            findings.append(finding)
            continue
        used.add(index)
        findings.append(dataclasses.replace(finding, waiver=_waiver_info(waivers[index])))
    status = Status.FAILED if any(f.waiver is None for f in findings) else Status.WAIVED
    return dataclasses.replace(result, status=status, findings=tuple(findings))


TOP_FILES = 20


def _layers(target: Target) -> tuple[LayerSummary, ...]:
    if target.image is None:
        return ()
    summaries = []
    for layer in target.image.layers:
        instruction = target.layer_instructions.get(layer.index)
        summaries.append(
            LayerSummary(
                index=layer.index,
                size=layer.size,
                compressed_size=layer.compressed_size,
                created_by=short_command(layer.created_by),
                line=instruction.line if instruction is not None else None,
            )
        )
    return tuple(summaries)


_SIZE_PATH = operator.itemgetter(FileEntry._fields.index("size"), FileEntry._fields.index("path"))


def _largest_files(target: Target) -> tuple[FileSummary, ...]:
    files = target.image.files if target.image is not None else None
    if files is None:
        return ()
    # (size, path) by itemgetter: a C key for 50,000 files, not a lambda
    top = heapq.nlargest(TOP_FILES, files.of_type(FileType.FILE), key=_SIZE_PATH)
    return tuple(FileSummary(e.path, e.size, e.layer) for e in top)


def _wasted_files(target: Target) -> tuple[FileSummary, ...]:
    files = target.image.files if target.image is not None else None
    if files is None:
        return ()
    hidden = (s for s in files.shadowed if s.entry.type is FileType.FILE and s.entry.size)
    top = heapq.nlargest(TOP_FILES, hidden, key=lambda s: (s.entry.size, s.entry.path))
    return tuple(FileSummary(s.entry.path, s.entry.size, s.entry.layer, s.by_layer) for s in top)


def _run(rule: Rule[Any], target: Target, policy: Policy, subject_key: str) -> RuleResult:
    setting = policy.setting(rule.id, rule.default_enabled)
    severity = setting.severity if setting.severity is not None else rule.severity
    info = rule.info
    if not setting.enabled:
        reason = "disabled by the policy" if rule.id in policy.rules else "not in the policy"
        return RuleResult(info, Status.SKIPPED, severity, reason=reason)
    findings: list[Finding] = []
    evidence: list[str] = []
    try:
        options = rule.build_options(setting.options)
        for item in rule.check(target, options):
            if isinstance(item, Evidence):
                evidence.append(redact_secrets(item.text))
            elif isinstance(item, Violation):
                findings.append(_stamp(info, item, severity, subject_key))
    except NotApplicable as exc:
        return RuleResult(info, Status.SKIPPED, severity, reason=str(exc))
    except Exception as exc:  # a broken rule must neither hide the others nor read as passed
        # the exception may quote what the rule was reading (an ENV value, a label): redact it too
        reason = redact_secrets(f"{type(exc).__name__}: {exc}")
        return RuleResult(info, Status.ERROR, severity, reason=reason)
    findings.sort(key=lambda f: (f.location.artifact, f.location.line or 0, f.location.pointer, f.message))
    status = Status.FAILED if findings else Status.PASSED
    return RuleResult(info, status, severity, tuple(evidence), findings=tuple(findings))


def _stamp(info: RuleInfo, violation: Violation, severity: Any, subject_key: str) -> Finding:
    return Finding(
        rule=info,
        severity=severity,
        message=redact_secrets(violation.message),
        location=violation.location,
        fingerprint=fingerprint(info.id, subject_key, violation.location, violation.detail),
        evidence=redact_secrets(violation.evidence),
    )


def checklist(results: Sequence[RuleResult]) -> tuple[ChecklistItem, ...]:
    items = []
    for item in Checklist:
        mine = [r for r in results if r.rule.checklist == item.value]
        if not mine:
            continue
        statuses = {r.status for r in mine}
        if Status.ERROR in statuses:
            status = Status.ERROR
        elif any(f.blocking for r in mine for f in r.findings):
            status = Status.FAILED
        elif Status.FAILED in statuses:
            status = Status.ADVISORY
        elif Status.WAIVED in statuses:
            status = Status.WAIVED
        elif Status.PASSED in statuses:
            status = Status.PASSED
        else:
            status = Status.SKIPPED
        summary = _summary(mine, status)
        items.append(ChecklistItem(item.value, status, tuple(r.rule.name for r in mine), summary))
    return tuple(items)


def _summary(results: Sequence[RuleResult], status: Status) -> str:
    if status is Status.FAILED:
        return next(f for r in results for f in r.findings if f.blocking).message
    if status is Status.ADVISORY:
        first = next(f for r in results for f in r.findings if f.waiver is None)
        return f"advisory ({first.severity.label}, below the threshold): {first.message}"
    if status is Status.WAIVED:
        first = next(f for r in results for f in r.findings)
        return f"waived: {first.message} ({first.waiver.reason if first.waiver else ''})"
    if status is Status.ERROR:
        return next(r.reason for r in results if r.status is Status.ERROR)
    if status is Status.PASSED:
        return next((e for r in results for e in r.evidence), "passed")
    return next((r.reason for r in results if r.reason), "skipped")


def _subject(target: Target) -> Subject:
    image = target.image
    if image is None:
        return Subject("", "", "", "", None, None, 0)
    return Subject(
        reference=image.reference,
        source=image.source,
        digest=image.digest,
        platform=str(image.platform),
        size=image.size,
        compressed_size=image.compressed_size,
        layers=len(image.layers),
        created=image.created,
    )
