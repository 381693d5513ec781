"""Choice-rule comparison operators on plain values (the ASL operator table)."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagaway.interpreter.comparisons import COMPARATORS, TYPE_TESTS, parse_timestamp


@pytest.mark.parametrize(
    ("operator", "value", "operand", "expected"),
    [
        ("StringEquals", "abc", "abc", True),
        ("StringEquals", "abc", "ABC", False),
        ("StringLessThan", "apple", "banana", True),
        ("StringGreaterThan", "b", "a", True),
        ("StringLessThanEquals", "a", "a", True),
        ("StringGreaterThanEquals", "a", "b", False),
        ("NumericEquals", 3, 3.0, True),
        ("NumericLessThan", 2, 2.5, True),
        ("NumericGreaterThan", -1, 0, False),
        ("NumericLessThanEquals", 5, 5, True),
        ("NumericGreaterThanEquals", 5.1, 5, True),
        ("BooleanEquals", True, True, True),
        ("BooleanEquals", False, True, False),
        ("TimestampEquals", "2024-01-01T00:00:00Z", "2024-01-01T01:00:00+01:00", True),
        ("TimestampLessThan", "2024-01-01T00:00:00Z", "2024-01-01T00:00:01Z", True),
        ("TimestampGreaterThan", "2024-06-01T00:00:00Z", "2024-01-01T00:00:00Z", True),
        ("TimestampLessThanEquals", "2024-01-01T00:00:00.000Z", "2024-01-01T00:00:00Z", True),
        ("TimestampGreaterThanEquals", "2023-12-31T23:59:59Z", "2024-01-01T00:00:00Z", False),
    ],
)
def test_comparators(operator: str, value: object, operand: object, expected: bool) -> None:
    assert COMPARATORS[operator](value, operand) is expected


@pytest.mark.parametrize(
    ("operator", "value", "operand"),
    [
        ("StringEquals", 1, "1"),
        ("NumericEquals", "1", 1),
        ("NumericEquals", True, 1),  # a boolean is not a number in JSON
        ("BooleanEquals", 1, True),
        ("TimestampEquals", "yesterday", "2024-01-01T00:00:00Z"),
    ],
)
def test_wrong_types_compare_false(operator: str, value: object, operand: object) -> None:
    assert COMPARATORS[operator](value, operand) is False


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("*.log", "app.log", True),
        ("*.log", "app.log.gz", False),
        ("log*2024*", "log-jan-2024-final", True),
        ("a*b*c", "abc", True),
        ("exact", "exact", True),
        ("exact", "exactly", False),
        (r"\*literal", "*literal", True),
        (r"\*literal", "xliteral", False),
        ("path\\\\*", "path\\anything", True),
        ("path\\\\*", "path/anything", False),
        ("a.b", "axb", False),
    ],
)
def test_string_matches_wildcards_and_escapes(pattern: str, value: str, expected: bool) -> None:
    assert COMPARATORS["StringMatches"](value, pattern) is expected


def _as_regex(pattern: str) -> re.Pattern[str]:
    """The obvious (backtracking) reading of a StringMatches pattern, as an oracle."""
    parts, i = [], 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append(".*" if pattern[i] == "*" else re.escape(pattern[i]))
        i += 1
    return re.compile("".join(parts), re.DOTALL)


@given(st.text("ab*\\", max_size=8), st.text("ab*\\", max_size=12))
def test_string_matches_agrees_with_the_regular_expression_reading(
    pattern: str, value: str
) -> None:
    expected = _as_regex(pattern).fullmatch(value) is not None
    assert COMPARATORS["StringMatches"](value, pattern) is expected


def test_string_matches_is_linear_where_a_regex_backtracks() -> None:
    began = time.thread_time()  # this thread's CPU: other threads of the process not counted
    assert not COMPARATORS["StringMatches"]("a" * 200_000, "*a*a*a*a*a*a*a*a*b")
    assert time.thread_time() - began < 0.5


@pytest.mark.parametrize(
    ("test", "value", "expected"),
    [
        ("IsNull", None, True),
        ("IsNull", 0, False),
        ("IsNumeric", 1.5, True),
        ("IsNumeric", "1", False),
        ("IsNumeric", False, False),
        ("IsString", "", True),
        ("IsString", None, False),
        ("IsBoolean", False, True),
        ("IsBoolean", 0, False),
        ("IsTimestamp", "2016-03-14T01:59:00Z", True),
        ("IsTimestamp", "2016-03-14", False),
        ("IsTimestamp", 1457920740, False),
    ],
)
def test_type_tests(test: str, value: object, expected: bool) -> None:
    assert TYPE_TESTS[test](value) is expected


def test_parse_timestamp_accepts_offsets_and_long_fractions() -> None:
    moment = parse_timestamp("2024-02-29T12:00:00.123456789+02:00")
    assert moment is not None
    assert moment.isoformat() == "2024-02-29T12:00:00.123456+02:00"
    assert parse_timestamp("2024-02-29 12:00:00Z") is None
