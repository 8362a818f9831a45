"""Every reporter's output for the sample report, byte for byte.

Refresh after an intended change with `GATEKEEPER_UPDATE_GOLDEN=1 python -m pytest tests/reporters`
and review the diff of tests/reporters/golden/.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gatekeeper.reporters import RenderOptions, all_reporters
from tests.reporters.sample import sample_report

GOLDEN = Path(__file__).parent / "golden"
CASES = [(name, False) for name in sorted(all_reporters())] + [("console", True)]


@pytest.mark.parametrize(("name", "color"), CASES)
def test_golden(name: str, color: bool) -> None:
    text = all_reporters()[name].render(sample_report(), RenderOptions(color=color))
    path = GOLDEN / f"sample.{name}{'.color' if color else ''}.txt"
    if os.environ.get("GATEKEEPER_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}; run with GATEKEEPER_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


def test_deterministic() -> None:
    for reporter in all_reporters().values():
        first = reporter.render(sample_report(), RenderOptions())
        assert first == reporter.render(sample_report(), RenderOptions())


def test_no_color_codes_without_color() -> None:
    text = all_reporters()["console"].render(sample_report(), RenderOptions(color=False))
    assert "\x1b[" not in text
