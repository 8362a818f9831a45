"""The library entry point: `check(image, ...) -> Report`. The CLI is a thin shell around it."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gatekeeper.engine import evaluate
from gatekeeper.errors import UsageError
from gatekeeper.facts import Target
from gatekeeper.facts.image import ImageFacts
from gatekeeper.facts.mapping import layer_instructions, match_history
from gatekeeper.facts.needs import NOTHING, Need, Request
from gatekeeper.facts.scan import ScanReport
from gatekeeper.findings import Severity
from gatekeeper.inputs import InputOptions, Inputs, gather, repository, select_workloads
from gatekeeper.policy.loader import load_policy
from gatekeeper.policy.model import Policy, Waiver
from gatekeeper.policy.remote import TIMEOUT as FETCH_TIMEOUT
from gatekeeper.policy.remote import Fetcher, default_cache_dir
from gatekeeper.policy.waivers import InlineProblem, parse_inline
from gatekeeper.report import Report
from gatekeeper.rule import Rule
from gatekeeper.rules import all_rules
from gatekeeper.runtime import LOCAL_TRANSPORTS, RunOptions, RunRequest, not_local, run_options
from gatekeeper.scanners import run_scanner
from gatekeeper.sources import ImageRef, SourceOptions, open_image, parse_reference


def request_for(policy: Policy, rules: Sequence[Rule[Any]]) -> Request:
    """The union of what the enabled rules need: config only unless one needs more."""
    need, wanted = Need.CONFIG, NOTHING
    for rule in rules:
        setting = policy.setting(rule.id, rule.default_enabled)
        if not setting.enabled:
            continue
        req = rule.needs(rule.build_options(setting.options))
        need |= req.need
        wanted = wanted.merge(req.wanted)
    return Request(need, wanted)


def subject_key(ref: ImageRef | None) -> str:
    """The image name without tag or digest: fingerprints stay stable across releases."""
    return repository(ref.display_name) if ref is not None else ""


def reference_names(ref: ImageRef | None, repo_tags: Sequence[str] = ()) -> tuple[str, ...]:
    """What waiver `images` and profile `match` globs are tried against."""
    if ref is None:
        return ()
    names = [str(ref), ref.display_name, *repo_tags]
    names += [repository(n) for n in names]
    return tuple(dict.fromkeys(n for n in names if n))


def build_target(
    image: ImageFacts | None,
    ref: ImageRef | None,
    inputs: Inputs,
    *,
    now: datetime | None = None,
    scans: tuple[ScanReport, ...] = (),
    scan_notes: tuple[str, ...] = (),
    policy: Policy | None = None,
    rules: Sequence[Rule[Any]] = (),
) -> Target:
    """Join the image, the repository files and the policy's waivers into what rules read."""
    matched: dict[int, Any] = {}
    if image is not None and inputs.dockerfile is not None:
        matched = match_history(inputs.dockerfile, image.history)
    names = reference_names(ref, image.repo_tags if image else ())
    waivers: tuple[Waiver, ...] = policy.waivers if policy is not None else ()
    problems: tuple[InlineProblem, ...] = ()
    if policy is not None and inputs.dockerfile is not None:
        inline, problems = parse_inline(inputs.dockerfile, rules, policy)
        waivers += inline
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
        image_names=names,
        waivers=waivers,
        inline_problems=tuple((p.line, p.message, p.detail) for p in problems),
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


def _run(
    target: Target,
    ref: ImageRef,
    run: RunOptions,
    options: SourceOptions,
    notify: Callable[[str], None] | None,
) -> Target:
    """Start the image (--run) with the settings of the first workload that runs it."""
    from gatekeeper.runtime.runner import run_image

    workload = next((w for w in target.image_workloads if not w.init), None)
    facts = run_image(ref, target.image, workload, run, options, notify)
    return dataclasses.replace(target, runtime=facts)


def policy_fetcher(
    environ: Mapping[str, str], cache_dir: str | None = None, timeout: float = FETCH_TIMEOUT
) -> Fetcher:
    """How remote policies are fetched and cached (default ~/.cache/gatekeeper/policies);
    `timeout` (default 60 s): for each fetch, as --timeout gives it."""
    return Fetcher(Path(cache_dir) if cache_dir else default_cache_dir(environ), environ, timeout)


def check(
    image: str | None,
    *,
    policies: Sequence[str] = (),
    fail_on: Severity | None = None,
    options: SourceOptions | None = None,
    inputs: InputOptions | None = None,
    profile: str | None = None,
    policy_cache: str | None = None,
    run: RunRequest | None = None,
    notify: Callable[[str], None] | None = None,
) -> Report:
    """Judge one image (and the files around it) against the policies (default: builtin:default).

    `run` (with the policy's `runtime:` section) decides whether the image is also started on the
    local engine (`--run`); `notify` receives the one-line notice given before the image's code runs.
    """
    started = datetime.now(UTC)
    clock = time.monotonic()
    options = options or SourceOptions()
    rules = all_rules()
    ref = parse_reference(image) if image is not None else None  # "" is a usage error
    policy = load_policy(
        policies,
        rules,
        image_names=reference_names(ref),
        profile=profile,
        fetcher=policy_fetcher(options.environ, policy_cache, options.timeout),
    )
    if fail_on is not None:
        policy = dataclasses.replace(policy, fail_on=fail_on)
    runtime = run_options(policy.runtime, run)
    if runtime.requested and ref is not None and ref.transport not in LOCAL_TRANSPORTS:
        raise UsageError(f"--run: {not_local(ref)}")
    gathered = gather(inputs or InputOptions(discover=False))
    # Integrity checks a source runs in the background (layer hashes) end with this block: they
    # overlap with the rules, and a failed one raises here, so no verdict on bad data gets out.
    with ExitStack() as pending:
        facts = None
        if ref is not None:
            facts = open_image(ref, request_for(policy, rules), options, defer=pending)
        scans, notes = _run_scanner(policy, rules, ref, gathered, options)
        target = build_target(
            facts, ref, gathered, now=started, scans=scans, scan_notes=notes, policy=policy, rules=rules
        )
        if runtime.enabled and ref is not None:
            pending.close()  # the image is verified before any of it runs
            target = _run(target, ref, runtime, options, notify)
        report = evaluate(target, policy, rules, subject_key=subject_key(ref), started_at=started)
    return dataclasses.replace(report, duration_s=time.monotonic() - clock)
