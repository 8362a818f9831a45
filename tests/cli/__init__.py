"""The command line in-process: `run(...)` is `gatekeeper ...` returning its exit code."""

from __future__ import annotations

import os
from pathlib import Path

from gatekeeper import cli
from tests.imagegen import BUSYBOX_READY as GOOD
from tests.imagegen import BUSYBOX_ROOT as ROOT

__all__ = ["CHECKOUT", "GOOD", "ROOT", "run"]

_ROOT = str(Path(__file__).resolve().parents[2])
CHECKOUT = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_ROOT, os.environ.get("PYTHONPATH")]))}
"""The environment for `python -m gatekeeper` in a child process: the gatekeeper of this
checkout first, whatever copy is installed (a test run from a temp directory would take that)."""


def run(*argv: str) -> int:
    return cli.main(list(argv))
