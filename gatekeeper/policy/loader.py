"""Read policy files, validate each one on its own, resolve `extends`, merge, check meaning.

Errors name the file, line, column and key: `team.yaml:7:5: rules.image-size.options.max: ...`.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from gatekeeper.errors import PolicyError
from gatekeeper.findings import Severity
from gatekeeper.policy.merge import merge
from gatekeeper.policy.model import Policy, PolicySource, RuleSetting
from gatekeeper.rule import OptionError, Rule

BUILTIN = "builtin:"
DEFAULT_FAIL_ON = Severity.MEDIUM
MAX_DEPTH = 16


def schema() -> dict[str, Any]:
    text = resources.files("gatekeeper.policy").joinpath("schema.json").read_text("utf-8")
    value: dict[str, Any] = json.loads(text)
    return value


def builtin_dir() -> Path:
    """Built-in policies: inside the wheel (`gatekeeper/_policies`) or the source checkout."""
    packaged = Path(str(resources.files("gatekeeper"))) / "_policies"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "policies"


def builtin_names() -> list[str]:
    return sorted(p.stem for p in builtin_dir().glob("*.yaml"))


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys instead of silently keeping the last one."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", mark)
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


@dataclass(frozen=True)
class _Doc:
    origin: str
    path: Path | None
    data: dict[str, Any]
    node: yaml.Node | None
    digest: str


def _locate(node: yaml.Node | None, path: Sequence[Any], at_key: bool = False) -> tuple[int, int] | None:
    """Line and column (1-based) of the YAML value (or its key) at a JSON path."""
    if node is None:
        return None
    best = node
    for part in path:
        found = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if getattr(key_node, "value", None) == str(part):
                    found = value_node
                    best = key_node if at_key else value_node
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            found = node.value[part]
            best = found
        if found is None:
            break
        node = found
    return best.start_mark.line + 1, best.start_mark.column + 1


def _error(doc: _Doc, path: Sequence[Any], message: str, at_key: bool = False) -> PolicyError:
    where = _locate(doc.node, path, at_key)
    prefix = f"{doc.origin}:{where[0]}:{where[1]}" if where else doc.origin
    key = ".".join(str(p) for p in path)
    return PolicyError(f"{prefix}: {key + ': ' if key else ''}{message}")


def _read(spec: str, base: Path | None) -> tuple[str, Path | None, bytes]:
    if spec.startswith(BUILTIN):
        name = spec[len(BUILTIN) :]
        path = builtin_dir() / f"{name}.yaml"
        if not name or not path.is_file():
            known = ", ".join(BUILTIN + n for n in builtin_names())
            raise PolicyError(f"unknown built-in policy {spec!r} (built-in: {known})")
        return spec, path, path.read_bytes()
    if "://" in spec or spec.startswith("git+"):
        raise PolicyError(f"{spec}: remote policies are not supported yet; use a local file")
    path = Path(spec) if base is None or os.path.isabs(spec) else base / spec
    try:
        return str(path), path.resolve(), path.read_bytes()
    except FileNotFoundError:
        raise PolicyError(f"{path}: policy file not found") from None
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read policy: {exc.strerror or exc}") from None


def _parse(origin: str, path: Path | None, raw: bytes) -> _Doc:
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except UnicodeDecodeError:
        raise PolicyError(f"{origin}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PolicyError(f"{origin}{where}: invalid YAML: {problem}") from None
    if data is None:
        raise PolicyError(f"{origin}: the policy file is empty (it needs at least `version: 1`)")
    doc = _Doc(origin, path, data if isinstance(data, dict) else {}, node, digest)
    if not isinstance(data, dict):
        raise _error(doc, [], "a policy file must be a mapping (key: value)")
    return doc


def _validate(doc: _Doc) -> None:
    validator = jsonschema.Draft7Validator(schema())
    errors = sorted(validator.iter_errors(doc.data), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    error = jsonschema.exceptions.best_match(errors)
    path = list(error.absolute_path)
    message = error.message
    if error.validator == "additionalProperties":
        extra = [k for k in error.instance if k not in error.schema.get("properties", {})]
        if extra:
            path = [*path, extra[0]]
            close = difflib.get_close_matches(extra[0], list(error.schema.get("properties", {})), 1)
            message = f"unknown key {extra[0]!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
            raise _error(doc, path, message, at_key=True)
    elif error.validator == "const" and path == ["version"]:
        message = f"unsupported policy version {error.instance!r} (this gatekeeper reads version 1)"
    raise _error(doc, path, message)


def _normalize(doc: _Doc, catalogue: Sequence[Rule[Any]]) -> dict[str, Any]:
    """Rule keys -> ids, `true/false` shorthand -> {enabled}, options checked per file."""
    by_key = {r.id: r for r in catalogue} | {r.name: r for r in catalogue}
    rules: dict[str, dict[str, Any]] = {}
    for key, value in (doc.data.get("rules") or {}).items():
        rule = by_key.get(key) or by_key.get(key.upper())
        if rule is None:
            close = difflib.get_close_matches(key, [r.name for r in catalogue], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise _error(doc, ["rules", key], f"unknown rule{hint}; see `gatekeeper rules`", True)
        if rule.id in rules:
            raise _error(doc, ["rules", key], f"rule {rule.name} is set twice (name and id)", True)
        setting: dict[str, Any] = {"enabled": value} if isinstance(value, bool) else dict(value)
        if "options" in setting:
            try:
                rule.build_options(setting["options"])
            except OptionError as exc:
                raise _error(doc, ["rules", key, "options"], str(exc)) from None
        rules[rule.id] = setting
    out: dict[str, Any] = {"rules": rules}
    if "fail_on" in doc.data:
        out["fail_on"] = doc.data["fail_on"]
    return out


def _extends(doc: _Doc) -> list[str]:
    value = doc.data.get("extends") or []
    return [value] if isinstance(value, str) else list(value)


class _Resolver:
    def __init__(self, catalogue: Sequence[Rule[Any]]) -> None:
        self.catalogue = catalogue
        self.sources: list[PolicySource] = []

    def load(self, spec: str, base: Path | None, chain: tuple[str, ...]) -> dict[str, Any]:
        origin, path, raw = _read(spec, base)
        key = str(path) if path is not None else origin
        if key in chain:
            names = [*chain, key]
            raise PolicyError("policy extends itself: " + " -> ".join(names))
        if len(chain) >= MAX_DEPTH:
            raise PolicyError(f"{origin}: `extends` is nested more than {MAX_DEPTH} levels deep")
        doc = _parse(origin, path, raw)
        _validate(doc)
        own = _normalize(doc, self.catalogue)
        merged: dict[str, Any] = {}
        parent_dir = path.parent if path is not None and not origin.startswith(BUILTIN) else None
        for parent in _extends(doc):
            if parent.startswith(BUILTIN) or parent_dir is not None:
                merged = merge(merged, self.load(parent, parent_dir, (*chain, key)))
            else:
                raise PolicyError(f"{origin}: a built-in policy can only extend builtin: policies")
        self.sources.append(PolicySource(origin, doc.digest))
        return merge(merged, own)


def load_policy(specs: Sequence[str], catalogue: Sequence[Rule[Any]]) -> Policy:
    """Load and merge the given policies (left to right); an empty list means builtin:default."""
    specs = list(specs) or [BUILTIN + "default"]
    resolver = _Resolver(catalogue)
    merged: dict[str, Any] = {}
    for spec in specs:
        merged = merge(merged, resolver.load(spec, None, ()))
    return _build(merged, specs, resolver.sources, catalogue)


def _build(
    merged: dict[str, Any],
    specs: Sequence[str],
    sources: Sequence[PolicySource],
    catalogue: Sequence[Rule[Any]],
) -> Policy:
    by_id = {r.id: r for r in catalogue}
    rules: dict[str, RuleSetting] = {}
    for rule_id, setting in merged.get("rules", {}).items():
        options = setting.get("options", {})
        try:
            by_id[rule_id].build_options(options)
        except OptionError as exc:  # pragma: no cover - each file was checked already
            raise PolicyError(str(exc)) from None
        severity = setting.get("severity")
        rules[rule_id] = RuleSetting(
            enabled=setting.get("enabled", True),
            severity=Severity.parse(severity) if severity else None,
            options=options,
        )
    fail_on = merged.get("fail_on")
    return Policy(
        name=", ".join(specs),
        fail_on=Severity.parse(fail_on) if fail_on else DEFAULT_FAIL_ON,
        rules=rules,
        sources=tuple(sources),
    )
