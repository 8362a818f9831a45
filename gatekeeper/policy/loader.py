"""Read policy files, validate each one on its own, resolve `extends`, merge, check meaning.

Errors name the file, line, column and key: `team.yaml:7:5: rules.image-size.options.max: ...`.
`extends` is resolved depth-first (cycles are an error that shows the chain); a rule locked by a
policy cannot be weakened by a policy that extends it; waivers need a reason and an expiry.
"""

from __future__ import annotations

import datetime as dt
import difflib
import fnmatch
import functools
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from gatekeeper import yamlpos
from gatekeeper.errors import PolicyError
from gatekeeper.findings import Severity
from gatekeeper.policy.merge import merge
from gatekeeper.policy.model import Policy, PolicySource, RuleSetting, Waiver
from gatekeeper.policy.remote import (
    Fetcher,
    default_cache_dir,
    is_remote,
    read_policy_file,
    resolve_relative,
)
from gatekeeper.rule import OptionError, Rule
from gatekeeper.rules import find_rule, unknown_rule
from gatekeeper.units import parse_duration, parse_size

if TYPE_CHECKING:
    import jsonschema

BUILTIN = "builtin:"
_CONTROL = re.compile("[\x00-\x1f\x7f]")
DEFAULT_FAIL_ON = Severity.MEDIUM
MAX_DEPTH = 16
MAX_MEMORY = 2**63 - 1


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


@dataclass(frozen=True)
class _Doc:
    origin: str
    path: Path | None
    data: dict[str, Any]
    node: yaml.Node | None
    digest: str
    resolved: str

    def where(self, path: Sequence[Any], at_key: bool = False) -> str:
        found = yamlpos.locate(self.node, path, at_key)
        return f"{self.origin}:{found[0]}" if found else self.origin

    def error(self, path: Sequence[Any], message: str, at_key: bool = False) -> PolicyError:
        found = yamlpos.locate(self.node, path, at_key)
        prefix = f"{self.origin}:{found[0]}:{found[1]}" if found else self.origin
        key = ".".join(str(p) for p in path)
        return PolicyError(f"{prefix}: {key + ': ' if key else ''}{message}")


def _parse(origin: str, path: Path | None, raw: bytes, resolved: str) -> _Doc:
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    try:
        located = yamlpos.load(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise PolicyError(f"{origin}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise PolicyError(yamlpos.yaml_error(origin, exc)) from None
    data, node = located.data, located.node
    if data is None:
        raise PolicyError(f"{origin}: the policy file is empty (it needs at least `version: 1`)")
    doc = _Doc(origin, path, data if isinstance(data, dict) else {}, node, digest, resolved)
    if not isinstance(data, dict):
        raise doc.error([], "a policy file must be a mapping (key: value)")
    return doc


@functools.cache
def _validator() -> jsonschema.Draft7Validator:
    """The policy schema's validator: built once per process (schema.json is read once).

    jsonschema is imported here, not at the top: it is a third of gatekeeper's start-up (65 ms)
    and `--version`, `rules` and `explain` read no policy."""
    import jsonschema

    return jsonschema.Draft7Validator(schema())


def _validate(doc: _Doc) -> None:
    errors = sorted(_validator().iter_errors(doc.data), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    from jsonschema.exceptions import best_match

    error = best_match(errors)
    path = list(error.absolute_path)
    message = error.message
    quoted = repr(error.instance)
    if len(quoted) > 60:  # jsonschema quotes the whole value: a 400-digit number, a long list
        message = message.replace(quoted, quoted[:40] + "...")
    if error.validator == "additionalProperties":
        known = list(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in known]
        if extra:
            close = difflib.get_close_matches(extra[0], known, 1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise doc.error([*path, extra[0]], f"unknown key {extra[0]!r}{hint}", at_key=True)
    elif error.validator == "const" and path == ["version"]:
        message = f"unsupported policy version {error.instance!r} (this gatekeeper reads version 1)"
    elif error.validator == "type" and error.instance is None:
        message = "is empty; give it a value or remove the key"
    elif error.validator == "required":
        message = message.replace("is a required property", "is required")
    elif error.validator == "pattern" and path and path[-1] == "expires":
        message = f"{error.instance!r} is not a date (write YYYY-MM-DD)"
    raise doc.error(path, message)


class _Normalizer:
    """Turns one validated file into the normalised shape `merge` works on."""

    def __init__(self, doc: _Doc, catalogue: Sequence[Rule[Any]], origins: dict[str, str]) -> None:
        self.doc = doc
        self.catalogue = catalogue
        self.origins = origins

    def rule(self, key: str, path: list[Any]) -> Rule[Any]:
        rule = find_rule(self.catalogue, key)
        if rule is None:
            raise self.doc.error(path, unknown_rule(self.catalogue, key), True)
        return rule

    def rules(self, value: Mapping[str, Any], path: list[Any], prefix: str) -> dict[str, Any]:
        rules: dict[str, dict[str, Any]] = {}
        for key, raw in value.items():
            rule = self.rule(key, [*path, key])
            if rule.id in rules:
                raise self.doc.error([*path, key], f"rule {rule.name} is set twice (name and id)", True)
            setting: dict[str, Any] = {"enabled": raw} if isinstance(raw, bool) else dict(raw)
            if "options" in setting:
                try:
                    rule.build_options(setting["options"])
                except OptionError as exc:
                    raise self.doc.error([*path, key, "options"], str(exc)) from None
            for leaf, leaf_value in setting.items():
                leaves = leaf_value.items() if leaf == "options" else [(None, leaf_value)]
                for option, _ in leaves:
                    dotted = f"{prefix}{rule.id}.{leaf}" + (f".{option}" if option else "")
                    where = [*path, key, leaf, option] if option else [*path, key, leaf]
                    self.origins[dotted] = self.doc.where(
                        where if not isinstance(raw, bool) else [*path, key]
                    )
            rules[rule.id] = setting
        return rules

    def runtime(self, section: Mapping[str, Any]) -> dict[str, Any]:
        """The `runtime:` section: durations and sizes must parse, the timeout be above zero.

        Checked here, where errors name file and line, so `policy validate` rejects what
        `check --run` would (runtime.run_options) instead of leaving it to the run.
        """
        for key, parse in (("timeout", parse_duration), ("observe", parse_duration), ("memory", parse_size)):
            if key in section:
                try:
                    value = parse(section[key])
                except ValueError as exc:
                    raise self.doc.error(["runtime", key], str(exc)) from None
                if key == "timeout" and value <= 0:
                    raise self.doc.error(
                        ["runtime", key], f"must be positive, got {section[key]!r} (write e.g. 60s)"
                    )
                if key == "memory" and value > MAX_MEMORY:  # Docker takes an int64 of bytes
                    raise self.doc.error(
                        ["runtime", key], f"{section[key]!r} is more than Docker can set (8 EiB)"
                    )
        for key in section:
            self.origins[f"runtime.{key}"] = self.doc.where(["runtime", key])
        return dict(section)

    def waiver(self, raw: Mapping[str, Any], index: int) -> dict[str, Any]:
        path: list[Any] = ["waivers", index]
        rule = self.rule(str(raw["rule"]), [*path, "rule"])
        try:
            dt.date.fromisoformat(raw["expires"])
        except ValueError:
            raise self.doc.error([*path, "expires"], f"{raw['expires']!r} is not a valid date") from None
        return {**raw, "rule": rule.id, "_origin": self.doc.where(path)}

    def document(self) -> dict[str, Any]:
        data = self.doc.data
        out: dict[str, Any] = {"rules": self.rules(data.get("rules") or {}, ["rules"], "rules.")}
        for key in ("fail_on", "allow_inline_waivers"):
            if key in data:
                out[key] = data[key]
                self.origins[key] = self.doc.where([key])
        if data.get("runtime"):
            out["runtime"] = self.runtime(data["runtime"])
        out["waivers"] = [self.waiver(w, i) for i, w in enumerate(data.get("waivers") or ())]
        profiles: dict[str, Any] = {}
        for name, profile in (data.get("profiles") or {}).items():
            entry = {k: v for k, v in profile.items() if k != "rules"}
            if "rules" in profile:
                entry["rules"] = self.rules(
                    profile["rules"], ["profiles", name, "rules"], f"profiles.{name}.rules."
                )
            for key in ("match", "fail_on"):
                if key in profile:
                    self.origins[f"profiles.{name}.{key}"] = self.doc.where(["profiles", name, key])
            profiles[name] = entry
        out["profiles"] = profiles
        return out


def _extends(doc: _Doc) -> list[str]:
    value = doc.data.get("extends") or []
    return [value] if isinstance(value, str) else list(value)


@dataclass
class _Lock:
    rule: str
    origin: str
    fail_on: Severity
    """The fail_on in force where the rule was locked."""


@dataclass
class _State:
    doc: dict[str, Any] = field(default_factory=dict)
    locks: dict[str, _Lock] = field(default_factory=dict)
    """rule id -> who locked it."""
    inline_off_by: str = ""


def _severity(setting: Mapping[str, Any], rule: Rule[Any]) -> Severity:
    value = setting.get("severity")
    return Severity.parse(value) if value else rule.severity


@dataclass
class _Documents:
    """The policy files one load_policy has read: each is read (or fetched) and validated once,
    also when the profile pass resolves everything again or two files extend the same one."""

    read: dict[str, _Doc] = field(default_factory=dict)
    """Where the file is (builtin:NAME, the remote spec, the normalised path) -> the file."""
    valid: set[int] = field(default_factory=set)
    """id() of the documents in `read` that passed the schema."""

    def validate(self, doc: _Doc) -> None:
        # Built-in policies ship inside gatekeeper and its tests validate each one against the
        # schema (tests/policy/test_loader.py). Validating them again would import jsonschema,
        # 35 ms, on every run with only built-ins: a fifth of a config-only check.
        if doc.origin.startswith(BUILTIN):
            return
        if id(doc) not in self.valid:
            _validate(doc)
            self.valid.add(id(doc))


class _Resolver:
    def __init__(
        self,
        catalogue: Sequence[Rule[Any]],
        fetcher: Fetcher | None,
        profile: str = "",
        documents: _Documents | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.by_id = {r.id: r for r in catalogue}
        self.fetcher = fetcher
        self.profile = profile
        """The profile to apply where it is defined (so files extending it can still override it)."""
        self.documents = documents if documents is not None else _Documents()
        self.sources: list[PolicySource] = []
        self.origins: dict[str, str] = {}

    def read(self, spec: str, parent: str | None, parent_dir: Path | None) -> _Doc:
        if _CONTROL.search(spec):  # a NUL or an escape from a YAML string: no file, URL or git ref
            shown = spec.encode("unicode_escape").decode("ascii")
            where = f" (extended by {parent})" if parent else ""
            raise PolicyError(f"{shown}: not a valid policy reference (it holds a control character){where}")
        if not spec.startswith(BUILTIN):
            if parent is not None and is_remote(parent) and not is_remote(spec):
                spec = resolve_relative(spec, parent)
            if not is_remote(spec):
                spec = os.path.normpath(
                    spec if parent_dir is None or os.path.isabs(spec) else parent_dir / spec
                )
        doc = self.documents.read.get(spec)
        if doc is None:
            doc = self.documents.read[spec] = self._read(spec)
        return doc

    def _read(self, spec: str) -> _Doc:
        """One policy file; `spec` is builtin:NAME, a remote spec or a normalised local path."""
        if spec.startswith(BUILTIN):
            name = spec[len(BUILTIN) :]
            path = builtin_dir() / f"{name}.yaml"
            # a built-in is a name, not a path: `builtin:../team` must not read ../team.yaml
            if name not in builtin_names() or not path.is_file():
                known = ", ".join(BUILTIN + n for n in builtin_names())
                raise PolicyError(f"unknown built-in policy {spec!r} (built-in: {known})")
            return _parse(spec, None, path.read_bytes(), spec)
        if is_remote(spec):
            if self.fetcher is None:
                raise PolicyError(f"{spec}: remote policies need a cache directory")
            fetched = self.fetcher.fetch(spec)
            return _parse(fetched.origin, None, fetched.data, fetched.resolved)
        path = Path(spec)
        try:
            raw = read_policy_file(path, str(path))
        except FileNotFoundError:
            raise PolicyError(f"{path}: policy file not found") from None
        except IsADirectoryError:
            raise PolicyError(f"{path}: is a directory, not a policy file") from None
        except OSError as exc:
            raise PolicyError(f"{path}: cannot read policy: {exc.strerror or exc}") from None
        return _parse(str(path), path.resolve(), raw, str(path.resolve()))

    def load(self, spec: str, parent: str | None, parent_dir: Path | None, chain: tuple[str, ...]) -> _State:
        doc = self.read(spec, parent, parent_dir)
        key = str(doc.path) if doc.path is not None else doc.origin
        if key in chain:
            raise PolicyError("policy extends itself: " + " -> ".join([*chain, key]))
        if len(chain) >= MAX_DEPTH:
            raise PolicyError(f"{doc.origin}: `extends` is nested more than {MAX_DEPTH} levels deep")
        self.documents.validate(doc)
        state = _State()
        here = doc.path.parent if doc.path is not None else None
        for parent_spec in _extends(doc):
            if doc.origin.startswith(BUILTIN) and not parent_spec.startswith(BUILTIN):
                raise PolicyError(f"{doc.origin}: a built-in policy can only extend builtin: policies")
            self.apply(state, self.load(parent_spec, doc.origin, here, (*chain, key)))
        own = _Normalizer(doc, self.catalogue, self.origins).document()
        self.apply_doc(state, own, doc)
        self.sources.append(PolicySource(doc.origin, doc.digest, doc.resolved))
        return state

    def apply(self, state: _State, upper: _State) -> None:
        """Merge a parent's result into the accumulated state (siblings in `extends` order)."""
        for rule_id, lock in upper.locks.items():
            state.locks.setdefault(rule_id, lock)
        state.inline_off_by = state.inline_off_by or upper.inline_off_by
        state.doc = merge(state.doc, upper.doc)

    def apply_doc(self, state: _State, own: dict[str, Any], doc: _Doc) -> None:
        self.check_locks(state, own, doc)
        if own.get("allow_inline_waivers") is True and state.inline_off_by:
            raise doc.error(
                ["allow_inline_waivers"],
                f"inline waivers are forbidden by {state.inline_off_by}; "
                "a policy extending it cannot allow them",
            )
        if own.get("allow_inline_waivers") is False:
            state.inline_off_by = state.inline_off_by or doc.where(["allow_inline_waivers"])
        merged = merge(state.doc, own)
        fail_on = Severity.parse(merged["fail_on"]) if merged.get("fail_on") else DEFAULT_FAIL_ON
        for rule_id, setting in own["rules"].items():
            if setting.get("locked") and rule_id not in state.locks:
                key = self.key_for(doc.data.get("rules") or {}, rule_id)
                state.locks[rule_id] = _Lock(rule_id, doc.where(["rules", key, "locked"]), fail_on)
        overlay = own["profiles"].get(self.profile) if self.profile else None
        if overlay:
            merged = merge(merged, {k: v for k, v in overlay.items() if k in ("fail_on", "rules")})
            if "fail_on" in overlay:
                self.origins["fail_on"] = self.origins.get(f"profiles.{self.profile}.fail_on", doc.origin)
        state.doc = merged

    def key_for(self, rules: Mapping[str, Any], rule_id: str) -> str:
        """The key a file used for a rule (its name or its id, as written)."""
        rule = self.by_id[rule_id]
        return next((k for k in rules if k in (rule.name, rule.id) or k.upper() == rule.id), rule.name)

    def check_locks(self, state: _State, own: dict[str, Any], doc: _Doc) -> None:
        if not state.locks:
            return
        layers = [("rules", own["rules"])] + [
            (f"profiles.{name}.rules", p.get("rules", {})) for name, p in own["profiles"].items()
        ]
        for where, rules in layers:
            for rule_id, setting in rules.items():
                self._check_rule(state, rule_id, setting, doc, where)
        for index, waiver in enumerate(own["waivers"]):
            lock = state.locks.get(waiver["rule"])
            if lock is not None:
                name = self.by_id[waiver["rule"]].name
                raise doc.error(
                    ["waivers", index], f"rule {name} is locked by {lock.origin}; it cannot be waived"
                )

    def _check_rule(
        self, state: _State, rule_id: str, setting: Mapping[str, Any], doc: _Doc, where: str
    ) -> None:
        lock = state.locks.get(rule_id)
        if lock is None:
            return
        rule = self.by_id[rule_id]
        problems = _weakenings(setting, state.doc["rules"].get(rule_id, {}), rule)
        if problems:
            section: Any = doc.data
            for part in where.split("."):
                section = section.get(part) or {}
            path = [*where.split("."), self.key_for(section, rule_id)]
            raise doc.error(
                path,
                f"rule {rule.name} is locked by {lock.origin}; {doc.origin} cannot {' or '.join(problems)}",
            )


def _waivers(doc: Mapping[str, Any]) -> tuple[Waiver, ...]:
    return tuple(
        Waiver(
            rule=w["rule"],
            reason=w["reason"],
            expires=dt.date.fromisoformat(w["expires"]),
            images=tuple(w.get("images", ())),
            paths=tuple(w.get("paths", ())),
            owner=w.get("owner", ""),
            ticket=w.get("ticket", ""),
            origin=w.get("_origin", ""),
        )
        for w in doc.get("waivers", ())
    )


def select_profile(doc: Mapping[str, Any], names: Iterable[str], wanted: str | None) -> str:
    profiles = doc.get("profiles", {})
    if wanted:
        if wanted not in profiles:
            known = ", ".join(profiles) or "none defined"
            raise PolicyError(f"--profile {wanted}: no such profile (profiles: {known})")
        return wanted
    candidates = list(names)
    for name, profile in profiles.items():
        if any(fnmatch.fnmatchcase(c, pattern) for pattern in profile.get("match", ()) for c in candidates):
            return str(name)
    return ""


def load_policy(
    specs: Sequence[str],
    catalogue: Sequence[Rule[Any]],
    *,
    image_names: Iterable[str] = (),
    profile: str | None = None,
    fetcher: Fetcher | None = None,
) -> Policy:
    """Load and merge the given policies (left to right); an empty list means builtin:default."""
    specs = list(specs) or [BUILTIN + "default"]
    if fetcher is None:
        fetcher = Fetcher(default_cache_dir(os.environ), os.environ)
    documents = _Documents()
    resolver, state = _resolve(specs, catalogue, fetcher, "", documents)
    chosen = select_profile(state.doc, image_names, profile)
    if chosen:  # again, applying the profile in each file that defines it, under what extends it
        resolver, state = _resolve(specs, catalogue, fetcher, chosen, documents)
    return _build(state.doc, specs, resolver, state, chosen)


def _resolve(
    specs: Sequence[str],
    catalogue: Sequence[Rule[Any]],
    fetcher: Fetcher,
    profile: str,
    documents: _Documents,
) -> tuple[_Resolver, _State]:
    """Several --policy files layer like `extends`: each later one on top, locks holding."""
    resolver = _Resolver(catalogue, fetcher, profile, documents)
    state = _State()
    for spec in specs:
        upper = resolver.load(spec, None, None, ())
        if state.locks:
            _check_later_spec(resolver, state, upper, spec)
        resolver.apply(state, upper)
    return resolver, state


def _weakenings(setting: Mapping[str, Any], base: Mapping[str, Any], rule: Rule[Any]) -> list[str]:
    """What `setting` would do to a locked rule whose merged setting so far is `base`."""
    problems = []
    if setting.get("enabled") is False:
        problems.append("disable it")
    if setting.get("locked") is False:
        problems.append("unlock it")
    if "severity" in setting and _severity(setting, rule) < _severity(base, rule):
        problems.append("lower its severity")
    changed = [k for k, v in setting.get("options", {}).items() if base.get("options", {}).get(k) != v]
    if changed:
        problems.append(f"change its options ({', '.join(changed)})")
    return problems


def _check_later_spec(resolver: _Resolver, state: _State, upper: _State, spec: str) -> None:
    """A later --policy may not weaken what an earlier one locked (no file positions here)."""
    layers = [upper.doc.get("rules", {})]
    layers += [p.get("rules", {}) for p in upper.doc.get("profiles", {}).values()]
    for rules in layers:
        for rule_id, setting in rules.items():
            lock = state.locks.get(rule_id)
            if lock is None or upper.locks.get(rule_id) == lock:
                continue
            rule = resolver.by_id[rule_id]
            problems = _weakenings(setting, state.doc["rules"].get(rule_id, {}), rule)
            if problems:
                raise PolicyError(
                    f"{spec}: rule {rule.name} is locked by {lock.origin}; "
                    f"this policy cannot {' or '.join(problems)}"
                )
    for waiver in upper.doc.get("waivers", ()):
        lock = state.locks.get(waiver["rule"])
        if lock is not None:
            name = resolver.by_id[waiver["rule"]].name
            raise PolicyError(f"{spec}: rule {name} is locked by {lock.origin}; it cannot be waived")
    if upper.doc.get("allow_inline_waivers") is True and state.inline_off_by:
        raise PolicyError(f"{spec}: inline waivers are forbidden by {state.inline_off_by}")


def _build(
    merged: dict[str, Any], specs: Sequence[str], resolver: _Resolver, state: _State, profile: str
) -> Policy:
    rules: dict[str, RuleSetting] = {}
    for rule_id, setting in merged.get("rules", {}).items():
        severity = setting.get("severity")
        lock = state.locks.get(rule_id)
        rules[rule_id] = RuleSetting(
            enabled=setting.get("enabled", True),
            severity=Severity.parse(severity) if severity else None,
            options=setting.get("options", {}),
            locked_by=lock.origin if lock is not None else "",
            locked_fail_on=lock.fail_on if lock is not None else None,
        )
    fail_on = merged.get("fail_on")
    name = ", ".join(specs) + (f" (profile {profile})" if profile else "")
    return Policy(
        name=name,
        fail_on=Severity.parse(fail_on) if fail_on else DEFAULT_FAIL_ON,
        rules=rules,
        sources=tuple(resolver.sources),
        waivers=_waivers(merged),
        profile=profile,
        allow_inline_waivers=merged.get("allow_inline_waivers", True),
        origins=dict(resolver.origins),
        document=merged,
        runtime=dict(merged.get("runtime", {})),
    )
