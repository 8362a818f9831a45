"""The command line in-process: `run(...)` is `gatekeeper ...` returning its exit code."""

from __future__ import annotations

from gatekeeper import cli
from tests.imagegen import BUSYBOX_READY as GOOD
from tests.imagegen import BUSYBOX_ROOT as ROOT

__all__ = ["GOOD", "ROOT", "run"]


def run(*argv: str) -> int:
    return cli.main(list(argv))
