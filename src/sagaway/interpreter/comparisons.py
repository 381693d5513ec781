"""Choice-rule comparisons: the ASL operators applied to a value, as AWS evaluates them.

A comparison whose operands are of the wrong type is simply false (AWS does not fail the
state for it), except where noted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE
)


def parse_timestamp(value: Any) -> datetime | None:
    """An RFC 3339 timestamp, or None when ``value`` is not one."""
    if not isinstance(value, str) or not _RFC3339.match(value):
        return None
    text = value.upper().replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(_trim_fraction(text))
    except ValueError:
        return None


def _trim_fraction(text: str) -> str:
    # Python accepts at most 6 fractional digits; RFC 3339 allows more.
    match = re.match(r"^(.*?\.\d{1,6})\d*(.*)$", text)
    return match.group(1) + match.group(2) if match else text


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@lru_cache(maxsize=512)
def _pieces(pattern: str) -> tuple[str, ...]:
    """StringMatches: the literal runs between unescaped ``*``; ``\\*`` and ``\\\\`` are
    literal characters."""
    pieces: list[list[str]] = [[]]
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            pieces[-1].append(pattern[i + 1])
            i += 2
            continue
        if char == "*":
            pieces.append([])
        else:
            pieces[-1].append(char)
        i += 1
    return tuple("".join(piece) for piece in pieces)


def wildcard_match(pattern: str, text: str) -> bool:
    """Whether ``text`` matches the StringMatches ``pattern``.

    Each run between stars is found leftmost, which is exact for patterns whose only
    wildcard is ``*``, and costs at most one scan of ``text`` per run: a regular expression
    would backtrack polynomially (``*a*a*a*b`` against a long run of ``a``)."""
    first, *middle = _pieces(pattern)
    if not middle:
        return text == first
    *middle, last = middle
    end = len(text) - len(last)
    if end < len(first) or not text.startswith(first) or not text.endswith(last):
        return False
    position = len(first)
    for piece in middle:
        found = text.find(piece, position, end)
        if found < 0:
            return False
        position = found + len(piece)
    return True


def _ordered(kind: str, cmp: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def test(value: Any, operand: Any) -> bool:
        if kind == "String":
            ok = isinstance(value, str) and isinstance(operand, str)
            return ok and cmp(value, operand)
        if kind == "Numeric":
            return is_number(value) and is_number(operand) and cmp(value, operand)
        left, right = parse_timestamp(value), parse_timestamp(operand)
        return left is not None and right is not None and cmp(left, right)

    return test


_RELATIONS: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "GreaterThan": lambda a, b: a > b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThanEquals": lambda a, b: a >= b,
}

COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    f"{kind}{relation}": _ordered(kind, cmp)
    for kind in ("String", "Numeric", "Timestamp")
    for relation, cmp in _RELATIONS.items()
}
COMPARATORS["BooleanEquals"] = lambda v, o: isinstance(v, bool) and isinstance(o, bool) and v == o
COMPARATORS["StringMatches"] = lambda v, o: (
    isinstance(v, str) and isinstance(o, str) and wildcard_match(o, v)
)

TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "IsNull": lambda v: v is None,
    "IsNumeric": is_number,
    "IsString": lambda v: isinstance(v, str),
    "IsBoolean": lambda v: isinstance(v, bool),
    "IsTimestamp": lambda v: parse_timestamp(v) is not None,
}
