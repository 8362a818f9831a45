"""How an image reference turns into the names policies and fingerprints key on."""

from __future__ import annotations

import pytest

from gatekeeper.api import reference_names, subject_key
from gatekeeper.sources import parse_reference


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("app:prod", "app"),
        ("app:1.2.3", "app"),
        ("localhost:5000/team/app:v1", "localhost:5000/team/app"),
        ("registry.example.com/team/app@sha256:" + "a" * 64, "registry.example.com/team/app"),
        ("docker.io/library/nginx:1.27", "nginx"),
    ],
)
def test_subject_key_drops_tag_digest_and_docker_hub(text: str, key: str) -> None:
    assert subject_key(parse_reference(text)) == key


def test_subject_key_without_image() -> None:
    assert subject_key(None) == ""


def test_reference_names_cover_tags_and_repositories() -> None:
    names = reference_names(parse_reference("app:prod"), ["registry.example.com/team/app:1.4.2"])
    assert "app:prod" in names
    assert "app" in names
    assert "registry.example.com/team/app:1.4.2" in names
    assert "registry.example.com/team/app" in names
    assert len(names) == len(set(names))
    assert reference_names(None) == ()
