from __future__ import annotations

import pytest

from gatekeeper.facts import Target
from gatekeeper.parsers.dockerfile import parse
from gatekeeper.rule import NotApplicable, OptionError, option_schema
from gatekeeper.rules.image.wasted_space import RULE
from tests.factories import catches, evidence, image, passes, target_violations, violations
from tests.imagegen import F, directory, file, hardlink, opaque, symlink, whiteout

MB = 1_000_000
KEEP = [file("/app/keep.bin", b"k" * 100_000)]
TARBALL = file("/tmp/src.tar.gz", b"t" * 30_000)


@pytest.mark.parametrize(
    ("layers", "fails"),
    [
        pytest.param([KEEP, [TARBALL], [whiteout("/tmp/src.tar.gz")]], True, id="deleted later"),
        pytest.param([KEEP, [TARBALL], [file("/tmp/src.tar.gz", "small")]], True, id="overwrite"),
        pytest.param([[*KEEP, TARBALL], [opaque("/tmp")]], True, id="opaque directory"),
        pytest.param([[*KEEP, directory("/tmp"), TARBALL], [whiteout("/tmp")]], True, id="dir"),
        pytest.param([KEEP, [TARBALL]], False, id="nothing hidden"),
        pytest.param([KEEP, [file("/tmp/x", b"x" * 5000)], [whiteout("/tmp/x")]], False, id="5%"),
        pytest.param([[*KEEP, symlink("/a", "/b")], [whiteout("/a")]], False, id="symlink"),
        pytest.param(
            [[*KEEP, TARBALL, hardlink("/tmp/h", "/tmp/src.tar.gz")], [whiteout("/tmp/h")]],
            False,
            id="hardlink costs nothing",
        ),
    ],
)
def test_table(layers: list[list[F]], fails: bool) -> None:
    assert catches(RULE, image(layers)) is fails


def test_deleted_then_shipped_file_is_named_with_both_layers() -> None:
    facts = image(
        [KEEP, [TARBALL], [whiteout("/tmp/src.tar.gz")]],
        history=[
            {"created_by": "COPY keep.bin /app/ # buildkit"},
            {"created_by": "ADD src.tar.gz /tmp/ # buildkit"},
            {"created_by": "RUN /bin/sh -c rm /tmp/src.tar.gz # buildkit"},
        ],
    )
    [v] = violations(RULE, facts)
    assert v.message == (
        "30.0 kB (23.1% of 130.0 kB) of the image is wasted, over the 10% limit: files added in "
        "one layer and overwritten or deleted in a later one still ship. Biggest: "
        "/tmp/src.tar.gz (30.0 kB) added in layer 1 (ADD src.tar.gz /tmp/), deleted in "
        "layer 2 (RUN rm /tmp/src.tar.gz)."
    )
    assert v.detail == "wasted"


def test_several_versions_of_one_path_all_count() -> None:
    versions = [[file("/app/cfg", b"v" * 10_000)] for _ in range(3)]
    [v] = violations(RULE, image([KEEP, *versions]))
    assert "/app/cfg (20.0 kB, 2 versions) added in layer 1" in v.message
    assert "overwritten in layer 2" in v.message


def test_chown_in_a_later_layer_doubles_the_files() -> None:
    app = file("/app/app.jar", b"j" * 50_000)
    again = file("/app/app.jar", b"j" * 50_000, uid=10001)
    [v] = violations(RULE, image([KEEP, [app], [again]]))
    assert v.message.startswith("50.0 kB (25.0% of 200.0 kB)")


def test_top_files() -> None:
    layers = [KEEP, [file(f"/tmp/{i}", b"x" * (1000 * (i + 1))) for i in range(8)]]
    layers.append([whiteout(f"/tmp/{i}") for i in range(8)])
    [v] = violations(RULE, image(layers), top_files=2)
    assert v.message.count(" added in layer") == 2
    assert "/tmp/7 (8.0 kB)" in v.message
    assert "/tmp/6 (7.0 kB)" in v.message


@pytest.mark.parametrize(
    ("options", "fails"),
    [
        ({"max_percent": 50}, False),
        ({"max_percent": 50, "max_bytes": "29kB"}, True),
        ({"max_percent": 23.0}, True),
        ({"max_percent": 23.1}, False),
    ],
)
def test_either_limit_fails(options: dict[str, object], fails: bool) -> None:
    facts = image([KEEP, [TARBALL], [whiteout("/tmp/src.tar.gz")]])
    assert catches(RULE, facts, **options) is fails


def test_bytes_limit_message() -> None:
    facts = image([KEEP, [TARBALL], [whiteout("/tmp/src.tar.gz")]])
    [v] = violations(RULE, facts, max_percent=100, max_bytes="10kB")
    assert "over the 10.0 kB limit" in v.message


def test_defaults() -> None:
    options = RULE.options()
    assert (options.max_bytes, options.max_percent) == (20 * MB, 10.0)


def test_evidence_on_pass() -> None:
    facts = image([KEEP, [file("/tmp/x", b"x" * 5000)], [whiteout("/tmp/x")]])
    assert passes(RULE, facts)
    assert evidence(RULE, facts) == [
        "5.0 kB (4.8% of 105.0 kB) hidden by later layers in 1 overwritten or deleted file; "
        "limits 20.0 MB and 10%"
    ]


def test_location_is_the_layer_that_removed_the_most() -> None:
    text = "FROM alpine\nADD big.tar.gz /tmp/\nRUN rm /tmp/big.tar.gz\nRUN rm /app/keep.bin\n"
    dockerfile = parse(text)
    add, rm_big, rm_keep = dockerfile.stages[0].instructions[1:]
    facts = image([KEEP, [TARBALL], [whiteout("/tmp/src.tar.gz")], [whiteout("/app/keep.bin")]])
    tgt = Target(image=facts, dockerfile=dockerfile, layer_instructions={1: add, 2: rm_big, 3: rm_keep})
    [v] = target_violations(RULE, tgt)
    assert (v.location.artifact, v.location.line) == ("Dockerfile", 4)
    assert "/app/keep.bin (100.0 kB) added in base-image layer 0 (layer 0), deleted in layer 3" in (v.message)


def test_without_filesystem_is_not_applicable() -> None:
    with pytest.raises(NotApplicable):
        list(RULE.check(Target(image=image([KEEP], filesystem=False)), RULE.options()))


def test_both_limits_message() -> None:
    facts = image([KEEP, [TARBALL], [whiteout("/tmp/src.tar.gz")]])
    [v] = violations(RULE, facts, max_bytes="10kB")
    assert "over the 10.0 kB and 10% limits:" in v.message


@pytest.mark.parametrize(
    ("value", "shown"),
    [(-1, "-1"), (-0.5, "-0.5"), (float("nan"), "nan"), (float("inf"), "inf"), (10**400, "1" + "0" * 400)],
)
def test_max_percent_must_be_a_finite_number_from_zero(value: object, shown: str) -> None:
    with pytest.raises(OptionError) as raised:
        RULE.build_options({"max_percent": value})
    assert str(raised.value) == (
        f"rule wasted-space: option 'max_percent': expected a percentage of 0 or more, got {shown}"
    )


def test_max_percent_that_is_not_a_number_is_an_option_error() -> None:
    with pytest.raises(OptionError) as raised:
        RULE.build_options({"max_percent": "10%"})
    assert str(raised.value) == "rule wasted-space: option 'max_percent': expected a number, got '10%'"


def test_zero_limits_pass_when_nothing_is_hidden() -> None:
    facts = image([KEEP, [TARBALL]])
    assert evidence(RULE, facts, max_percent=0, max_bytes=0) == [
        "0 B (0.0% of 130.0 kB) hidden by later layers in 0 overwritten or deleted files; limits 0 B and 0%"
    ]
    assert catches(RULE, image([KEEP, [TARBALL], [whiteout("/tmp/src.tar.gz")]]), max_percent=0)


def test_max_percent_schema() -> None:
    schema = option_schema(RULE.options)["properties"]["max_percent"]
    assert schema == {"type": "number", "minimum": 0, "default": 10.0}
