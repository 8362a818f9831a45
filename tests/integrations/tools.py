"""npm-installed validators for the integration files, cached under ~/.cache/gatekeeper-test-env."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

import pytest

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gatekeeper-test-env"


def unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


def npm_tool(package: str, version: str, binary: str) -> Path:
    """Install an npm package once (file-locked) and return the path of one of its binaries."""
    root = CACHE / package.replace("/", "_").lstrip("@")
    path = root / "node_modules" / ".bin" / binary
    if path.exists():
        return path
    if shutil.which("npm") is None:
        unavailable(f"npm is not installed, cannot install {package}")
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            proc = subprocess.run(
                [
                    "npm",
                    "install",
                    "--prefix",
                    str(root),
                    "--no-audit",
                    "--no-fund",
                    "--loglevel=error",
                    f"{package}@{version}",
                ],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if proc.returncode != 0 or not path.exists():
                unavailable(f"cannot install {package}@{version}: {proc.stderr.strip()[-300:]}")
    return path
