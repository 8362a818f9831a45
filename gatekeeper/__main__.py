"""`python -m gatekeeper`."""

from gatekeeper.cli import run

raise SystemExit(run())
