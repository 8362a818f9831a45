"""A waiver has expired.

Exceptions are temporary by design: each waiver names a reason and the last day it applies.
After that day it no longer hides anything, and the expired waiver itself fails the gate, so
somebody either fixes the finding or renews the exception on purpose.

Why: waivers without an end become permanent holes in the checklist nobody remembers.

How to fix: fix what the waiver covered and delete the waiver, or, if the exception is still
needed, renew it with a new `expires` date (and a reason that says why).

Fails: a policy or inline waiver whose `expires` day has passed.
Passes: every waiver is still valid (or there are none). Always on, even when no policy lists it.
"""

from __future__ import annotations

from collections.abc import Iterator

from gatekeeper.facts import Target
from gatekeeper.findings import Location, Severity
from gatekeeper.rule import Checklist, Evidence, Item, NoOptions, Rule, Violation
from gatekeeper.units import is_uint


def origin_location(origin: str, pointer: str) -> Location:
    """`team.yaml:14` -> Location("team.yaml", 14)."""
    path, sep, line = origin.rpartition(":")
    if sep and is_uint(line):
        return Location(path, int(line), pointer)
    return Location(origin or "policy", None, pointer)


def check(target: Target, _: NoOptions) -> Iterator[Item]:
    today = target.now.date() if target.now is not None else None
    if today is None:
        return
    expired = [w for w in target.waivers if w.expired(today)]
    for waiver in expired:
        who = f", owner {waiver.owner}" if waiver.owner else ""
        ticket = f", {waiver.ticket}" if waiver.ticket else ""
        yield Violation(
            f"The waiver for {waiver.rule} expired on {waiver.expires.isoformat()} "
            f"(reason: {waiver.reason}{who}{ticket}); it no longer applies.",
            origin_location(waiver.origin, "waivers"),
            detail=f"{waiver.rule}:{waiver.origin}",
        )
    if not expired:
        count = len(target.waivers)
        yield Evidence(f"{count} waiver(s), none expired" if count else "no waivers")


RULE = Rule(
    id="GK-POL-001",
    name="waiver-expired",
    title="A waiver has expired",
    checklist=Checklist.POLICY,
    severity=Severity.HIGH,
    check=check,
    fix="Fix the finding and delete the waiver, or renew it with a new `expires` date and reason.",
    doc=__doc__ or "",
    options=NoOptions,
    default_enabled=True,
    always_blocking=True,
)
