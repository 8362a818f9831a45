"""Waivers: matching findings, and inline waivers written as Dockerfile comments.

    # gatekeeper: waive secret-files reason="test fixture key, not used" expires=2027-01-31
    # gatekeeper: waive image-size reason="ML model weights" expires=2027-03-31 ticket=OPS-12

A waiver applies to the findings of its rule whose image matches one of `images` (globs on the
image reference and its names; none = any image) and whose file or path matches one of `paths`
(globs; none = any). It applies up to and including its `expires` day; after that it no longer
applies and is itself a finding that fails the gate. Waived findings stay in every report.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gatekeeper.facts.dockerfile import Dockerfile
from gatekeeper.findings import Finding
from gatekeeper.policy.model import Policy, Waiver
from gatekeeper.rule import Rule
from gatekeeper.rules import find_rule

_INLINE = re.compile(r"^\s*#\s*gatekeeper:\s*(.*)$")
FIELDS = frozenset({"reason", "expires", "owner", "ticket", "paths"})


@dataclass(frozen=True)
class InlineProblem:
    line: int
    message: str
    detail: str


def matches(waiver: Waiver, finding: Finding, image_names: Iterable[str]) -> bool:
    if waiver.rule != finding.rule.id:
        return False
    names = list(image_names)
    if waiver.images and not any(fnmatch.fnmatchcase(n, g) for g in waiver.images for n in names):
        return False
    if not waiver.paths:
        return True
    places = [finding.location.artifact, finding.location.pointer]
    return any(fnmatch.fnmatchcase(p, g) for g in waiver.paths for p in places if p)


def parse_inline(
    dockerfile: Dockerfile, catalogue: Sequence[Rule[Any]], policy: Policy
) -> tuple[tuple[Waiver, ...], tuple[InlineProblem, ...]]:
    """Inline waivers of a Dockerfile, and what is wrong with the ones that cannot apply."""
    waivers: list[Waiver] = []
    problems: list[InlineProblem] = []
    for number, line in enumerate(dockerfile.text.splitlines(), start=1):
        match = _INLINE.match(line)
        if match is None:
            continue
        where = f"{dockerfile.path}:{number}"
        try:
            waiver = _parse_one(match.group(1), where, catalogue)
        except ValueError as exc:
            problems.append(InlineProblem(number, f"invalid inline waiver: {exc}", f"invalid:{number}"))
            continue
        setting = policy.setting(waiver.rule)
        if not policy.allow_inline_waivers:
            problems.append(
                InlineProblem(
                    number, "inline waivers are not allowed by the policy", f"forbidden:{waiver.rule}"
                )
            )
        elif setting.locked_by:
            problems.append(
                InlineProblem(
                    number,
                    f"rule {waiver.rule} is locked by {setting.locked_by}; it cannot be waived",
                    f"locked:{waiver.rule}",
                )
            )
        else:
            waivers.append(waiver)
    return tuple(waivers), tuple(problems)


def _parse_one(text: str, where: str, catalogue: Sequence[Rule[Any]]) -> Waiver:
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    if len(words) < 2 or words[0] != "waive":
        raise ValueError('expected `waive RULE reason="..." expires=YYYY-MM-DD`')
    rule = find_rule(catalogue, words[1])
    if rule is None:
        raise ValueError(f"unknown rule {words[1]!r}")
    fields: dict[str, str] = {}
    for word in words[2:]:
        key, sep, value = word.partition("=")
        if not sep or key not in FIELDS:
            raise ValueError(f"unexpected {word!r} (fields: {', '.join(sorted(FIELDS))})")
        fields[key] = value
    if len(fields.get("reason", "").strip()) < 3:
        raise ValueError("a waiver needs a reason")
    try:
        expires = dt.date.fromisoformat(fields.get("expires", ""))
    except ValueError:
        raise ValueError("a waiver needs expires=YYYY-MM-DD") from None
    return Waiver(
        rule=rule.id,
        reason=fields["reason"],
        expires=expires,
        paths=tuple(p for p in fields.get("paths", "").split(",") if p),
        owner=fields.get("owner", ""),
        ticket=fields.get("ticket", ""),
        origin=where,
        inline=True,
    )
