from __future__ import annotations

import pytest

from gatekeeper.facts import Target
from gatekeeper.facts.dockerfile import Instruction
from gatekeeper.rule import Violation
from gatekeeper.rules.image.junk_files import RULE, Pattern
from tests.factories import catches, evidence, image, passes, violations
from tests.imagegen import F, directory, exe, file

APP = [directory("/app"), file("/app/main.py", "print()\n"), file("/app/requirements.txt", "x\n")]


@pytest.mark.parametrize(
    "entries",
    [
        [directory("/app/.git"), file("/app/.git/HEAD", "ref: refs/heads/main\n")],
        [file("/app/.git/config", "[core]\n")],  # no directory entry in the tar
        [file("/app/.svn/entries", "12\n")],
        [file("/app/.vscode/settings.json", "{}")],
        [file("/app/.idea/workspace.xml", "<x/>")],
        [file("/app/.github/workflows/ci.yml", "on: push\n")],
        [file("/app/.circleci/config.yml", "version: 2\n")],
        [file("/app/coverage/lcov.info", "TN:\n")],
        [file("/app/htmlcov/index.html", "<html/>")],
        [file("/app/src/__tests__/app.test.js", "test()\n")],
        [file("/app/.pytest_cache/README.md", "x")],
        [file("/app/.mypy_cache/3.11/x.json", "{}")],
        [file("/app/node_modules/.cache/babel-loader/x.json", "{}")],
        [file("/app/.DS_Store", b"\0\0\0\1Bud1")],
        [file("/app/.gitlab-ci.yml", "stages: [test]\n")],
        [file("/app/.travis.yml", "language: python\n")],
        [file("/app/.coverage", "x")],
        [file("/app/.main.py.swp", "x")],
    ],
)
def test_junk_fails(entries: list[F]) -> None:
    assert catches(RULE, image([APP + entries]))


@pytest.mark.parametrize(
    "entries",
    [
        [],
        [exe("/usr/local/bin/coverage")],  # a program named like a junk directory
        [file("/app/.git", "gitdir: ../.git/modules/app\n")],  # a worktree file, not the repository
        [file("/usr/local/lib/python3.11/site-packages/coverage/__init__.py", "x")],
        [file("/usr/lib/python3/dist-packages/.github/x.yml", "x")],
        [file("/usr/share/doc/pkg/.DS_Store", "x")],
        [file("/app/node_modules/left-pad/.github/workflows/ci.yml", "x")],
        [file("/app/node_modules/left-pad/coverage/lcov.info", "x")],
        [file("/go/pkg/mod/github.com/x/y@v1/.github/ci.yml", "x")],
        [file("/app/src/tests/test_app.py", "x")],
        [file("/app/.dockerignore", ".git\n")],
    ],
)
def test_clean_or_third_party_passes(entries: list[F]) -> None:
    assert passes(RULE, image([APP + entries]))


def test_one_finding_per_junk_directory_with_count_and_size() -> None:
    git = [
        directory("/app/.git"),
        file("/app/.git/HEAD", "ref: refs/heads/main\n"),
        file("/app/.git/objects/pack/pack-1.pack", b"x" * 5000),
        file("/app/.git/.DS_Store", "x"),
        directory("/app/.git/hooks"),
    ]
    [v] = violations(RULE, image([APP + git]))
    assert v.message == "/app/.git: version-control metadata (3 files, 5.0 kB) in the image."
    assert v.location.pointer == "/app/.git"
    assert v.detail == "/app/.git"


def test_nested_junk_is_reported_at_the_outermost_directory() -> None:
    nested = [file("/app/.github/.vscode/settings.json", "{}"), file("/app/.github/ci.yml", "x")]
    [v] = violations(RULE, image([APP + nested]))
    assert v.message.startswith("/app/.github: CI configuration (2 files")


def test_junk_files_are_grouped_by_pattern() -> None:
    stores = [file(f"/app/{d}/.DS_Store", "x") for d in "abcdefg"]
    [v] = violations(RULE, image([APP + stores]))
    assert v.message == "7 .DS_Store files (desktop metadata, 7 B) in the image, e.g. /app/a/.DS_Store."
    assert v.detail == "files:.DS_Store"
    assert v.evidence.endswith("and 2 more")


def test_several_junk_directories_are_separate_findings() -> None:
    junk = [file("/app/.git/HEAD", "x"), file("/app/.idea/x.xml", "x"), file("/srv/web/.git/HEAD", "x")]
    details = [v.detail for v in violations(RULE, image([APP + junk]))]
    assert details == ["/app/.git", "/app/.idea", "/srv/web/.git"]


def test_junk_deleted_by_a_later_layer_is_not_in_the_final_filesystem() -> None:
    from tests.imagegen import whiteout

    facts = image([[*APP, file("/app/.git/HEAD", "x")], [whiteout("/app/.git")]])
    assert passes(RULE, facts)


def test_patterns_option() -> None:
    facts = image([[*APP, file("/app/docs/build/index.html", "x"), file("/app/.git/HEAD", "x")]])
    [v] = violations(RULE, facts, patterns=["docs/build/"])
    assert v.message.startswith("/app/docs/build: matches `docs/build/`")
    assert passes(RULE, facts, patterns=["*.tmp"])


def test_ignore_paths_option() -> None:
    facts = image([[*APP, file("/app/.git/HEAD", "x")]])
    assert passes(RULE, facts, ignore_paths=["/app/*"])
    assert "1 junk path skipped by ignore_paths" in evidence(RULE, facts, ignore_paths=["/app/*"])[0]


def test_evidence_on_pass() -> None:
    assert evidence(RULE, image([APP])) == ["no junk among 3 paths"]


def test_location_is_the_copy_line_when_known() -> None:
    facts = image([[file("/etc/os-release", "x")], [*APP, file("/app/.git/HEAD", "x")]])
    copy = Instruction("COPY", ". /app", line=5, end_line=5, stage=0)
    items = list(RULE.check(Target(image=facts, layer_instructions={1: copy}), RULE.options()))
    [v] = [i for i in items if isinstance(i, Violation)]
    assert (v.location.artifact, v.location.line, v.location.pointer) == ("Dockerfile", 5, "/app/.git")


def test_config_only_image_is_not_applicable() -> None:
    from gatekeeper.rule import NotApplicable

    with pytest.raises(NotApplicable):
        list(RULE.check(Target(image=image([APP], filesystem=False)), RULE.options()))


def test_needs_filesystem_without_contents() -> None:
    request = RULE.needs(RULE.options())
    assert request.filesystem
    assert not request.wanted("/app/.git/HEAD", 10)


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        (".git/", "/app/.git", True),
        (".git/", "/app/.github", False),
        ("node_modules/.cache/", "/app/node_modules/.cache", True),
        ("node_modules/.cache/", "/app/.cache", False),
        ("*.swp", "/app/.x.swp", True),
    ],
)
def test_pattern_matches(pattern: str, path: str, matches: bool) -> None:
    assert Pattern.parse(pattern).matches(path) is matches


def test_paths_thousands_of_directories_deep() -> None:
    # Matcher.directory recursed once per component: RecursionError (a crashed rule, exit 4)
    deep = "/app/.git/" + "/".join(["d"] * 3000)
    [v] = violations(
        RULE, image([[*APP, file(deep + "/f", "x"), file("/srv/" + "/".join(["e"] * 3000), "y")]])
    )
    assert v.message == "/app/.git: version-control metadata (1 file, 1 B) in the image."
