from __future__ import annotations

import dataclasses

import pytest

from gatekeeper.facts.context import BuildContext
from gatekeeper.parsers.dockerignore import parse
from gatekeeper.rule import NotApplicable
from gatekeeper.rules.dockerfile.dockerignore import RULE
from tests.factories import image, target, target_evidence, target_violations
from tests.imagegen import directory, file

ARTICLE = "node_modules\nnpm-debug.log\n.git\n.env\n*.md\n.vscode\ncoverage\n.DS_Store\n"
GOOD = ARTICLE + "*.pem\n*.key\nid_rsa\n"
DOCKERFILE = "FROM node:18-alpine\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\n"


def ctx(ignore: str | None, files: tuple[str, ...] = ("Dockerfile", "package.json", "src")) -> BuildContext:
    return BuildContext(".", parse(ignore) if ignore is not None else None, files)


def test_missing_dockerignore() -> None:
    [v] = target_violations(RULE, target(dockerfile=DOCKERFILE, context=ctx(None)))
    assert "has no .dockerignore" in v.message
    assert v.location.artifact == "Dockerfile"


def test_article_dockerignore_lacks_keys() -> None:
    [v] = target_violations(RULE, target(dockerfile=DOCKERFILE, context=ctx(ARTICLE)))
    assert v.message == ".dockerignore does not exclude *.pem, *.key, id_rsa."


def test_good_dockerignore_passes() -> None:
    tgt = target(dockerfile=DOCKERFILE, context=ctx(GOOD))
    assert target_violations(RULE, tgt) == []
    assert target_evidence(RULE, tgt) == [
        ".dockerignore excludes .git, .env, *.pem, *.key, id_rsa, node_modules"
    ]


def test_node_modules_only_required_with_package_json() -> None:
    text = ".git\n.env\n*.pem\n*.key\nid_rsa\n"
    assert target_violations(RULE, target(dockerfile=DOCKERFILE, context=ctx(text, ("main.py",)))) == []
    [v] = target_violations(RULE, target(dockerfile=DOCKERFILE, context=ctx(text)))
    assert "node_modules" in v.message


def test_exception_reincludes() -> None:
    [v] = target_violations(RULE, target(dockerfile=DOCKERFILE, context=ctx(GOOD + "!.env\n")))
    assert "does not exclude .env" in v.message


def test_cross_check_files_in_image() -> None:
    facts = image(
        [
            [
                directory("/app"),
                file("/app/.env", "X=1"),
                directory("/app/.git"),
                file("/app/.git/HEAD", "ref"),
                file("/app/server.pem", "k"),
                file("/app/src/ok.js", "1"),
            ]
        ],
        history=[{"created_by": "COPY . . # buildkit"}],
    )
    tgt = target(facts, dockerfile=DOCKERFILE, context=ctx(ARTICLE))
    leaks = [v for v in target_violations(RULE, tgt) if v.detail.startswith("leaked:")]
    assert [v.detail for v in leaks] == ["leaked:/app/.env", "leaked:/app/.git", "leaked:/app/server.pem"]
    assert leaks[0].location.line == 5
    assert "(line 5); .dockerignore should keep it out" in leaks[0].message


def test_no_context_not_applicable() -> None:
    with pytest.raises(NotApplicable):
        target_violations(RULE, target(dockerfile=DOCKERFILE))


def test_needs_filesystem() -> None:
    assert RULE.needs(RULE.build_options({})).filesystem
    assert dataclasses.is_dataclass(RULE.options)
