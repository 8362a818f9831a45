"""The command line in-process: `run(...)` is `gatekeeper ...` returning its exit code."""

from __future__ import annotations

from gatekeeper import cli
from tests.imagegen import BUSYBOX_LIKE, Image

GOOD = Image(
    layers=BUSYBOX_LIKE.layers,
    config={
        "User": "10001",
        "Healthcheck": {"Test": ["CMD", "/bin/busybox", "true"]},
        "Env": ["PATH=/bin"],
    },
)
"""Passes the default policy."""
ROOT = Image(layers=BUSYBOX_LIKE.layers, config=dict(GOOD.config, User=""))
"""GOOD, running as root."""


def run(*argv: str) -> int:
    return cli.main(list(argv))
