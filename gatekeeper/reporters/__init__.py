"""Reporters: pure `render(report, options) -> str`, one module per format."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gatekeeper.report import Report


@dataclass(frozen=True)
class RenderOptions:
    color: bool = False


@dataclass(frozen=True)
class Reporter:
    name: str
    description: str
    render: Callable[[Report, RenderOptions], str]


def all_reporters() -> dict[str, Reporter]:
    """Every module in this package with a `REPORTER`, by name. No registry, no side effects."""
    import importlib
    import pkgutil

    found: dict[str, Reporter] = {}
    for info in pkgutil.iter_modules(__path__, prefix=__name__ + "."):
        reporter = getattr(importlib.import_module(info.name), "REPORTER", None)
        if isinstance(reporter, Reporter):
            found[reporter.name] = reporter
    return dict(sorted(found.items()))
