"""Reporters: pure `render(report, options) -> str`, one module per format."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gatekeeper.report import Report


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, the last one an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_digest(digest: str) -> str:
    """`sha256:0123456789ab`: the algorithm and the first 12 hex digits."""
    algo, _, hexa = digest.partition(":")
    return f"{algo}:{hexa[:12]}" if hexa else digest[:12]


@dataclass(frozen=True)
class RenderOptions:
    color: bool = False


@dataclass(frozen=True)
class Reporter:
    name: str
    description: str
    render: Callable[[Report, RenderOptions], str]
    streams: bool = False
    """Reports of this format can follow one another in one output (lines of text). A JSON,
    SARIF, XML or HTML document cannot: two written one after the other are invalid."""


def reporter_names() -> list[str]:
    """The formats: the modules of this package, each named after the REPORTER it holds
    (a test checks that). Listed without importing them: the command line offers every format
    and renders one or two; importing all eight took 9 ms of each run's start."""
    import pkgutil

    return sorted(info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_"))


def reporter(name: str) -> Reporter:
    """The reporter of one format (a name from reporter_names()), importing its module only."""
    import importlib

    if name not in reporter_names():
        raise KeyError(name)
    found = getattr(importlib.import_module(f"{__name__}.{name}"), "REPORTER", None)
    if not isinstance(found, Reporter) or found.name != name:
        raise KeyError(name)
    return found


def all_reporters() -> dict[str, Reporter]:
    """Every format's reporter, by name. No registry, no side effects."""
    return {name: reporter(name) for name in reporter_names()}
