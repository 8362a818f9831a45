"""Render the effective policy as YAML, each value with the file and line it came from.

`gatekeeper policy show --origin` is how a user debugs `extends`: it answers "why is this rule
high?" with "team.yaml:12".
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from gatekeeper.policy.model import Policy
from gatekeeper.rule import Rule

_NUMBER = re.compile(r"^[0-9.eE+-]+$")
_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        plain = _PLAIN.match(value) and not _NUMBER.match(value) and value not in ("true", "false", "null")
        return value if plain else json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False)


def _line(indent: int, key: str, value: Any, origin: str | None) -> str:
    comment = f"  # {origin}" if origin else ""
    return f"{'  ' * indent}{key}: {_scalar(value)}{comment}"


def _rule_lines(
    rules: Mapping[str, Any], names: Mapping[str, str], origins: Mapping[str, str], prefix: str, indent: int
) -> list[str]:
    out = []
    for rule_id in sorted(rules):
        out.append(f"{'  ' * indent}{rule_id}:  # {names.get(rule_id, '?')}")
        setting = rules[rule_id]
        for key in ("enabled", "severity", "locked"):
            if key in setting:
                out.append(_line(indent + 1, key, setting[key], origins.get(f"{prefix}{rule_id}.{key}")))
        if setting.get("options"):
            out.append(f"{'  ' * (indent + 1)}options:")
            for option, value in sorted(setting["options"].items()):
                out.append(
                    _line(indent + 2, option, value, origins.get(f"{prefix}{rule_id}.options.{option}"))
                )
    return out


def render(policy: Policy, catalogue: Sequence[Rule[Any]], with_origin: bool) -> str:
    names = {r.id: r.name for r in catalogue}
    origins = policy.origins if with_origin else {}
    doc = policy.document
    out = ["# effective gatekeeper policy", f"# sources: {', '.join(s.origin for s in policy.sources)}"]
    if policy.profile:
        out.append(f"# profile: {policy.profile}")
    out.append("version: 1")
    out.append(
        _line(0, "fail_on", policy.fail_on.label, origins.get("fail_on") if "fail_on" in doc else "default")
    )
    out.append(
        _line(0, "allow_inline_waivers", policy.allow_inline_waivers, origins.get("allow_inline_waivers"))
    )
    out.append("rules:")
    out.extend(_rule_lines(doc.get("rules", {}), names, origins, "rules.", 1))
    if doc.get("runtime"):
        out.append("runtime:")
        for key, value in sorted(doc["runtime"].items()):
            out.append(_line(1, key, value, origins.get(f"runtime.{key}")))
    if policy.waivers:
        out.append("waivers:")
        for w in policy.waivers:
            origin = f"  # {w.origin}" if with_origin and w.origin else ""
            out.append(f"  - rule: {w.rule}{origin}")
            out.append(f"    reason: {_scalar(w.reason)}")
            out.append(f"    expires: {w.expires.isoformat()}")
            for key, value in (
                ("images", list(w.images)),
                ("paths", list(w.paths)),
                ("owner", w.owner),
                ("ticket", w.ticket),
            ):
                if value:
                    out.append(f"    {key}: {_scalar(value)}")
    profiles = doc.get("profiles", {})
    if profiles:
        out.append("profiles:")
        for name, profile in profiles.items():
            out.append(f"  {name}:")
            for key in ("match", "fail_on"):
                if key in profile:
                    out.append(_line(2, key, profile[key], origins.get(f"profiles.{name}.{key}")))
            if profile.get("rules"):
                out.append("    rules:")
                out.extend(_rule_lines(profile["rules"], names, origins, f"profiles.{name}.rules.", 3))
    return "\n".join(out) + "\n"


INIT_TEMPLATE = """\
# gatekeeper policy for this repository (see `gatekeeper policy schema` and `gatekeeper rules`).
# It builds on {base}; only write what this repository does differently.
version: 1
extends: [{base}]

# The lowest severity that fails the gate: info, low, medium, high or critical.
# fail_on: medium

# Tighten or relax a rule by name (or id, e.g. GK-IMG-003):
# rules:
#   image-size:
#     options: {{max: 150MB}}
#   labels-missing:
#     severity: medium

# Exceptions need a reason and an expiry; expired waivers fail the gate.
# waivers:
#   - rule: healthcheck-missing
#     images: ["registry.example.com/batch/*"]
#     reason: "batch job without a server; JIRA-123"
#     expires: 2027-03-31

# Environment profiles, picked by the image reference (or --profile):
# profiles:
#   prod:
#     match: ["*:prod", "*:v*"]
#     fail_on: medium
#   dev:
#     match: ["*:dev", "*:pr-*"]
#     fail_on: critical
"""
