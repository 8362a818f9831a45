from __future__ import annotations

import pytest

from gatekeeper.facts import Target
from gatekeeper.rule import NotApplicable
from gatekeeper.rules.image.image_size import RULE
from tests.factories import evidence, image, passes, violations
from tests.imagegen import file

BIG = [file("/big.bin", b"\0" * 3000)]
SMALL = [file("/small.txt", b"x" * 100)]


def test_under_budget_passes_with_evidence() -> None:
    facts = image([SMALL], history=[{"created_by": "/bin/sh -c #(nop) COPY file:abc in / "}])
    assert passes(RULE, facts, max="1kB")
    assert evidence(RULE, facts, max="1kB") == [
        "uncompressed size 100 B, budget 1.0 kB; largest: layer 0 100 B `COPY file:abc in /`"
    ]


def test_over_budget_names_largest_layers() -> None:
    facts = image(
        [SMALL, BIG],
        history=[{"created_by": "COPY small"}, {"created_by": "RUN make big # buildkit"}],
    )
    [v] = violations(RULE, facts, max="2KB", top_layers=1)
    assert "3.1 kB (uncompressed), over the 2.0 kB budget by 1.1 kB" in v.message
    assert v.evidence == "largest: layer 1 3.0 kB `RUN make big`"


@pytest.mark.parametrize(("budget", "fails"), [("3099B", True), ("3100", False), ("1KiB", True)])
def test_boundary(budget: str, fails: bool) -> None:
    facts = image([SMALL, BIG])
    assert bool(violations(RULE, facts, max=budget)) is fails


def test_compressed_unknown_is_not_applicable() -> None:
    facts = image([SMALL])
    with pytest.raises(NotApplicable, match="compressed size is not known"):
        list(RULE.check(Target(image=facts), RULE.build_options({"measure": "compressed"})))


def test_compressed_needs_no_layers() -> None:
    assert not RULE.needs(RULE.build_options({"measure": "compressed"})).sizes
    assert RULE.needs(RULE.build_options({})).sizes


def test_default_budget_is_200mb() -> None:
    assert RULE.build_options({}).max == 200_000_000
