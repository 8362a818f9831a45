"""The command line in-process: `run(...)` is `gatekeeper ...` returning its exit code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gatekeeper import cli
from tests.imagegen import BUSYBOX_READY as GOOD
from tests.imagegen import BUSYBOX_ROOT as ROOT

__all__ = ["CHECKOUT", "GOOD", "ROOT", "one_error", "run"]

_ROOT = str(Path(__file__).resolve().parents[2])
CHECKOUT = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_ROOT, os.environ.get("PYTHONPATH")]))}
"""The environment for `python -m gatekeeper` in a child process: the gatekeeper of this
checkout first, whatever copy is installed (a test run from a temp directory would take that)."""


def run(*argv: str) -> int:
    return cli.main(list(argv))


def one_error(capsys: pytest.CaptureFixture[str]) -> str:
    """The single error line on stderr."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("gatekeeper: error: ")
    return lines[0].removeprefix("gatekeeper: error: ")
