"""The vulnerability scan did not pass.

Known vulnerabilities in the image's packages are the most common way images get attacked. The
gate imports what a scanner found (Trivy JSON, Grype JSON or any SARIF) and fails on the ones
that matter by policy, so the scanner and the gate can be upgraded independently.

Why: the article's checklist item "Vulnerability scan passed" and its practice "Scan for
vulnerabilities" (Trivy, Snyk, Anchore).

How to fix: rebuild on a patched base image (`docker build --pull`), upgrade the affected
packages, or remove them from the final stage; run the scanner in CI and pass its report with
`--scan-report trivy.json`, or set `scanner: trivy` to let gatekeeper run it.

Fails: a vulnerability at or above `severity` (only fixable ones with `fixable_only`); a report
older than `max_report_age_days`; with `missing: fail`, no scan report at all.
Passes: every report's vulnerabilities are below the threshold (the evidence counts them).
Skipped: no scan report was given (`missing: skip`, the default).

Options:
- `severity` (default high): the lowest scanner severity that fails.
- `fixable_only` (default false): only vulnerabilities with a fixed version fail.
- `unknown_as` (default medium): how to rank a vulnerability the scanner rated UNKNOWN.
- `grace_days` (default 0): a vulnerability published fewer days ago does not fail yet.
- `max_report_age_days` (default 0 = any age): the report must be this fresh.
- `missing` (default skip): `fail` or `skip` when no report is given.
- `scanner` (default none): `trivy` or `grype` to run that scanner when it is on PATH and no
  report was given.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from gatekeeper.facts import Target
from gatekeeper.facts.scan import ScanReport, Vulnerability
from gatekeeper.findings import Location, Severity
from gatekeeper.rule import Checklist, Evidence, Item, NotApplicable, Rule, Violation

Level = Literal["info", "low", "medium", "high", "critical"]


@dataclass(frozen=True)
class Options:
    severity: Level = "high"
    fixable_only: bool = False
    unknown_as: Level = "medium"
    grace_days: int = 0
    max_report_age_days: int = 0
    missing: Literal["fail", "skip"] = "skip"
    scanner: Literal["none", "trivy", "grype"] = "none"

    def __post_init__(self) -> None:
        for name in ("grace_days", "max_report_age_days"):
            days = getattr(self, name)
            if not 0 <= days <= MAX_DAYS:  # timedelta stops at 999,999,999 days
                raise ValueError(f"option {name!r}: {days} days is not between 0 and {MAX_DAYS}")


MAX_DAYS = 36_500
"""grace_days and max_report_age_days: at most a hundred years."""


def _parse_time(text: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def _blocking(vuln: Vulnerability, options: Options, now: datetime | None) -> bool:
    severity = vuln.severity if vuln.severity is not None else Severity.parse(options.unknown_as)
    if severity < Severity.parse(options.severity):
        return False
    if options.fixable_only and not vuln.fixable:
        return False
    published = _parse_time(vuln.published)
    return not (options.grace_days and now and published and now - published < timedelta(options.grace_days))


def _stale(report: ScanReport, options: Options, now: datetime | None) -> str | None:
    if not options.max_report_age_days or now is None:
        return None
    created = _parse_time(report.created)
    if created is None:
        return "the report does not say when the scan ran"
    age = now - created
    if age > timedelta(days=options.max_report_age_days):
        return f"the scan ran {age.days} days ago (limit {options.max_report_age_days})"
    return None


def _label(vuln: Vulnerability) -> str:
    sev = vuln.severity.label if vuln.severity is not None else "unknown"
    fixed = f", fixed in {vuln.fixed}" if vuln.fixed else ", no fix yet"
    package = f" in {vuln.package} {vuln.installed}".rstrip() if vuln.package else ""
    return f"{vuln.id} ({sev}){package}{fixed}"


def _judge(report: ScanReport, options: Options, now: datetime | None) -> Iterator[Item]:
    where = Location(report.path, None, report.scanner)
    stale = _stale(report, options, now)
    if stale:
        yield Violation(f"{report.path}: {stale}.", where, detail="stale")
    blocking = [v for v in report.vulnerabilities if _blocking(v, options, now)]
    for vuln in sorted(blocking, key=lambda v: (-(v.severity or 0), v.id, v.package)):
        title = f": {vuln.title}" if vuln.title else ""
        yield Violation(
            f"{_label(vuln)}{title}",
            where,
            detail=f"{vuln.id}:{vuln.package}",
            evidence=f"{report.scanner} report {report.path}" + (f", {vuln.target}" if vuln.target else ""),
        )
    if not blocking and not stale:
        total = len(report.vulnerabilities)
        yield Evidence(
            f"{report.scanner} report {report.path}: {total} vulnerabilities, none at or above "
            f"{options.severity}" + (" with a fix" if options.fixable_only else "")
        )


def check(target: Target, options: Options) -> Iterator[Item]:
    if not target.scans:
        note = "; ".join(target.scan_notes) or "no scan report given (--scan-report FILE)"
        if options.missing == "fail":
            yield Violation(
                f"No vulnerability scan passed: {note}.", Location("scan", None, ""), detail="missing"
            )
            return
        raise NotApplicable(note)
    for report in target.scans:
        yield from _judge(report, options, target.now)


RULE = Rule(
    id="GK-SUP-001",
    name="vulnerabilities",
    title="The vulnerability scan did not pass",
    checklist=Checklist.VULNERABILITIES,
    severity=Severity.HIGH,
    check=check,
    fix="Rebuild on a patched base (`docker build --pull`) or upgrade the affected packages.",
    doc=__doc__ or "",
    options=Options,
)
