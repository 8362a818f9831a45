"""The one YAML reader (policies, compose files, Kubernetes manifests): keys, merges, dates, depth."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from gatekeeper import yamlpos
from gatekeeper.yamlpos import load, load_all, yaml_error

DEEP = "x: " + "[" * 3000 + "\n"


def problem(text: str) -> str:
    with pytest.raises(yaml.YAMLError) as info:
        load(text)
    return yaml_error("f.yaml", info.value)


def test_keys_are_the_text_as_written() -> None:
    text = "on: 1\nyes: 2\nno: 3\n1: 4\nnull: 5\n~: 6\n1.50: 7\n'true': 8\n"
    assert load(text).data == {
        "on": 1,
        "yes": 2,
        "no": 3,
        "1": 4,
        "null": 5,
        "~": 6,
        "1.50": 7,
        "true": 8,
    }


def test_values_keep_their_types() -> None:
    assert load("a: on\nb: 1\nc: null\n").data == {"a": True, "b": 1, "c": None}


@pytest.mark.parametrize("key", ["? [a]\n: 1\n", "? {a: 1}\n: 1\n", "[a]: 1\n"])
def test_a_list_or_mapping_as_key_is_an_error(key: str) -> None:
    assert problem("b: 2\n" + key).startswith("f.yaml:2:")
    assert problem("b: 2\n" + key).endswith(
        ": invalid YAML: a mapping key must be a plain value, not a list or a mapping"
    )


def test_duplicate_key_is_an_error() -> None:
    assert problem("a: 1\nb: {c: 1, c: 2}\n") == "f.yaml:2:11: invalid YAML: duplicate key 'c'"
    assert problem("on: 1\n'on': 2\n") == "f.yaml:2:1: invalid YAML: duplicate key 'on'"


MERGED = """\
x-base: &base
  image: a
  user: "1000"
x-more: &more
  image: m
  cpus: 2
services:
  app:
    <<: *base
    user: "2000"
  worker:
    <<: [*base, *more]
  other:
    image: o
    <<: *more
"""


def test_merged_keys_may_be_overridden_by_the_mapping_own_keys() -> None:
    [doc] = load_all(MERGED)
    assert doc.data["services"] == {
        "app": {"image": "a", "user": "2000"},
        "worker": {"image": "a", "user": "1000", "cpus": 2},  # the first merge wins
        "other": {"image": "o", "cpus": 2},
    }
    assert doc.line(["services", "app", "user"]) == 10  # the override, not the anchor
    assert doc.line(["services", "other", "image"]) == 14


def test_merge_of_a_scalar_is_an_error() -> None:
    assert problem("a: {<<: 1}\n") == (
        "f.yaml:1:9: invalid YAML: expected a mapping or a list of mappings for merging, but found scalar"
    )


def test_timestamps_stay_text() -> None:
    data: Any = load("a: 2027-03-31\nb: 2027-03-31 10:00:00\nc: !!timestamp 2027-03-31\n2027-01-01: x\n").data
    assert data == {"a": "2027-03-31", "b": "2027-03-31 10:00:00", "c": "2027-03-31", "2027-01-01": "x"}


def test_sexagesimal_numbers_stay_strings() -> None:
    data = load("user: 33:33\nports: [22:22, 1:30.5]\n").data
    assert data == {"user": "33:33", "ports": ["22:22", "1:30.5"]}


@pytest.mark.parametrize("read", [load, load_all])
def test_deep_nesting_is_a_yaml_error(read: Any) -> None:
    with pytest.raises(yaml.YAMLError) as info:
        read(DEEP)
    message = yaml_error("f.yaml", info.value)
    assert message.startswith("f.yaml:1:")
    assert message.endswith(": invalid YAML: the YAML is nested too deeply")


def test_a_merge_of_itself_is_a_yaml_error() -> None:
    assert problem("a: &x {<<: *x}\n").endswith("invalid YAML: the YAML is nested too deeply")


def test_each_document_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    made = []
    real = yamlpos._Loader.__init__

    def counting(self: yamlpos._Loader, stream: str) -> None:
        made.append(stream)
        real(self, stream)

    monkeypatch.setattr(yamlpos._Loader, "__init__", counting)
    monkeypatch.setattr(yaml, "compose_all", None)  # the reader builds on one loader, nothing else
    monkeypatch.setattr(yaml, "load_all", None)
    docs = load_all("a: 1\n---\nb: [2]\n")
    assert [d.data for d in docs] == [{"a": 1}, {"b": [2]}]
    assert [d.line(["b", 0]) for d in docs] == [1, 3]
    located = load("c: 3\n")
    assert (located.data, located.line(["c"])) == ({"c": 3}, 1)
    assert len(made) == 2


def test_load_is_one_document() -> None:
    assert load("") == yamlpos.Located(None, None)
    assert problem("a: 1\n---\nb: 2\n").startswith("f.yaml:2:1: invalid YAML: but found another document")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: !!int abc\n", "f.yaml:1:4: invalid YAML: 'abc' is not a valid int"),
        ("a: !!float abc\n", "f.yaml:1:4: invalid YAML: 'abc' is not a valid float"),
        ("a: !!bool maybe\n", "f.yaml:1:4: invalid YAML: 'maybe' is not a valid bool"),
        ("a:\n  - b: !!int 0x1G\n", "f.yaml:2:8: invalid YAML: '0x1G' is not a valid int"),
        # a plain number longer than Python converts (4,300 digits): not a traceback either
        (
            "a: " + "9" * 5000 + "\n",
            "f.yaml:1:4: invalid YAML: '" + "9" * 35 + "... is not a valid int (too many digits)",
        ),
    ],
)
@pytest.mark.parametrize("read", [load, load_all])
def test_a_scalar_its_tag_cannot_read_is_a_yaml_error(read: Any, text: str, message: str) -> None:
    with pytest.raises(yaml.YAMLError) as info:
        read(text)
    assert yaml_error("f.yaml", info.value) == message


def billion_laughs(levels: int) -> str:
    lines = ['a0: &a0 ["lol"]'] + [
        f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels + 1)
    ]
    return "".join(f"{line}\n" for line in lines)


@pytest.mark.parametrize("read", [load, load_all])
def test_alias_expansion_is_bounded(read: Any) -> None:
    # 10**9 values from 300 bytes: loading shares them, but jsonschema walked every one (a hang)
    with pytest.raises(yaml.YAMLError) as info:
        read(billion_laughs(9))
    assert yaml_error("f.yaml", info.value) == (
        "f.yaml:6:5: invalid YAML: the document expands to more than 100,000 values through its aliases"
    )
    (small,) = [read(billion_laughs(3))] if read is load else read(billion_laughs(3))
    assert len(small.data["a3"]) == 10  # 1,111 values: loaded
    shared = "x-common: &c {image: app, environment: [A=1, B=2]}\nservices:\n  a: {<<: *c}\n  b: *c\n"
    assert load(shared).data["services"]["b"] == {"image": "app", "environment": ["A=1", "B=2"]}


def test_locate_in_a_large_mapping() -> None:
    # a key index per mapping node (a linear scan per lookup made 20,000 services quadratic)
    text = "services:\n" + "".join(f"  s{i}: {{image: app, user: root}}\n" for i in range(5000))
    doc = load(text)
    assert doc.line(["services", "s4999", "user"]) == 5001
    services = doc.node.value[0][1]  # type: ignore[union-attr]
    assert len(services._gk_keys) == 5000  # the index, kept on the node for the next lookups
    assert yamlpos.locate(doc.node, ["services", "s0"], at_key=True) == (2, 3)
    assert yamlpos.locate(doc.node, ["services", "s7", "missing"]) == (9, 7)  # the nearest parent


def test_a_large_document_without_aliases_is_not_limited() -> None:
    # the limit is on what aliases multiply: 101,000 plain values load as they are
    assert len(load("a: [" + ",".join(["1"] * 101_000) + "]\n").data["a"]) == 101_000
    # 6,000 uses of a 21-value list (126,000 values from 6,022 nodes) are refused
    with pytest.raises(yaml.YAMLError, match="expands to more than 100,000 values"):
        load("x: &x [" + ",".join(["1"] * 20) + "]\nb: [" + ",".join(["*x"] * 6000) + "]\n")
