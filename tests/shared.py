"""The project's shared/ folder (schemas, research) next to the repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def shared_file(relative: str) -> Path:
    """A file under shared/; missing -> fail under CI, skip elsewhere."""
    path = SHARED / relative
    if not path.is_file():
        reason = f"{path} is missing (the shared/ folder next to the repository)"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return path
