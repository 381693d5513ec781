"""JSON text exactly as AWS Step Functions renders it in outputs, causes and history.

AWS renders compact JSON (no spaces after separators), keeps non-ASCII characters as they
are, and prints integral numbers without a fraction. Every place that turns a value into
text goes through :func:`dumps` so the rendering is the same everywhere.

Parsing refuses what JSON does not have or the journal cannot keep: ``NaN`` and ``Infinity``,
numbers beyond the range of a double (``1e400``, a 400-digit integer) and, for text from a
client (:func:`loads_document`), nesting deeper than :data:`MAX_DEPTH`. Each is a
``ValueError`` its caller answers with the client error of its action.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any, Final

import orjson

# How deep a client's JSON may nest. The journal encodes states with orjson, which refuses
# values nested deeper than 254 levels; an execution's state wraps its input and outputs in a
# few levels of its own, and states may nest results further, so clients get less than that.
MAX_DEPTH: Final = 200
_ENCODER_DEPTH: Final = 254
# orjson keeps integers of 64 bits (signed or unsigned) and reads larger ones as doubles.
_INT_MIN, _UINT_MAX = -(2**63), 2**64 - 1
# Texts up to this long are scanned for brackets before their depth is measured (measured).
_COUNT_BRACKETS_UP_TO: Final = 4096


def dumps(value: Any) -> str:
    """Compact JSON text of ``value`` (AWS style)."""
    try:
        return orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        # orjson refuses integers beyond 64 bits; the standard library does not.
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def copy_json(value: Any) -> Any:
    """A copy of a JSON value whose objects and arrays are new and whose strings and numbers
    (immutable) are shared: changing the copy cannot change ``value``, and copying a large
    document costs one step per object and array, not per byte."""
    # JSON's scalars are shared after one set lookup of their type (cheaper than isinstance
    # against a union, and this runs for every Task's input); anything else goes through
    # copy_json, which returns what is neither an object nor an array as it is. An object is
    # copied whole by dict() and only its objects and arrays replaced: cheaper than a
    # comprehension that puts every member back one by one.
    if isinstance(value, dict):
        copy = dict(value)
        for k, v in value.items():
            if type(v) not in _SCALARS:
                copy[k] = copy_json(v)
        return copy
    if isinstance(value, list):
        return [v if type(v) in _SCALARS else copy_json(v) for v in value]
    return value


_SCALARS: Final = frozenset({str, int, float, bool, type(None)})


def loads(text: str | bytes) -> Any:
    """Parse JSON text; integers stay ``int`` and fractions ``float``.

    Raises ``ValueError`` for anything that is not JSON or holds a number no double can
    represent; never ``RecursionError``."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return _loads_slowly(text)


def _loads_slowly(text: str | bytes) -> Any:
    # orjson refuses some valid JSON the standard library reads (lone surrogate escapes):
    # read it the same way orjson would have, refusing what orjson refuses for good reason.
    try:
        return json.loads(
            text, parse_constant=refuse_constant, parse_float=parse_double, parse_int=parse_integer
        )
    except RecursionError:
        raise ValueError("JSON text nested too deeply") from None


def loads_document(text: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """:func:`loads` for text a client sends, also refusing nesting deeper than ``max_depth``
    and strings holding a lone surrogate (``"\\ud800"``): valid JSON, but no Unicode text,
    so no journal could keep it (its snapshots are UTF-8)."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        value = _loads_slowly(text)  # the only way to a lone surrogate: checked (rare)
        try:
            orjson.dumps(value)
        except TypeError as exc:
            if "surrogates" in str(exc):
                raise ValueError(
                    "a string holds a lone surrogate (\\ud800-\\udfff): not Unicode text"
                ) from None
    # Cheap common case: a short text with no more brackets than allowed levels cannot nest
    # deeper. A long one is checked at once: encoding the value costs less than counting.
    if not (
        isinstance(text, str)
        and len(text) <= _COUNT_BRACKETS_UP_TO
        and text.count("[") + text.count("{") <= max_depth
    ):
        check_depth(value, max_depth)
    return value


def check_depth(value: Any, max_depth: int = MAX_DEPTH) -> None:
    """Raise ``ValueError`` when ``value`` nests deeper than ``max_depth`` levels."""
    # orjson's encoder counts levels in C and stops at its own limit: wrapping the value in
    # (limit - max_depth) lists makes that limit ours, at the cost of one encoding.
    wrapped = value
    for _ in range(_ENCODER_DEPTH - max_depth):
        wrapped = [wrapped]
    try:
        orjson.dumps(wrapped)
    except TypeError as exc:
        if "Recursion limit" in str(exc):
            raise ValueError(
                f"JSON nesting depth exceeds the maximum allowed ({max_depth})"
            ) from None
        raise ValueError(str(exc)) from None


def refuse_constant(name: str) -> Any:
    """``parse_constant`` for the standard library: JSON has no NaN or Infinity."""
    raise ValueError(f"Non-standard token '{name}': JSON has no {name}")


def parse_double(text: str) -> float:
    """``parse_float``: a finite double, or ``ValueError``."""
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"Number out of range: {text[:40]}")
    return number


def parse_integer(text: str) -> int | float:
    """``parse_int``: an integer as orjson keeps it (64 bits, else a double)."""
    if len(text) > sys.float_info.max_10_exp + 2:
        raise ValueError(f"Number out of range: {text[:40]}...")
    number = int(text)
    if _INT_MIN <= number <= _UINT_MAX:
        return number
    return parse_double(text)


def check_aws_json(value: Any, *, other_types: bool = False) -> None:
    """Raise ``ValueError`` naming the first part of ``value`` that is not JSON as AWS
    accepts it: NaN or Infinity, an integer beyond 64 bits, nesting deeper than MAX_DEPTH,
    or (unless ``other_types``: values an encoder renders, such as datetimes) a value of no
    JSON type. Iterative, so no depth can exhaust the stack."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if kind is str or item is None or kind is bool:  # the common leaves, exactly typed
            continue
        if isinstance(item, str | bool):
            continue
        if isinstance(item, int):
            if not _INT_MIN <= item <= _UINT_MAX:
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
