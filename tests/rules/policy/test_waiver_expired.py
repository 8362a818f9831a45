from __future__ import annotations

from datetime import UTC, date, datetime

from gatekeeper.policy.model import Waiver
from gatekeeper.rules.policy.waiver_expired import RULE, origin_location
from tests.factories import target, target_evidence, target_violations

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def waiver(expires: date, origin: str = "team.yaml:14") -> Waiver:
    return Waiver("GK-IMG-001", "legacy base image", expires, owner="team-a", ticket="OPS-7", origin=origin)


def test_expired_waiver_is_a_finding_at_its_line() -> None:
    [v] = target_violations(RULE, target(waivers=(waiver(date(2026, 5, 31)),), now=NOW))
    assert v.message == (
        "The waiver for GK-IMG-001 expired on 2026-05-31 (reason: legacy base image, owner team-a, "
        "OPS-7); it no longer applies."
    )
    assert (v.location.artifact, v.location.line) == ("team.yaml", 14)


def test_waiver_applies_through_its_last_day() -> None:
    tgt = target(waivers=(waiver(date(2026, 6, 1)),), now=NOW)
    assert target_violations(RULE, tgt) == []
    assert target_evidence(RULE, tgt) == ["1 waiver(s), none expired"]


def test_no_waivers() -> None:
    assert target_evidence(RULE, target(now=NOW)) == ["no waivers"]


def test_origin_location() -> None:
    assert origin_location("Dockerfile:3", "x").line == 3
    assert origin_location("builtin:default", "x").artifact == "builtin:default"
    assert origin_location("", "x").artifact == "policy"
