from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gatekeeper.policy.merge import merge

severities = st.sampled_from(["info", "low", "medium", "high", "critical"])
options = st.dictionaries(st.sampled_from(["max", "min_uid", "x"]), st.integers(0, 5), max_size=3)
setting = st.fixed_dictionaries(
    {}, optional={"enabled": st.booleans(), "severity": severities, "options": options}
)
docs = st.fixed_dictionaries(
    {"rules": st.dictionaries(st.sampled_from(["A", "B", "C"]), setting, max_size=3)},
    optional={"fail_on": severities},
)


@given(docs, docs, docs)
def test_associative(a: dict[str, Any], b: dict[str, Any], c: dict[str, Any]) -> None:
    assert merge(merge(a, b), c) == merge(a, merge(b, c))


@given(docs)
def test_idempotent_without_waivers(a: dict[str, Any]) -> None:
    assert merge(a, a) == merge({}, a)
    assert merge(merge({}, a), a) == merge({}, a)


@given(docs)
def test_waivers_concatenate(a: dict[str, Any]) -> None:
    w1, w2 = {"rule": "A", "reason": "r1"}, {"rule": "B", "reason": "r2"}
    assert merge({**a, "waivers": [w1]}, {"waivers": [w2]})["waivers"] == [w1, w2]


@given(docs, docs)
def test_inputs_untouched(a: dict[str, Any], b: dict[str, Any]) -> None:
    import copy

    a0, b0 = copy.deepcopy(a), copy.deepcopy(b)
    merge(a, b)
    assert (a, b) == (a0, b0)


def test_semantics() -> None:
    base = {"fail_on": "high", "rules": {"A": {"severity": "low", "options": {"max": 1, "x": 2}}}}
    top = {"rules": {"A": {"options": {"max": 5}}, "B": {"enabled": False}}}
    assert merge(base, top) == {
        "fail_on": "high",
        "rules": {"A": {"severity": "low", "options": {"max": 5, "x": 2}}, "B": {"enabled": False}},
        "waivers": [],
        "profiles": {},
    }


def test_profiles_merge_by_name() -> None:
    base = {"profiles": {"prod": {"match": ["*:prod"], "rules": {"A": {"severity": "high"}}}}}
    top = {
        "profiles": {
            "prod": {"fail_on": "low", "rules": {"A": {"options": {"max": 1}}}},
            "dev": {"match": ["*:dev"]},
        }
    }
    assert merge(base, top)["profiles"] == {
        "prod": {
            "match": ["*:prod"],
            "fail_on": "low",
            "rules": {"A": {"severity": "high", "options": {"max": 1}}},
        },
        "dev": {"match": ["*:dev"]},
    }
