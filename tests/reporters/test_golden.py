"""Every reporter's output for the sample report, byte for byte.

Refresh after an intended change with `GATEKEEPER_UPDATE_GOLDEN=1 python -m pytest tests/reporters`
and review the diff of tests/reporters/golden/.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gatekeeper.reporters import RenderOptions, all_reporters, reporter, reporter_names
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
    for each in all_reporters().values():
        first = each.render(sample_report(), RenderOptions())
        assert first == each.render(sample_report(), RenderOptions())


def test_no_color_codes_without_color() -> None:
    text = all_reporters()["console"].render(sample_report(), RenderOptions(color=False))
    assert "\x1b[" not in text


def test_each_format_is_its_module() -> None:
    # The command line lists the formats by module name, without importing them.
    names = reporter_names()
    assert names == ["console", "github", "gitlab", "html", "json", "junit", "markdown", "sarif"]
    assert [reporter(name).name for name in names] == names
    assert list(all_reporters()) == names
    for unknown in ("nope", "__init__"):  # not a module here; a module, but no format
        with pytest.raises(KeyError):
            reporter(unknown)


def test_the_command_imports_only_the_formats_it_writes() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from gatekeeper import cli; cli._parser(); "
            "print(sorted(m for m in sys.modules if m.startswith('gatekeeper.reporters.')))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[]"
