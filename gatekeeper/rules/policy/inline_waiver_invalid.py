"""An inline waiver in the Dockerfile is invalid or not allowed.

Teams may waive a finding next to the code it concerns with a Dockerfile comment:

    # gatekeeper: waive image-size reason="ML model weights" expires=2027-03-31

Such a waiver follows the same rules as one in a policy file: it needs a reason and an expiry,
it cannot touch a rule the organisation locked, and an organisation policy can forbid inline
waivers altogether (`allow_inline_waivers: false`). A waiver that breaks these rules is ignored
and reported here, so nobody believes a finding is waived when it is not.

Why: inline ignores without rules are how company checks get quietly switched off (hadolint
#346, checkov #4027).

How to fix: write the waiver as `# gatekeeper: waive RULE reason="..." expires=YYYY-MM-DD`, move
it into the repository's policy file, or fix the finding.

Fails: an inline waiver with a syntax error, an unknown rule, no reason or no expiry; one for a
locked rule; any inline waiver when the policy forbids them.
Passes: every inline waiver is valid and allowed (or there are none). Always on.
"""

from __future__ import annotations

from collections.abc import Iterator

from gatekeeper.facts import Target
from gatekeeper.findings import Location, Severity
from gatekeeper.rule import Checklist, Evidence, Item, NoOptions, Rule, Violation


def check(target: Target, _: NoOptions) -> Iterator[Item]:
    path = target.dockerfile.path if target.dockerfile is not None else "Dockerfile"
    for line, message, detail in target.inline_problems:
        yield Violation(f"Line {line}: {message}.", Location(path, line, "gatekeeper: waive"), detail=detail)
    if not target.inline_problems:
        inline = sum(1 for w in target.waivers if w.inline)
        yield Evidence(f"{inline} inline waiver(s), all valid" if inline else "no inline waivers")


RULE = Rule(
    id="GK-POL-002",
    name="inline-waiver-invalid",
    title="An inline waiver in the Dockerfile is invalid or not allowed",
    checklist=Checklist.POLICY,
    severity=Severity.HIGH,
    check=check,
    fix='Write `# gatekeeper: waive RULE reason="..." expires=YYYY-MM-DD`, or use the policy file.',
    doc=__doc__ or "",
    options=NoOptions,
    default_enabled=True,
    always_blocking=True,
)
