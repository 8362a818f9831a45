from __future__ import annotations

from datetime import date

from gatekeeper.policy.model import Waiver
from gatekeeper.rules.policy.inline_waiver_invalid import RULE
from tests.factories import target, target_evidence, target_violations


def test_problems_become_findings_at_their_line() -> None:
    tgt = target(
        dockerfile="FROM a:1\n# gatekeeper: waive x\n",
        inline_problems=((2, "invalid inline waiver: unknown rule 'x'", "invalid:2"),),
    )
    [v] = target_violations(RULE, tgt)
    assert v.message == "Line 2: invalid inline waiver: unknown rule 'x'."
    assert (v.location.artifact, v.location.line) == ("Dockerfile", 2)


def test_valid_inline_waivers_counted() -> None:
    inline = Waiver("GK-IMG-003", "model weights", date(2099, 1, 1), origin="Dockerfile:2", inline=True)
    assert target_evidence(RULE, target(dockerfile="FROM a:1\n", waivers=(inline,))) == [
        "1 inline waiver(s), all valid"
    ]
    assert target_evidence(RULE, target()) == ["no inline waivers"]
