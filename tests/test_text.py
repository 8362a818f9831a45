"""gatekeeper.text: shorten, loads_json, any_of."""

from __future__ import annotations

import re

import hypothesis
import pytest
from hypothesis import strategies as st

from gatekeeper import yamlpos
from gatekeeper.text import TRIE_DEPTH, any_of, loads_json, shorten


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        ("RUN  apt-get\n\tinstall -y curl", 60, "RUN apt-get install -y curl"),
        ("  \n ", 10, ""),
        ("abcdefghij", 10, "abcdefghij"),
        ("abcdefghijk", 10, "abcdefg..."),
        ("a\nb\nc " * 50, 12, "a b c a b..."),
    ],
)
def test_shorten(text: str, width: int, expected: str) -> None:
    assert shorten(text, width) == expected
    assert len(shorten(text, width)) <= width


def test_loads_json_replaces_lone_surrogates() -> None:
    # "\ud800" is valid JSON but not Unicode: written into a UTF-8 report it raised
    # UnicodeEncodeError (a scan report's vulnerability id crashed the vulnerabilities rule)
    text = r'{"id": "CVE-\ud800", "\udfff": ["\ud83d\ude00", 1, null]}'
    expected = {"id": "CVE-\ufffd", "\ufffd": ["\U0001f600", 1, None]}
    assert loads_json(text) == expected
    assert loads_json(text.encode()) == expected
    assert loads_json(r'["\\ud800"]') == ["\\ud800"]  # an escaped backslash: plain text


def test_yaml_lone_surrogates_are_replaced() -> None:
    assert yamlpos.load('a: "x\\ud800"\n').data == {"a": "x\ufffd"}


def test_yaml_keys_with_lone_surrogates_are_replaced() -> None:
    # a compose service named "\ud800" crashed resource-limits-missing (its fingerprint)
    doc = yamlpos.load('services:\n  "web\\ud800": {image: app}\n')
    assert doc.data == {"services": {"web\ufffd": {"image": "app"}}}
    assert doc.line(["services", "web\ufffd", "image"]) == 2


def test_loads_json_says_plainly_that_a_number_is_too_long() -> None:
    with pytest.raises(ValueError, match=r"^a number has more than 4,300 digits$"):
        loads_json('{"SchemaVersion": ' + "9" * 5000 + "}")


@pytest.mark.parametrize("depth", [900, 200_000])
def test_loads_json_says_nested_too_deeply(depth: int) -> None:
    # _scrub recursed: 900 levels around a lone surrogate were a RecursionError (exit 4 from
    # lint, through an exec-form CMD), though json.loads had read them
    text = "[" * depth + '"\\ud800"' + "]" * depth
    with pytest.raises(ValueError, match=r"^nested too deeply$"):
        loads_json(text)
    with pytest.raises(ValueError, match=r"^nested too deeply$"):
        loads_json(text.encode())


@hypothesis.given(
    words=st.lists(st.text("/.ab[*", min_size=1, max_size=6), min_size=1, max_size=8),
    texts=st.lists(st.text("/.ab[*x", max_size=16), max_size=8),
)
@hypothesis.settings(max_examples=400)
def test_any_of_finds_what_the_plain_alternation_finds(words: list[str], texts: list[str]) -> None:
    search = re.compile(any_of(words)).search
    for text in [*texts, *words, "".join(words)]:
        assert bool(search(text)) == any(word in text for word in words), (words, text)


def test_any_of_factors_prefixes_and_falls_back_when_deep() -> None:
    assert any_of(["/.aws/", "/.ssh/", "/id_", ".tfstate"]) == r"(?:\.tfstate|/(?:\.(?:aws/|ssh/)|id_))"
    nested = ["a" * n + "b" for n in range(1, TRIE_DEPTH + 5)]  # each a prefix branch of the next
    assert any_of(nested) == "|".join(nested)
    assert re.search(any_of(nested), "x" + "a" * 20 + "b")
