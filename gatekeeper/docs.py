"""Generate docs/rules.md from the rule catalogue: each rule's docstring is its documentation.

python -m gatekeeper.docs > docs/rules.md     (tests/test_docs.py fails when it is stale)
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from gatekeeper import yamlpos
from gatekeeper.policy.loader import builtin_dir
from gatekeeper.rule import Checklist, Rule, option_schema
from gatekeeper.rules import all_rules


def _options(rule: Rule[Any]) -> list[str]:
    if not dataclasses.fields(rule.options):
        return []
    schema = option_schema(rule.options)
    lines = ["", "| option | type | default |", "|---|---|---|"]
    for name, prop in schema["properties"].items():
        kind = prop.get("type") or ("one of " + ", ".join(map(str, prop["enum"])) if "enum" in prop else "")
        kind = " or ".join(kind) if isinstance(kind, list) else kind
        if prop.get("type") == "array":
            kind = "list"
        default = json.dumps(prop.get("default"), ensure_ascii=False)
        lines.append(f"| `{name}` | {kind} | `{default}` |")
    return lines


def _defaults() -> dict[str, str]:
    """rule name -> severity in builtin:default ("off" when not listed)."""
    doc = yamlpos.load((builtin_dir() / "default.yaml").read_text("utf-8")).data
    out = {}
    for key, value in (doc.get("rules") or {}).items():
        out[key] = (
            (value or {}).get("severity", "on") if isinstance(value, dict) else ("on" if value else "off")
        )
    return out


def render() -> str:
    rules = all_rules()
    defaults = _defaults()
    out = [
        "# Rule catalogue",
        "",
        "Generated from the rules' docstrings by `python -m gatekeeper.docs`; do not edit by hand.",
        "`gatekeeper explain NAME` prints the same text. Policies may name a rule by name or id.",
        "",
        "| id | name | checklist item | default severity | in builtin:default |",
        "|---|---|---|---|---|",
    ]
    for rule in rules:
        enabled = "always on" if rule.default_enabled else defaults.get(rule.name, "off")
        out.append(
            f"| {rule.id} | [`{rule.name}`](#{rule.name}) | {rule.checklist.value} "
            f"| {rule.severity.label} | {enabled} |"
        )
    for item in Checklist:
        members = [r for r in rules if r.checklist is item]
        if not members:
            continue
        out += ["", f"## {item.value}"]
        for rule in members:
            title, _, body = rule.doc.strip().partition("\n")
            out += [
                "",
                f'<a id="{rule.name}"></a>',
                f"### `{rule.name}` ({rule.id}): {title.rstrip('.')}",
                "",
            ]
            out.append(body.strip())
            out += ["", f"**Fix:** {rule.fix}  ", f"**Default severity:** {rule.severity.label}"]
            out += _options(rule)
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(render(), end="")
