from __future__ import annotations

from typing import Any

import pytest

from gatekeeper.facts import Target
from gatekeeper.facts.needs import Need
from gatekeeper.parsers.dockerfile import parse
from gatekeeper.rule import NotApplicable
from gatekeeper.rules.image.build_tools_in_image import RULE
from tests.factories import (
    catches,
    evidence,
    image,
    passes,
    target,
    target_evidence,
    target_violations,
    violations,
)
from tests.facts.test_packages import APK_INSTALLED, DPKG_STATUS, rpm_blob, rpmdb
from tests.imagegen import F, exe, file, symlink

RUNTIME_STATUS = """\
Package: base-files
Status: install ok installed
Installed-Size: 341
Version: 12.4+deb12u5

Package: libc6
Status: install ok installed
Installed-Size: 12985
Version: 2.36-9+deb12u4

Package: gcc-12-base
Status: install ok installed
Installed-Size: 98
Version: 12.2.0-14
"""
DPKG = "/var/lib/dpkg/status"
BASE = [file(DPKG, RUNTIME_STATUS), exe("/bin/sh")]
BUILD = [file(DPKG, RUNTIME_STATUS + "\n" + DPKG_STATUS)]


@pytest.mark.parametrize(
    ("layers", "config"),
    [
        pytest.param([BASE, BUILD], {}, id="dpkg build-essential"),
        pytest.param([[file("/lib/apk/db/installed", APK_INSTALLED)]], {}, id="apk build-base"),
        pytest.param(
            [[file("/var/lib/rpm/rpmdb.sqlite", rpmdb(rpm_blob("gcc", "11.4.1", "3.el9", 9)))]],
            {},
            id="rpm gcc",
        ),
        pytest.param(
            [[file(DPKG, "Package: libpq-dev\nStatus: install ok installed\nVersion: 15.6\n")]],
            {},
            id="a -dev package",
        ),
        pytest.param([[exe("/usr/bin/gcc-12", b"\x7fELF" * 100)]], {}, id="versioned gcc"),
        pytest.param([[exe("/usr/local/bin/cargo")]], {}, id="cargo on PATH"),
        pytest.param(
            [[exe("/usr/local/go/bin/go")]],
            {"Env": ["PATH=/usr/local/go/bin:/usr/bin:/bin"]},
            id="go on the image PATH",
        ),
    ],
)
def test_catches(layers: list[list[F]], config: dict[str, Any]) -> None:
    assert catches(RULE, image(layers, **config))


@pytest.mark.parametrize(
    ("layers", "config"),
    [
        pytest.param([BASE], {}, id="runtime packages only (gcc-12-base is not gcc)"),
        pytest.param([[file("/lib/apk/db/installed", APK_INSTALLED.split("\n\n")[0])]], {}),
        pytest.param([[exe("/usr/local/go/bin/go")]], {}, id="go off the default PATH"),
        pytest.param([[file("/usr/bin/make", "not executable")]], {}, id="not executable"),
        pytest.param([[exe("/opt/tools/gcc")]], {}, id="not on PATH"),
        pytest.param([[exe("/usr/bin/makedepend2")]], {}, id="name only looks alike"),
    ],
)
def test_passes(layers: list[list[F]], config: dict[str, Any]) -> None:
    assert passes(RULE, image(layers, **config))


def test_message_lists_offenders_with_sizes() -> None:
    [v] = violations(RULE, image([BASE, BUILD]))
    assert v.message == (
        "Layer 1 (layer 1) puts build tools into the final image (4 packages, 84.7 MB): "
        "gcc-12 70.1 MB, libc6-dev 12.9 MB, make 1.7 MB, build-essential 20.5 kB."
    )
    assert v.evidence == "all: build-essential, gcc-12, libc6-dev, make"
    assert v.location.pointer == DPKG


def test_deinstalled_and_base_lookalikes_are_not_listed() -> None:
    [v] = violations(RULE, image([BASE, BUILD]))
    assert "vim-tiny" not in v.message
    assert "nano" not in v.message
    assert "gcc-12-base" not in v.message


def test_one_finding_per_layer_that_brought_them() -> None:
    later = [
        file(
            DPKG,
            RUNTIME_STATUS + "\n" + DPKG_STATUS + "\nPackage: git\n"
            "Status: install ok installed\nInstalled-Size: 40000\nVersion: 1:2.39.2-1.1\n",
        )
    ]
    found = violations(RULE, image([BASE, BUILD, later]))
    assert [v.location.pointer for v in found] == [DPKG, DPKG]
    assert "git 41.0 MB" in found[1].message
    assert "gcc-12" not in found[1].message


def test_binaries_counted_once_per_real_file() -> None:
    facts = image(
        [
            [
                exe("/usr/bin/gcc-12", b"x" * 5000),
                symlink("/usr/bin/gcc", "gcc-12"),
                symlink("/usr/bin/cc", "/usr/bin/gcc"),
            ]
        ]
    )
    [v] = violations(RULE, facts)
    assert "(3 programs, 5.0 kB)" in v.message
    assert "/usr/bin/gcc-12 5.0 kB" in v.message


def test_binaries_beside_their_packages_are_named_not_summed() -> None:
    facts = image([BASE, [*BUILD, exe("/usr/bin/make", b"x" * 100)]])
    [v] = violations(RULE, facts)
    assert v.message.endswith("; on PATH: make.")
    assert "(4 packages, 84.7 MB)" in v.message


def test_allow() -> None:
    facts = image([[exe("/usr/bin/git")]])
    assert catches(RULE, facts)
    assert passes(RULE, facts, allow=["git"])
    assert passes(RULE, facts, allow=["/usr/bin/git"])
    assert passes(RULE, image([BASE, BUILD]), allow=["*"])


def test_custom_lists() -> None:
    facts = image([BASE, [exe("/usr/bin/git")]])
    assert passes(RULE, facts, binaries=["gcc"])
    assert catches(RULE, facts, packages=["libc6"], binaries=[])


def test_max_listed() -> None:
    [v] = violations(RULE, image([BASE, BUILD]), max_listed=2)
    assert "gcc-12 70.1 MB, libc6-dev 12.9 MB and 2 more." in v.message


def test_evidence_on_pass_with_an_unparsed_database() -> None:
    facts = image([[file("/var/lib/rpm/Packages", b"\0" * 512)]])
    assert evidence(RULE, facts) == [
        "rpm database present (not parsed): /var/lib/rpm/Packages; no build tools on PATH"
    ]


def test_evidence_on_pass() -> None:
    assert evidence(RULE, image([BASE])) == ["no build tools among 3 dpkg packages; none on PATH either"]
    assert evidence(RULE, image([[exe("/app/run")]])) == ["no package database found; no build tools on PATH"]


DOCKERFILE = """\
FROM python:3.11-slim
RUN apt-get update \\
 && apt-get install -y build-essential
COPY . /app
CMD ["python", "/app/main.py"]
"""
HISTORY: list[dict[str, Any]] = [
    {"created_by": "/bin/sh -c #(nop) ADD file:abc in / "},
    {"created_by": '/bin/sh -c #(nop)  CMD ["python3"]', "empty_layer": True},
    {"created_by": "RUN /bin/sh -c apt-get update && apt-get install -y build-essential # buildkit"},
    {"created_by": "COPY . /app # buildkit"},
    {"created_by": 'CMD ["python", "/app/main.py"]', "empty_layer": True},
]


def test_own_layer_points_at_the_run_line() -> None:
    facts = image([BASE, BUILD, [file("/app/main.py", "print()")]], history=HISTORY)
    [v] = target_violations(RULE, target(facts, dockerfile=DOCKERFILE))
    assert v.message.startswith(
        "Your layer 1 (RUN apt-get update && apt-get install -y build-essential) puts build tools"
    )
    assert (v.location.artifact, v.location.line) == ("Dockerfile", 2)


def test_base_image_layer_is_named_as_such() -> None:
    history: list[dict[str, Any]] = [{"created_by": "RUN apt-get install -y build-essential"}, *HISTORY[3:]]
    facts = image([BUILD, [file("/app/main.py", "print()")]], history=history)
    dockerfile = 'FROM python:3.11\nCOPY . /app\nCMD ["python", "/app/main.py"]\n'
    [v] = target_violations(RULE, target(facts, dockerfile=dockerfile))
    assert v.message.startswith(
        "The base image python:3.11 (layer 0 (RUN apt-get install -y build-essential)) puts"
    )
    assert (v.location.artifact, v.location.line) == ("Dockerfile", 1)  # the FROM that brings it in


def test_target_built_by_hand() -> None:
    facts = image([BASE, BUILD])
    dockerfile = parse(DOCKERFILE)
    [run] = dockerfile.stages[0].find("RUN")
    tgt = Target(image=facts, dockerfile=dockerfile, layer_instructions={1: run})
    [v] = target_violations(RULE, tgt)
    assert v.location.line == 2
    assert v.detail == "packages:RUN apt-get update && apt-get install -y build-essential"
    assert target_evidence(RULE, Target(image=image([BASE]), dockerfile=dockerfile)) == [
        "no build tools among 3 dpkg packages; none on PATH either"
    ]


def test_needs_the_package_databases() -> None:
    request = RULE.needs(RULE.options())
    assert request.need & Need.FILESYSTEM
    assert request.wanted("/var/lib/dpkg/status", 100)
    assert request.wanted("/lib/apk/db/installed", 100)


def test_without_filesystem_is_not_applicable() -> None:
    with pytest.raises(NotApplicable, match="filesystem"):
        list(RULE.check(Target(image=image([BASE], filesystem=False)), RULE.options()))


def test_dockerfile_that_makes_no_layer_blames_the_base_image() -> None:
    history: list[dict[str, Any]] = [
        {"created_by": "RUN apt-get install -y build-essential"},
        {"created_by": 'CMD ["python"]', "empty_layer": True},
    ]
    facts = image([BUILD], history=history)
    [v] = target_violations(RULE, target(facts, dockerfile='FROM python:3.11\nCMD ["python"]\n'))
    assert v.message.startswith("The base image python:3.11 (layer 0 (RUN apt-get install")
