"""Fixtures of the command-line tests: an empty working directory, docker-archives to check."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import GOOD, ROOT
from tests.imagegen import write_docker_archive


@pytest.fixture(autouse=True)
def _hermetic_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI discovers Dockerfile/compose/k8s in the working directory: use an empty one."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)


@pytest.fixture
def good(tmp_path: Path) -> str:
    write_docker_archive(tmp_path / "good.tar", GOOD)
    return f"docker-archive:{tmp_path / 'good.tar'}"


@pytest.fixture
def root(tmp_path: Path) -> str:
    write_docker_archive(tmp_path / "root.tar", ROOT)
    return f"docker-archive:{tmp_path / 'root.tar'}"
