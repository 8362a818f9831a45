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
    from gatekeeper.reporters import console, json

    return {r.name: r for r in (console.REPORTER, json.REPORTER)}
