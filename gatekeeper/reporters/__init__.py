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


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, the last one an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plural(count: int, noun: str) -> str:
    """`1 file`, `3 files`."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


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
