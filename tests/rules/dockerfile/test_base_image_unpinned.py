from __future__ import annotations

import pytest

from gatekeeper.rules.dockerfile.base_image_unpinned import RULE, parse_base
from tests.factories import target, target_evidence, target_violations


@pytest.mark.parametrize(
    ("base", "problem"),
    [
        ("python", "has no tag, so it means `latest`"),
        ("python:latest", "uses the `latest` tag"),
        ("ghcr.io/acme/base", "has no tag"),
        ("localhost:5000/base:latest", "uses the `latest` tag"),
    ],
)
def test_unpinned(base: str, problem: str) -> None:
    [v] = target_violations(RULE, target(dockerfile=f"FROM {base}\n"))
    assert problem in v.message
    assert v.location.line == 1


@pytest.mark.parametrize(
    "base",
    ["python:3.11-slim", "node:18-alpine", "python@sha256:" + "a" * 64, "localhost:5000/x:1.2", "scratch"],
)
def test_pinned(base: str) -> None:
    assert target_violations(RULE, target(dockerfile=f"FROM {base}\n")) == []


def test_stage_references_and_args() -> None:
    text = "ARG BASE=python:3.11\nFROM ${BASE} AS b\nFROM b\nFROM $OTHER\n"
    tgt = target(dockerfile=text)
    assert target_violations(RULE, tgt) == []
    assert "line 4: FROM $OTHER (set by a build argument; not judged)" in target_evidence(RULE, tgt)


def test_arg_without_default_under_require_digest() -> None:
    [v] = target_violations(RULE, target(dockerfile="ARG BASE\nFROM ${BASE}\n"), require_digest=True)
    assert "cannot be verified" in v.message


def test_arg_default_latest_is_caught() -> None:
    [v] = target_violations(RULE, target(dockerfile="ARG BASE=node\nFROM ${BASE}\n"))
    assert "FROM node (stage '0') has no tag" in v.message


def test_require_digest() -> None:
    assert target_violations(RULE, target(dockerfile="FROM python:3.11\n"), require_digest=True)
    pinned = "FROM python:3.11@sha256:" + "b" * 64 + "\n"
    assert target_violations(RULE, target(dockerfile=pinned), require_digest=True) == []


def test_allowed_registries_and_official() -> None:
    text = "FROM registry.example.com/base/python:3.11\nFROM bitnami/nginx:1.27\nFROM python:3.11\n"
    tgt = target(dockerfile=text)
    found = target_violations(RULE, tgt, allowed_registries=["registry.example.com"])
    assert [v.location.line for v in found] == [2, 3]
    official = target_violations(RULE, tgt, official_only=True)
    assert [v.location.line for v in official] == [2]
    assert "not an official Docker Hub image" in official[0].message


def test_final_only() -> None:
    text = "FROM golang AS build\nFROM alpine:3.20\nCOPY --from=build /a /a\n"
    assert len(target_violations(RULE, target(dockerfile=text))) == 1
    assert target_violations(RULE, target(dockerfile=text), stages="final") == []


def test_parse_base() -> None:
    assert parse_base("python:3.11") == parse_base("docker.io/library/python:3.11")
    ref = parse_base("localhost:5000/team/app:1@sha256:abc")
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (
        "localhost:5000",
        "team/app",
        "1",
        "sha256:abc",
    )


def test_docker_hub_aliases_are_docker_hub() -> None:
    text = "FROM index.docker.io/randomuser/tool:1.0\nFROM registry-1.docker.io/randomuser/tool:1.0\n"
    official = target_violations(RULE, target(dockerfile=text), official_only=True)
    assert [(v.location.line, v.message) for v in official] == [
        (1, "FROM index.docker.io/randomuser/tool:1.0 (stage '0') is not an official Docker Hub image."),
        (2, "FROM registry-1.docker.io/randomuser/tool:1.0 (stage '1') is not an official Docker Hub image."),
    ]
    text = "FROM index.docker.io/library/python:3.11\nFROM index.docker.io/python:3.11\n"
    assert target_violations(RULE, target(dockerfile=text), allowed_registries=["docker.io"]) == []
    assert target_violations(RULE, target(dockerfile=text), official_only=True) == []


def test_allowed_registries_may_name_a_docker_hub_alias() -> None:
    tgt = target(dockerfile="FROM python:3.11\nFROM randomuser/tool:1.0\n")
    assert target_violations(RULE, tgt, allowed_registries=["index.docker.io"]) == []
    assert target_violations(RULE, tgt, allowed_registries=["index.docker.io"], official_only=True) == []


def test_parse_base_normalises_docker_hub_aliases() -> None:
    assert parse_base("index.docker.io/library/python:3.11") == parse_base("python:3.11")
    assert parse_base("index.docker.io/python:3.11") == parse_base("python:3.11")
    assert parse_base("registry-1.docker.io/library/python:3.11") == parse_base("python:3.11")
    # Docker adds `library/` only for docker.io and index.docker.io, as distribution/reference does.
    ref = parse_base("registry-1.docker.io/python:3.11")
    assert (ref.registry, ref.repository) == ("docker.io", "python")
    ref = parse_base("registry.hub.docker.com/library/python:3.11")
    assert (ref.registry, ref.repository) == ("registry.hub.docker.com", "library/python")


def test_an_uppercase_first_component_is_a_registry_host() -> None:
    # Repository names are lowercase, so Docker reads `MyRegistry/app` as host + repository
    # (distribution/reference), not as the Docker Hub user `MyRegistry`.
    ref = parse_base("MyRegistry/team/app:1.4")
    assert (ref.registry, ref.repository, ref.tag) == ("MyRegistry", "team/app", "1.4")
    tgt = target(dockerfile="FROM MyRegistry/app:1.4\n")
    assert target_violations(RULE, tgt, allowed_registries=["MyRegistry"]) == []
    (violation,) = target_violations(RULE, tgt, allowed_registries=["docker.io"])
    assert "comes from MyRegistry, not an allowed registry (docker.io)" in violation.message
    # not a Docker Hub image, so not "not an official Docker Hub image" either
    assert target_violations(RULE, tgt, official_only=True) == []
