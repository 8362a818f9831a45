from __future__ import annotations

from gatekeeper.rules.image.labels_missing import RULE
from tests.factories import catches, evidence, image, passes, violations

SOURCE = "org.opencontainers.image.source"
REVISION = "org.opencontainers.image.revision"


def test_missing_labels() -> None:
    [v] = violations(RULE, image(Labels={SOURCE: "https://x"}))
    assert v.message == f"Missing image label(s): {REVISION}."


def test_empty_label_counts_as_missing() -> None:
    assert catches(RULE, image(Labels={SOURCE: "https://x", REVISION: " "}))


def test_all_present() -> None:
    facts = image(Labels={SOURCE: "https://x", REVISION: "abc123"})
    assert passes(RULE, facts)
    assert evidence(RULE, facts) == [f"labels set: {SOURCE}, {REVISION}"]


def test_custom_required() -> None:
    assert catches(RULE, image(Labels={}), required=["team"])
    assert passes(RULE, image(Labels={}), required=[])
