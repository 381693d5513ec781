"""JSON text exactly as AWS Step Functions renders it in outputs, causes and history.

AWS renders compact JSON (no spaces after separators), keeps non-ASCII characters as they
are, and prints integral numbers without a fraction. Every place that turns a value into
text goes through :func:`dumps` so the rendering is the same everywhere.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson


def dumps(value: Any) -> str:
    """Compact JSON text of ``value`` (AWS style)."""
    try:
        return orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        # orjson refuses integers beyond 64 bits; the standard library does not.
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def loads(text: str | bytes) -> Any:
    """Parse JSON text; integers stay ``int`` and fractions ``float``."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        # Big integers and NaN-free edge cases that orjson rejects but JSON allows.
        return json.loads(text)


# Where values enter an execution (its input, a Task's result), nesting deeper than this is
# refused: the journal's encoder stops at 255 levels and the execution state wraps values in
# a few levels of its own.
MAX_DEPTH = 200
# The integers the journal stores exactly (64 bits, signed or unsigned).
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1


def check_aws_json(value: Any, *, other_types: bool = False) -> None:
    """Raise ``ValueError`` naming the first part of ``value`` that is not JSON as AWS
    accepts it: NaN or Infinity, an integer beyond 64 bits, nesting deeper than MAX_DEPTH,
    or (unless ``other_types``: values an encoder renders, such as datetimes) a value of no
    JSON type. Iterative, so no depth can exhaust the stack."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str) or item is None or isinstance(item, bool):
            continue
        if isinstance(item, int):
            if not _INT_MIN <= item <= _INT_MAX:
                raise ValueError("a number is out of range (integers are limited to 64 bits)")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise ValueError(f"{item} is not a JSON number")
        elif isinstance(item, dict | list | tuple):
            if depth > MAX_DEPTH:
                raise ValueError(f"the value is nested deeper than {MAX_DEPTH} levels")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
        elif not other_types:
            raise ValueError(f"a value of type {type(item).__name__} is not JSON")


def loads_aws(text: str | bytes) -> Any:
    """Parse JSON text that AWS would accept (see check_aws_json); ``ValueError`` if not."""
    try:
        value = loads(text)
    except RecursionError as exc:
        raise ValueError(f"the value is nested deeper than {MAX_DEPTH} levels") from exc
    check_aws_json(value)
    return value
