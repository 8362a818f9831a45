"""ContentWanted: which small files a layer scan keeps, decided for every path of every layer."""

from __future__ import annotations

import fnmatch

import hypothesis
import pytest
from hypothesis import strategies as st

from gatekeeper.facts.needs import ContentWanted, _literal_runs
from gatekeeper.rules import all_rules


def oracle(wanted: ContentWanted, path: str, size: int) -> bool:
    """What ContentWanted means, the slow and obvious way."""
    if size > wanted.max_size:
        return False
    return path in wanted.paths or any(fnmatch.fnmatchcase(path, p) for p in wanted.patterns)


def default_wanted() -> ContentWanted:
    """What the built-in rules ask for together (every rule with its default options)."""
    wanted = ContentWanted()
    for rule in all_rules():
        wanted = wanted.merge(rule.needs(rule.build_options({})).wanted)
    return wanted


@pytest.mark.parametrize(
    ("pattern", "runs", "wild"),
    [
        ("*/.npmrc", ["", "/.npmrc"], 1),
        ("/var/lib/dpkg/status.d/*", ["/var/lib/dpkg/status.d/", ""], 1),
        ("*/id_[rde][sdc]*", ["", "/id_", "", "", ""], 4),
        ("*/[._]netrc", ["", "/", "netrc"], 2),
        ("/etc/passwd", ["/etc/passwd"], 0),
        ("*[abc", ["", "[abc"], 1),  # no closing bracket: a literal `[`
        ("[!]x]y", ["", "y"], 1),  # `]` first in a class is a member, as fnmatch reads it
        ("[]]", ["", ""], 1),
        ("a?b", ["a", "b"], 1),
    ],
)
def test_literal_runs_read_patterns_as_fnmatch_does(pattern: str, runs: list[str], wild: int) -> None:
    assert _literal_runs(pattern) == (runs, wild)


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        ("/etc/passwd", True),
        ("/home/app/.npmrc", True),
        ("/app/.env", True),
        ("/app/.env.production", True),
        ("/root/.ssh/id_ed25519", True),
        ("/root/.ssh/known_hosts", True),
        ("/srv/tls/server.key", True),
        ("/srv/gcp-key.json", True),
        ("/srv/monkey.json", False),
        ("/home/u/.config/gcloud/legacy_credentials/x/adc.json", True),
        ("/var/lib/dpkg/status.d/libc6", True),
        ("/var/lib/dpkg/status.dpkg-old", False),
        ("/usr/lib/python3/dist-packages/x.py", False),
        ("/app/node_modules/react/package.json", True),
        ("/bin/busybox", False),
    ],
)
def test_the_built_in_rules_wanted_files(path: str, kept: bool) -> None:
    wanted = default_wanted()
    assert wanted(path, 100) is kept
    assert oracle(wanted, path, 100) is kept
    assert wanted(path, wanted.max_size + 1) is False


def test_every_default_path_agrees_with_fnmatch() -> None:
    wanted = default_wanted()
    samples = [p.replace("*", "x").replace("?", "_") for p in wanted.patterns]
    samples += [p.replace("*", "/deep/er/") for p in wanted.patterns]
    for path in samples:
        assert wanted(path, 1) == oracle(wanted, path, 1), path


ALPHABET = "/.-_aekx[]!*?"
PATTERNS = st.lists(st.text(ALPHABET, max_size=8), max_size=5)
PATHS = st.lists(st.text("/.-_aekx[]!", max_size=12), max_size=8)


@hypothesis.given(patterns=PATTERNS, paths=PATHS, exact=st.lists(st.text("/aex.", max_size=4), max_size=3))
@hypothesis.settings(max_examples=400)
def test_agrees_with_fnmatch_on_any_patterns(patterns: list[str], paths: list[str], exact: list[str]) -> None:
    wanted = ContentWanted(frozenset(exact), tuple(patterns))
    for path in [*paths, *exact, *patterns]:
        assert wanted(path, 1) == oracle(wanted, path, 1), (patterns, path)


DEFAULT = default_wanted()
FILL = st.text("/.-_aekxsy", max_size=6)


@st.composite
def near_default_paths(draw: st.DrawFn) -> str:
    """A built-in pattern or exact path with its wildcards filled in, then maybe nudged one
    character (dropped, doubled or appended): paths that match and paths that just miss."""
    template = draw(st.sampled_from([*DEFAULT.patterns, *sorted(DEFAULT.paths)]))
    out = []
    for char in template:
        out.append(draw(FILL) if char == "*" else draw(st.sampled_from("aZ/.")) if char == "?" else char)
    path = "".join(out)
    path = path.replace("[", "").replace("]", "")  # a class's letters, all of them: mostly misses
    nudge = draw(st.sampled_from(["none", "drop", "double", "append"]))
    at = draw(st.integers(0, max(len(path) - 1, 0)))
    if nudge == "drop" and path:
        path = path[:at] + path[at + 1 :]
    elif nudge == "double" and path:
        path = path[:at] + path[at] + path[at:]
    elif nudge == "append":
        path += draw(FILL)
    return path


@hypothesis.given(paths=st.lists(near_default_paths(), min_size=1, max_size=20))
def test_built_in_wanted_agrees_with_fnmatch(paths: list[str]) -> None:
    for path in paths:
        assert DEFAULT(path, 1) == oracle(DEFAULT, path, 1), path
