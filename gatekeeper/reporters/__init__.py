"""Reporters: pure `render(report, options) -> str`, one module per format."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from gatekeeper.report import Report

_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def one_line(text: object) -> str:
    """Text for one line of a plain-text report: whitespace runs (newlines too) become one space,
    other control characters (terminal escapes, BEL) become U+FFFD. Report text comes from the
    image and the repository: it must not start lines of its own (a `::error` line is a GitHub
    workflow command) nor drive the terminal."""
    return " ".join(_CONTROL.sub("\ufffd", str(text)).split())


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
