"""The one place layering rules live: `merge(base, top)` of two normalised policy documents.

A normalised document has the keys of a policy file with rules keyed by rule id:
`{"fail_on"?, "allow_inline_waivers"?, "rules": {id: {"enabled"?, "severity"?, "locked"?,
"options"?: {...}}}, "waivers": [...], "profiles": {name: {"match"?, "fail_on"?, "rules"?}}}`.

- scalars (`fail_on`, `allow_inline_waivers`): the top document wins when it sets them;
- `rules`: merged rule by rule; inside a rule, `enabled`, `severity` and `locked` are scalars and
  `options` are merged key by key (a list option is replaced, not concatenated);
- `waivers`: concatenated, base first;
- `profiles`: merged profile by profile: `match` and `fail_on` replaced, `rules` merged as above;
- `runtime` (the `--run` settings): merged key by key, the top document wins per key; present in
  the result only when one of the inputs has it;
- neither input is modified.

`merge` is associative, and merging a document onto itself changes nothing but the waiver list
(which it doubles). Whether a merge is *allowed* (locked rules) is checked by the loader, which
knows which file set what.
"""

from __future__ import annotations

from typing import Any

SCALARS = ("fail_on", "allow_inline_waivers")


def merge_rules(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    rules: dict[str, Any] = {rule: dict(setting) for rule, setting in base.items()}
    for rule, setting in top.items():
        current = rules.get(rule, {})
        combined = {**current, **{k: v for k, v in setting.items() if k != "options"}}
        if "options" in setting or "options" in current:
            combined["options"] = {**current.get("options", {}), **setting.get("options", {})}
        rules[rule] = combined
    return rules


def _merge_profiles(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    profiles: dict[str, Any] = {name: dict(p) for name, p in base.items()}
    for name, profile in top.items():
        current = profiles.get(name, {})
        combined = {**current, **{k: v for k, v in profile.items() if k != "rules"}}
        if "rules" in profile or "rules" in current:
            combined["rules"] = merge_rules(current.get("rules", {}), profile.get("rules", {}))
        profiles[name] = combined
    return profiles


def merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: base[k] for k in SCALARS if k in base}
    out.update({k: top[k] for k in SCALARS if k in top})
    out["rules"] = merge_rules(base.get("rules", {}), top.get("rules", {}))
    out["waivers"] = [*base.get("waivers", ()), *top.get("waivers", ())]
    out["profiles"] = _merge_profiles(base.get("profiles", {}), top.get("profiles", {}))
    if "runtime" in base or "runtime" in top:
        out["runtime"] = {**base.get("runtime", {}), **top.get("runtime", {})}
    return out
