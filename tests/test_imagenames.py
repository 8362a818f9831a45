"""gatekeeper.imagenames: image names as Docker reads them."""

from __future__ import annotations

import pytest

from gatekeeper.imagenames import familiar, split_domain
from gatekeeper.inputs import repository
from gatekeeper.sources.archive import _familiar

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("name", "shown", "repo"),
    [
        ("docker.io/library/app:1", "app:1", "app"),
        ("index.docker.io/library/app", "app", "app"),
        ("registry-1.docker.io/library/app:1", "app:1", "app"),  # archive selection kept the host
        ("docker.io/org/app", "org/app", "org/app"),
        (f"library/app@{DIGEST}", f"app@{DIGEST}", "app"),
        ("library/foo/bar", "library/foo/bar", "library/foo/bar"),  # archive selection cut library/
        ("localhost:5000/library/app", "localhost:5000/library/app", "localhost:5000/library/app"),
        ("ghcr.io/org/app:2", "ghcr.io/org/app:2", "ghcr.io/org/app"),
    ],
)
def test_familiar(name: str, shown: str, repo: str) -> None:
    assert familiar(name) == shown
    # the docker-archive selector and the workload matching read names alike
    assert _familiar(name) == (
        shown if "@" in shown or ":" in shown.rsplit("/", 1)[-1] else shown + ":latest"
    )
    assert repository(name) == repo


def test_split_domain() -> None:
    assert split_domain("python") == ("docker.io", "library/python")
    assert split_domain("index.docker.io/python") == ("docker.io", "library/python")
    assert split_domain("localhost:5000/app") == ("localhost:5000", "app")
