"""The contract every rule follows: one module, one `RULE = Rule(...)`, docs in the docstring."""

from __future__ import annotations

import dataclasses
import difflib
import enum
import math
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar, get_args, get_origin

from gatekeeper.facts import Target
from gatekeeper.facts.needs import Request
from gatekeeper.findings import Location, RuleInfo, Severity
from gatekeeper.units import parse_duration, parse_size

DOCS_BASE = "https://github.com/gatekeeper-dev/gatekeeper/blob/main/docs/rules.md"


class Checklist(enum.Enum):
    """The production deployment checklist every rule reports under."""

    MULTI_STAGE = "Multi-stage build"
    IMAGE_SIZE = "Image size"
    HEALTH = "Health checks"
    NON_ROOT = "Non-root user"
    SECRETS = "Secrets managed externally"
    LOGS = "Logs to stdout/stderr"
    LIMITS = "Resource limits"
    VULNERABILITIES = "Vulnerability scan"
    HYGIENE = "Dockerfile hygiene"
    POLICY = "Policy exceptions"


@dataclass(frozen=True, slots=True)
class Violation:
    """What a rule yields when something is wrong: no id, no severity (the engine adds those)."""

    message: str
    location: Location
    detail: str = ""
    """The distinguishing value (path, env var name) that makes the fingerprint unique."""
    evidence: str = ""


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a rule yields to say why it passed (or what it looked at)."""

    text: str


class NotApplicable(Exception):
    """Raised by a rule when its input is absent: the rule is SKIPPED with this reason."""


class Size(int):
    """An option holding bytes; policies may write `200MB`."""


class Duration(float):
    """An option holding seconds; policies may write `30s`."""


class Percent(float):
    """An option holding a percentage: a finite number, 0 or more (`10` is 10%)."""


@dataclass(frozen=True)
class NoOptions:
    pass


O = TypeVar("O")  # noqa: E741

Item = Violation | Evidence


@dataclass(frozen=True)
class Rule(Generic[O]):
    id: str
    """`GK-IMG-001`: stable forever, never reused."""
    name: str
    """`runs-as-root`: policies may use it instead of the id."""
    title: str
    checklist: Checklist
    severity: Severity
    check: Callable[[Target, O], Iterable[Item]]
    fix: str
    doc: str
    options: type[O]
    needs: Callable[[O], Request] = lambda _: Request()
    default_enabled: bool = False
    """On even when no policy mentions it (the policy's own integrity rules)."""
    always_blocking: bool = False
    """Its findings fail the gate whatever fail_on says (an expired waiver must never pass)."""

    @property
    def info(self) -> RuleInfo:
        return RuleInfo(
            id=self.id,
            name=self.name,
            title=self.title,
            checklist=self.checklist.value,
            severity=self.severity,
            fix=self.fix,
            summary=self.summary,
            docs_url=f"{DOCS_BASE}#{self.name}",
        )

    @property
    def summary(self) -> str:
        """The first paragraph of the docs after the title line."""
        paragraphs = [p.strip() for p in self.doc.split("\n\n")]
        return " ".join(paragraphs[1].split()) if len(paragraphs) > 1 else self.title

    def build_options(self, values: Mapping[str, Any]) -> O:
        return build_options(self.options, values, self.name)


class OptionError(ValueError):
    """An option in a policy does not fit the rule's options dataclass."""


def build_options(cls: type[O], values: Mapping[str, Any], rule: str) -> O:
    """Turn `rules.<rule>.options` from a policy into the rule's frozen options dataclass."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")  # pragma: no cover
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            known = ", ".join(sorted(fields)) or "none"
            raise OptionError(f"rule {rule}: unknown option {key!r}{hint}; options: {known}")
        try:
            kwargs[key] = coerce(hints[key], value)
        except (TypeError, ValueError) as exc:
            raise OptionError(f"rule {rule}: option {key!r}: {exc}") from None
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:  # an options class's own checks (__post_init__)
        raise OptionError(f"rule {rule}: {exc}") from None


def coerce(hint: Any, value: Any) -> Any:
    """Check and convert one option value against its type annotation."""
    origin = get_origin(hint)
    if hint is Size:
        return Size(parse_size(value))
    if hint is Duration:
        return Duration(parse_duration(value))
    if hint is Percent:
        return Percent(_percent(value))
    if hint is bool:
        if not isinstance(value, bool):
            raise TypeError(f"expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise TypeError(f"expected a string, got {value!r}")
        return value
    if origin is Literal:
        allowed = get_args(hint)
        if value not in allowed:
            raise ValueError(f"expected one of {', '.join(map(str, allowed))}, got {value!r}")
        return value
    if origin is tuple:
        args = get_args(hint)
        if not isinstance(value, list | tuple):
            raise TypeError(f"expected a list, got {value!r}")
        return tuple(coerce(args[0], v) for v in value)
    if origin in (types.UnionType, typing.Union):
        args = get_args(hint)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(arg, value)
            except (TypeError, ValueError):
                continue
        raise TypeError(f"unexpected value {value!r}")
    raise TypeError(f"unsupported option type {hint!r}")  # pragma: no cover


def _percent(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:  # an integer with hundreds of digits
        number = math.inf
    if not 0 <= number < math.inf:  # also false for nan
        raise ValueError(f"expected a percentage of 0 or more, got {value!r}")
    return number


def option_schema(cls: type[Any]) -> dict[str, Any]:
    """A JSON Schema fragment for a rule's options (for `gatekeeper policy schema` and docs)."""
    props: dict[str, Any] = {}
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        props[f.name] = _type_schema(hints[f.name])
        default = f.default
        if default is not dataclasses.MISSING:
            props[f.name]["default"] = list(default) if isinstance(default, tuple) else default
    return {"type": "object", "additionalProperties": False, "properties": props}


def _type_schema(hint: Any) -> dict[str, Any]:
    if hint is Size:
        return {"type": ["string", "integer"], "description": "bytes; human units like 200MB"}
    if hint is Duration:
        return {"type": ["string", "number"], "description": "seconds; units like 30s"}
    if hint is Percent:
        return {"type": "number", "minimum": 0}
    simple = {bool: "boolean", int: "integer", float: "number", str: "string"}
    if hint in simple:
        return {"type": simple[hint]}
    origin = get_origin(hint)
    if origin is Literal:
        return {"enum": list(get_args(hint))}
    if origin is tuple:
        return {"type": "array", "items": _type_schema(get_args(hint)[0])}
    if origin in (types.UnionType, typing.Union):
        return {
            "anyOf": [_type_schema(a) if a is not type(None) else {"type": "null"} for a in get_args(hint)]
        }
    return {}
