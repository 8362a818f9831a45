from __future__ import annotations

import hypothesis
import pytest
from hypothesis import strategies as st

from gatekeeper.facts import Target
from gatekeeper.parsers.dockerfile import parse
from gatekeeper.rule import OptionError
from gatekeeper.rules.image.package_cache_left import _CANDIDATE, CACHES, RULE, Cache
from tests.factories import catches, evidence, image, passes, target_violations, violations
from tests.imagegen import F, directory, file, whiteout

BIG = b"\0" * 200_000
SMALL = b"\0" * 300


@pytest.mark.parametrize(
    ("path", "cache"),
    [
        (
            "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4",
            "apt-lists",
        ),
        ("/var/lib/apt/lists/auxfiles/x", "apt-lists"),
        ("/var/cache/apt/pkgcache.bin", "apt-cache"),
        ("/var/cache/apt/archives/gcc-12_12.2.0-14_amd64.deb", "apt-cache"),
        ("/var/cache/apk/APKINDEX.5022a8a2.tar.gz", "apk"),
        ("/root/.cache/pip/http-v2/a/b/c", "pip"),
        ("/home/app/.cache/pip/wheels/ab/numpy.whl", "pip"),
        ("/root/.npm/_cacache/content-v2/sha512/ab/cd", "npm"),
        ("/usr/local/share/.cache/yarn/v6/npm-react-18.2.0/package.json", "yarn"),
        ("/home/node/.cache/yarn/v6/x", "yarn"),
        ("/app/.yarn/berry/cache/react-npm-18.2.0.zip", "yarn"),
        ("/var/cache/dnf/fedora-abc/repodata/primary.xml.zst", "dnf"),
        ("/var/cache/yum/x86_64/7/base/packages/x.rpm", "yum"),
        ("/root/.cache/go-build/00/0a1b-d", "go-build"),
    ],
)
def test_catches_each_cache(path: str, cache: str) -> None:
    [v] = violations(RULE, image([[file(path, BIG)]]))
    assert v.detail == cache


@pytest.mark.parametrize(
    "entries",
    [
        pytest.param([file("/var/lib/apt/lists/lock", BIG)], id="apt lock"),
        pytest.param([file("/var/lib/apt/lists/partial/x_Packages", BIG)], id="apt partial"),
        pytest.param([directory("/var/lib/apt/lists"), directory("/var/cache/apk")], id="empty"),
        pytest.param([file("/var/cache/apt/archives/lock", BIG)], id="archives lock"),
        pytest.param([file("/root/.cache/pip/selfcheck/ab.json", SMALL)], id="pip stamp"),
        pytest.param([file("/root/.npm/_logs/debug-0.log", BIG)], id="npm logs are no cache"),
        pytest.param([file("/app/cache/pip/x", BIG)], id="not a pip cache"),
    ],
)
def test_passes(entries: list[F]) -> None:
    assert passes(RULE, image([entries]))


def test_cache_cleaned_in_a_later_layer_is_gone_from_the_final_filesystem() -> None:
    lists = "/var/lib/apt/lists/x_Packages"
    assert passes(RULE, image([[file(lists, BIG)], [whiteout(lists)]]))


def test_one_finding_per_cache_with_total_and_worst_layer() -> None:
    facts = image(
        [
            [file("/var/lib/apt/lists/a_Packages", BIG)],
            [file("/var/lib/apt/lists/b_Packages", BIG + BIG), file("/root/.cache/pip/x", BIG)],
        ],
        history=[{"created_by": "ADD file:abc in /"}, {"created_by": "/bin/sh -c apt-get update"}],
    )
    apt, pip = violations(RULE, facts)
    assert apt.message == (
        "Apt package lists left in the image: 600.0 kB in 2 files under /var/lib/apt/lists, "
        "mostly from layer 1 (RUN apt-get update). Clean it with `rm -rf /var/lib/apt/lists/*` "
        "in the RUN that ran `apt-get update`."
    )
    assert apt.location.pointer == "/var/lib/apt/lists"
    assert "200.0 kB in 1 file under /root/.cache/pip, from layer 1" in pip.message


def test_pip_caches_of_several_homes_are_one_finding() -> None:
    facts = image([[file("/root/.cache/pip/a", BIG), file("/home/app/.cache/pip/b", BIG)]])
    [v] = violations(RULE, facts)
    assert "under /home/app/.cache/pip, /root/.cache/pip" in v.message


def test_location_is_the_run_line() -> None:
    text = "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y curl\n"
    dockerfile = parse(text)
    [run] = dockerfile.stages[0].find("RUN")
    facts = image([[file("/etc/os-release", "x")], [file("/var/lib/apt/lists/x", BIG)]])
    tgt = Target(image=facts, dockerfile=dockerfile, layer_instructions={1: run})
    [v] = target_violations(RULE, tgt)
    assert (v.location.artifact, v.location.line) == ("Dockerfile", 2)
    assert "layer 1 (RUN apt-get update && apt-get install -y curl)" in v.message


@pytest.mark.parametrize(("minimum", "fails"), [("200kB", True), ("200001", False), (0, True)])
def test_min_bytes(minimum: str | int, fails: bool) -> None:
    facts = image([[file("/var/cache/apk/APKINDEX.tar.gz", BIG)]])
    assert catches(RULE, facts, min_bytes=minimum) is fails


def test_default_min_bytes_is_100kb() -> None:
    assert RULE.options().min_bytes == 100_000
    assert catches(RULE, image([[file("/var/cache/apk/APKINDEX.tar.gz", b"\0" * 100_000)]]))
    assert passes(RULE, image([[file("/var/cache/apk/APKINDEX.tar.gz", b"\0" * 99_999)]]))


def test_caches_toggle() -> None:
    facts = image([[file("/root/.cache/pip/a", BIG)]])
    assert passes(RULE, facts, caches=["apt-lists", "apk"])
    assert catches(RULE, facts, caches=["pip"])


def test_unknown_cache_name_is_an_option_error() -> None:
    with pytest.raises(OptionError, match="apt-lists"):
        RULE.build_options({"caches": ["aptitude"]})


def test_evidence_names_what_was_checked_and_what_was_small() -> None:
    facts = image([[file("/root/.cache/pip/selfcheck/ab.json", SMALL)]])
    assert evidence(RULE, facts, caches=["apt-lists", "pip"]) == [
        "no package cache of 100.0 kB or more (checked apt-lists, pip); smaller: pip 300 B"
    ]


@pytest.mark.parametrize("cache", CACHES, ids=lambda c: c.name)
@hypothesis.given(data=st.data())
def test_every_cache_path_passes_the_prefilter(cache: Cache, data: st.DataObject) -> None:
    """find_caches skips paths _CANDIDATE does not find: it must find every path of every cache."""
    path = data.draw(st.from_regex(cache.pattern).filter(lambda p: cache.pattern.match(p) is not None))
    assert _CANDIDATE.search(path), path
