"""The one place layering rules live: `merge(base, top)` of two normalised policy documents.

A normalised document is `{"fail_on"?: str, "rules": {rule_id: {"enabled"?, "severity"?,
"options"?: {...}}}}` (the loader turns files into that shape first).

- scalars (`fail_on`): the top document wins when it sets them;
- `rules`: merged rule by rule; inside a rule, `enabled` and `severity` are scalars and
  `options` are merged key by key (a list option is replaced, not concatenated);
- neither input is modified.

`merge` is associative, and `merge(a, a) == a` (idempotent).
"""

from __future__ import annotations

from typing import Any


def merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: v for k, v in base.items() if k != "rules"}
    out.update({k: v for k, v in top.items() if k != "rules"})
    rules: dict[str, Any] = {rule: dict(s) for rule, s in base.get("rules", {}).items()}
    for rule, setting in top.get("rules", {}).items():
        current = rules.get(rule, {})
        combined = {**current, **{k: v for k, v in setting.items() if k != "options"}}
        if "options" in setting or "options" in current:
            combined["options"] = {**current.get("options", {}), **setting.get("options", {})}
        rules[rule] = combined
    out["rules"] = rules
    return out
