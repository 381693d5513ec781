"""EventBridge event patterns."""

from __future__ import annotations

import pytest

from sagaway.messaging import PatternError, make_event, matches, validate_pattern

EVENT = make_event("shop.orders", "OrderSubmitted",
                   {"orderId": "o-1", "total": 40, "tags": ["vip", "sale"], "note": None})  # fmt: skip  # noqa: E501


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"source": ["shop.orders"]}, True),
        ({"source": ["shop.payments"]}, False),
        ({"detail-type": [{"prefix": "Order"}]}, True),
        ({"detail": {"orderId": [{"prefix": "x-"}]}}, False),
        ({"detail": {"orderId": [{"anything-but": ["o-2", "o-3"]}]}}, True),
        ({"detail": {"orderId": [{"anything-but": "o-1"}]}}, False),
        ({"detail": {"orderId": [{"anything-but": {"prefix": "o-"}}]}}, False),
        ({"detail": {"total": [{"numeric": [">", 10, "<=", 40]}]}}, True),
        ({"detail": {"total": [{"numeric": [">", 40]}]}}, False),
        ({"detail": {"total": ["40"]}}, False),
        ({"detail": {"total": [40.0]}}, True),
        ({"detail": {"missing": [{"exists": False}]}}, True),
        ({"detail": {"missing": [{"exists": True}]}}, False),
        ({"detail": {"orderId": [{"exists": True}]}}, True),
        ({"detail": {"tags": ["sale"]}}, True),
        ({"detail": {"note": [None]}}, True),
        ({"detail": {"orderId": [{"equals-ignore-case": "O-1"}]}}, True),
        ({"source": ["shop.orders"], "detail": {"total": [{"numeric": ["<", 5]}]}}, False),
    ],
)
def test_matching(pattern: dict[str, object], expected: bool) -> None:
    validate_pattern(pattern)
    assert matches(pattern, EVENT) is expected


@pytest.mark.parametrize(
    "pattern",
    [
        {},
        {"source": "shop"},
        {"source": []},
        {"a": [{"numeric": [">"]}]},
        {"a": [{"numeric": ["~", 1]}]},
        {"a": [{"exists": "yes"}]},
        {"a": [{"regex": "x"}]},
    ],
)
def test_invalid_patterns_are_refused(pattern: dict[str, object]) -> None:
    with pytest.raises(PatternError):
        validate_pattern(pattern)
