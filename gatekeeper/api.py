"""The library entry point: `check(image, ...) -> Report`. The CLI is a thin shell around it."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from gatekeeper.engine import evaluate
from gatekeeper.facts import Target
from gatekeeper.facts.image import ImageFacts
from gatekeeper.facts.mapping import layer_instructions, match_history
from gatekeeper.facts.needs import NOTHING, Need, Request
from gatekeeper.facts.scan import ScanReport
from gatekeeper.findings import Severity
from gatekeeper.inputs import InputOptions, Inputs, gather, image_names, select_workloads
from gatekeeper.policy.loader import load_policy
from gatekeeper.policy.model import Policy
from gatekeeper.report import Report
from gatekeeper.rule import Rule
from gatekeeper.rules import all_rules
from gatekeeper.scanners import run_scanner
from gatekeeper.sources import ImageRef, SourceOptions, open_image, parse_reference


def request_for(policy: Policy, rules: Sequence[Rule[Any]]) -> Request:
    """The union of what the enabled rules need: config only unless one needs more."""
    need, wanted = Need.CONFIG, NOTHING
    for rule in rules:
        setting = policy.setting(rule.id)
        if not setting.enabled:
            continue
        req = rule.needs(rule.build_options(setting.options))
        need |= req.need
        wanted = wanted.merge(req.wanted)
    return Request(need, wanted)


def subject_key(ref: ImageRef | None) -> str:
    """The image name without tag or digest: fingerprints stay stable across releases."""
    if ref is None:
        return ""
    name = ref.display_name.split("@", 1)[0]
    head, sep, tail = name.rpartition(":")
    return head if sep and "/" not in tail else name


def build_target(
    image: ImageFacts | None,
    ref: ImageRef | None,
    inputs: Inputs,
    *,
    now: datetime | None = None,
    scans: tuple[ScanReport, ...] = (),
    scan_notes: tuple[str, ...] = (),
) -> Target:
    """Join the image and the repository files: workloads of this image, history -> lines."""
    matched: dict[int, Any] = {}
    if image is not None and inputs.dockerfile is not None:
        matched = match_history(inputs.dockerfile, image.history)
    names = image_names(ref.display_name if ref else "", image.repo_tags if image else ())
    return Target(
        image=image,
        dockerfile=inputs.dockerfile,
        context=inputs.context,
        workloads=inputs.workloads,
        image_workloads=select_workloads(inputs.workloads, names, inputs.service),
        scans=inputs.scans + scans,
        inputs=inputs.files,
        scan_notes=scan_notes,
        now=now,
        history_instructions=matched,
        layer_instructions=layer_instructions(image.history, matched) if image else {},
    )


def _run_scanner(
    policy: Policy, rules: Sequence[Rule[Any]], ref: ImageRef | None, inputs: Inputs, options: SourceOptions
) -> tuple[tuple[ScanReport, ...], tuple[str, ...]]:
    """Run the scanner the vulnerabilities rule asks for, when no report was given."""
    rule = next((r for r in rules if r.name == "vulnerabilities"), None)
    if rule is None or inputs.scans or ref is None or not policy.setting(rule.id).enabled:
        return (), ()
    scanner = getattr(rule.build_options(policy.setting(rule.id).options), "scanner", "none")
    if scanner == "none":
        return (), ()
    report, note = run_scanner(scanner, ref, options.environ or {"PATH": "/usr/bin:/bin"})
    return ((report,), ()) if report is not None else ((), (note,))


def check(
    image: str | None,
    *,
    policies: Sequence[str] = (),
    fail_on: Severity | None = None,
    options: SourceOptions | None = None,
    inputs: InputOptions | None = None,
) -> Report:
    """Judge one image (and the files around it) against the policies (default: builtin:default)."""
    started = datetime.now(UTC)
    clock = time.monotonic()
    rules = all_rules()
    policy = load_policy(policies, rules)
    if fail_on is not None:
        policy = dataclasses.replace(policy, fail_on=fail_on)
    gathered = gather(inputs or InputOptions(discover=False))
    ref = parse_reference(image) if image else None
    facts = (
        open_image(ref, request_for(policy, rules), options or SourceOptions()) if ref is not None else None
    )
    scans, notes = _run_scanner(policy, rules, ref, gathered, options or SourceOptions())
    report = evaluate(
        build_target(facts, ref, gathered, now=started, scans=scans, scan_notes=notes),
        policy,
        rules,
        subject_key=subject_key(ref),
        started_at=started,
    )
    return dataclasses.replace(report, duration_s=time.monotonic() - clock)
