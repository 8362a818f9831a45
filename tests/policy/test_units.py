"""Sizes and durations as policies write them: good values parse, implausible ones are ValueError."""

from __future__ import annotations

import re

import pytest

from gatekeeper.units import is_uint, parse_duration, parse_size


@pytest.mark.parametrize(
    ("value", "size"),
    [("200MB", 200_000_000), ("1.5GiB", 3 << 29), ("512 KiB", 512 << 10), ("0", 0), (7, 7), (2.9, 2)],
)
def test_sizes(value: str | int | float, size: int) -> None:
    assert parse_size(value) == size


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (float("inf"), "size inf is too large"),
        (float("nan"), "nan is not a size"),
        (-1, "size -1 is negative"),
        (-0.5, "size -0.5 is negative"),
        pytest.param(10**400, "size 1" + "0" * 35 + "... is too large", id="400-digit-int"),
        pytest.param("9" * 400, "size '" + "9" * 35 + "... is too large", id="400-digit-text"),
        pytest.param("9" * 300 + "TiB", "size '" + "9" * 35 + "... is too large", id="300-digit-TiB"),
        (True, "True is not a size"),
        ("huge", "'huge' is not a size (examples: 200MB, 1.5GiB, 512KiB)"),
        # YAML gives lists, mappings and null too: the same message, not Python's TypeError text
        ([200], "[200] is not a size (examples: 200MB, 1.5GiB, 512KiB)"),
        ({"mb": 200}, "{'mb': 200} is not a size (examples: 200MB, 1.5GiB, 512KiB)"),
        (None, "None is not a size (examples: 200MB, 1.5GiB, 512KiB)"),
        pytest.param(
            list(range(100)),
            "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1... is not a size (examples: 200MB, 1.5GiB, 512KiB)",
            id="long-list",
        ),
    ],
)
def test_implausible_sizes(value: str | int | float, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_size(value)


@pytest.mark.parametrize(
    ("value", "seconds"), [("30s", 30.0), ("1m30s", 90.0), ("250ms", 0.25), (0, 0.0), (2.5, 2.5)]
)
def test_durations(value: str | int | float, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (float("inf"), "duration inf is too large"),
        (float("-inf"), "duration -inf is negative"),
        (float("nan"), "nan is not a duration"),
        (-5, "duration -5 is negative"),
        (-0.25, "duration -0.25 is negative"),
        pytest.param(-(10**400), "duration -1" + "0" * 34 + "... is negative", id="400-digit-int"),
        pytest.param("9" * 400 + "s", "duration '" + "9" * 35 + "... is too large", id="400-digit-text"),
        ("nan", "'nan' is not a duration (examples: 30s, 1m30s, 250ms)"),
        (False, "False is not a duration"),
        (["30s"], "['30s'] is not a duration (examples: 30s, 1m30s, 250ms)"),
        (None, "None is not a duration (examples: 30s, 1m30s, 250ms)"),
    ],
)
def test_implausible_durations(value: str | int | float, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_duration(value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", True),
        ("10001", True),
        ("", False),
        ("²", False),
        ("١٢", False),
        ("-1", False),
        ("1 ", False),
        ("1e3", False),
    ],
)
def test_is_uint(text: str, expected: bool) -> None:
    assert is_uint(text) is expected
