"""Human units in policies: sizes (`200MB`, `1.5GiB`) and durations (`30s`, `5m`)."""

from __future__ import annotations

import math
import re

from gatekeeper.text import quoted

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?i?b?)?\s*$", re.IGNORECASE)
_FACTORS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "m": 10**6,
    "mb": 10**6,
    "g": 10**9,
    "gb": 10**9,
    "t": 10**12,
    "tb": 10**12,
    "ki": 2**10,
    "kib": 2**10,
    "mi": 2**20,
    "mib": 2**20,
    "gi": 2**30,
    "gib": 2**30,
    "ti": 2**40,
    "tib": 2**40,
}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_size(value: str | int | float) -> int:
    """Bytes from `200MB` (decimal, as `docker images` shows), `1.5GiB` (binary) or a number."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a size")
    if isinstance(value, int):
        _plausible(_float(value), "size", value)
        return value
    if isinstance(value, float):
        return int(_plausible(value, "size"))
    if not isinstance(value, str):  # a list, a mapping or null from YAML
        raise ValueError(f"{quoted(value)} is not a size (examples: 200MB, 1.5GiB, 512KiB)")
    match = _SIZE.match(value)
    if not match or (match.group(2) or "").lower() not in _FACTORS:
        raise ValueError(f"{value!r} is not a size (examples: 200MB, 1.5GiB, 512KiB)")
    return int(_plausible(float(match.group(1)) * _FACTORS[(match.group(2) or "").lower()], "size", value))


def _float(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:  # an integer with hundreds of digits
        return math.inf if value > 0 else -math.inf


def _plausible(number: float, what: str, text: str | int | float | None = None) -> float:
    """A number that is neither negative nor infinite nor nan (nor so long it reads as infinite)."""
    shown = quoted(number if text is None else text)
    if math.isnan(number):
        raise ValueError(f"{shown} is not a {what}")
    if number < 0:
        raise ValueError(f"{what} {shown} is negative")
    if math.isinf(number):
        raise ValueError(f"{what} {shown} is too large")
    return number


def format_size(num: int) -> str:
    """Decimal units, like `docker images`: 187.3 MB."""
    size = float(num)
    for unit in ("B", "kB", "MB", "GB"):
        if abs(size) < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"  # pragma: no cover - loop always returns


def parse_duration(value: str | int | float) -> float:
    """Seconds from `30s`, `1m30s`, `250ms`, `2h` or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        return _plausible(_float(value), "duration", value)
    if not isinstance(value, str):  # a list, a mapping or null from YAML
        raise ValueError(f"{quoted(value)} is not a duration (examples: 30s, 1m30s, 250ms)")
    text = value.strip().lower()
    pos, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _SECONDS[match.group(2)]
        pos = match.end()
    if not text or pos != len(text):
        raise ValueError(f"{value!r} is not a duration (examples: 30s, 1m30s, 250ms)")
    return _plausible(total, "duration", value)


def is_uint(text: str) -> bool:
    """Plain ASCII digits: a number as Docker (Go's strconv.Atoi) and the kernel read it.

    str.isdigit() alone also takes `²` or `١٢`, which int() then rejects or reads as 12 while
    Docker takes them for a name."""
    return text.isascii() and text.isdigit()
