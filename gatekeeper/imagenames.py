"""Image names as Docker reads them: which part is a registry host, and Docker Hub's aliases.

One place for the rules of distribution/reference that both the registry source and the
Dockerfile rules need; kept free of heavy imports (the registry source pulls in `requests`).
"""

from __future__ import annotations

DOCKER_HUB = "docker.io"
"""Docker Hub's canonical name in image references."""
LEGACY_HUB = "index.docker.io"
"""Docker Hub's old name; references read it as docker.io (with the implicit `library/`)."""
HUB_API_HOST = "registry-1.docker.io"
"""The host that serves Docker Hub's `/v2/` API."""
HUB_ALIASES = frozenset({DOCKER_HUB, LEGACY_HUB, HUB_API_HOST})
"""Hosts that are Docker Hub (for credentials and allow-lists)."""


def is_domain(first: str) -> bool:
    """Is the first path component of a name a registry host?

    As in distribution/reference: it is when it has a `.` or a `:` (a port), is `localhost`, or
    has an uppercase letter (repository names are lowercase, so `MyRegistry/app` names a host).
    """
    return "." in first or ":" in first or first == "localhost" or first != first.lower()


def hub_name(host: str) -> str:
    """`index.docker.io` and `registry-1.docker.io` -> `docker.io`; other hosts as they are."""
    return DOCKER_HUB if host in HUB_ALIASES else host


def familiar(name: str) -> str:
    """A name as `docker images` shows it: Docker Hub's host (by any of its names) and the
    `library/` of an official image left out. `docker.io/library/app:1` -> `app:1`;
    `docker.io/org/app` -> `org/app`; other registries' names as they are."""
    first, slash, rest = name.partition("/")
    if slash and first in HUB_ALIASES:
        name = rest
    if name.startswith("library/") and name.count("/") == 1:
        name = name.removeprefix("library/")
    return name


def split_domain(name: str) -> tuple[str, str]:
    """(registry host, repository path) of a name without tag or digest.

    `python` -> (docker.io, library/python); `index.docker.io/python` -> the same;
    `localhost:5000/app` -> (localhost:5000, app). Only docker.io and its legacy name get the
    implicit `library/` of official images; `registry-1.docker.io/python` stays as written.
    """
    first, slash, rest = name.partition("/")
    if slash and is_domain(first):
        domain = DOCKER_HUB if first == LEGACY_HUB else first
    else:
        domain, rest = DOCKER_HUB, name
    if domain == DOCKER_HUB and "/" not in rest:
        rest = "library/" + rest
    return domain, rest
