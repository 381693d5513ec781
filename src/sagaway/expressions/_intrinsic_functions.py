"""The eighteen ASL intrinsic functions, as plain functions of evaluated arguments.

Each takes the evaluated argument values and an :class:`Entropy` (the only source of
randomness, seeded by the interpreter) and returns a JSON value, or raises
:class:`ArgumentError` whose message the caller wraps into AWS's cause.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sagaway.expressions import budget
from sagaway.expressions._intrinsic_render import java_text
from sagaway.expressions._jsonpath_filter import json_equal
from sagaway.expressions.jsontext import dumps, loads_document

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_MAX_TEXT = 10_000
_MAX_RANGE = 1_000
_HASHES = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384"}
_HASHES["SHA-512"] = "sha512"


class ArgumentError(Exception):
    """An intrinsic function rejected its arguments; the message says why."""


class Entropy:
    """One random generator per evaluation, so nested calls draw distinct values."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._rng: random.Random | None = None

    @property
    def rng(self) -> random.Random:
        if self._rng is None:
            self._rng = random.Random(self.seed)
        return self._rng


Impl = Callable[[list[Any], Entropy], Any]


@dataclass(frozen=True, slots=True)
class Signature:
    impl: Impl
    min_args: int
    max_args: int | None  # None: any number


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _integer(value: Any, what: str) -> int:
    if _is_number(value) and float(value).is_integer():
        return int(value)
    raise ArgumentError(f"The {what} must be an integer, but was {dumps(value)}")


def _string(value: Any, what: str) -> str:
    if isinstance(value, str):
        return value
    raise ArgumentError(f"The {what} must be a string, but was {dumps(value)}")


def _array(value: Any, what: str = "array argument") -> list[Any]:
    if isinstance(value, list):
        return value
    raise ArgumentError(f"The {what} must be an array, but was {dumps(value)}")


def _object(value: Any, what: str) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    raise ArgumentError(f"The {what} must be a JSON object, but was {dumps(value)}")


def _bounded(text: str, what: str) -> str:
    if len(text) > _MAX_TEXT:
        raise ArgumentError(f"The {what} exceeds the maximum length of {_MAX_TEXT} characters")
    return text


def format_parts(parts: tuple[str, ...], args: list[Any]) -> str:
    """Fill the ``{}`` gaps between ``parts`` with the arguments, Java-style."""
    if len(parts) - 1 != len(args):
        raise ArgumentError(
            f"The number of arguments ({len(args)}) does not match the number of "
            f"placeholders ({len(parts) - 1}) in the format string"
        )
    allowance = budget.current()
    out = [parts[0]]
    length = len(parts[0])
    for arg, part in zip(args, parts[1:], strict=True):
        text = java_text(arg)
        length += len(text) + len(part)
        # Checked before joining: many placeholders filled with one large value would
        # otherwise build a string many times the size of the input.
        allowance.size(length)
        out.append(text)
        out.append(part)
    return "".join(out)


def _format(args: list[Any], _: Entropy) -> str:
    # Only reached when the template came from a path: its "{}" are all placeholders.
    template = _string(args[0], "format string")
    return format_parts(tuple(template.split("{}")), args[1:])


def _string_to_json(args: list[Any], _: Entropy) -> Any:
    text = _string(args[0], "argument")
    if not text.strip():
        return None  # AWS reads empty or blank text as null rather than failing
    try:
        # Parsed text becomes part of the execution's state: same limits as a client's JSON.
        return loads_document(text)
    except ValueError:
        raise ArgumentError(f"The argument is not valid JSON text: {text}") from None


def _json_to_string(args: list[Any], _: Entropy) -> str:
    return dumps(args[0])


def _array_of(args: list[Any], _: Entropy) -> list[Any]:
    return list(args)


def _array_partition(args: list[Any], _: Entropy) -> list[list[Any]]:
    items = _array(args[0])
    size = _integer(args[1], "chunk size")
    if size <= 0:
        raise ArgumentError(f"The chunk size must be greater than 0, but was {size}")
    return [items[i : i + size] for i in range(0, len(items), size)]


def _array_contains(args: list[Any], _: Entropy) -> bool:
    return any(json_equal(item, args[1]) for item in _array(args[0]))


def _array_range(args: list[Any], _: Entropy) -> list[int]:
    start = _integer(args[0], "start value")
    end = _integer(args[1], "end value")
    step = _integer(args[2], "step value")
    if step == 0:
        raise ArgumentError("The step value must not be 0")
    values = range(start, end + (1 if step > 0 else -1), step)
    # A range knows its length without allocating its items: check before building the list.
    if len(values) > _MAX_RANGE:
        raise ArgumentError(f"The array would exceed the maximum of {_MAX_RANGE} items")
    return list(values)


def _array_get_item(args: list[Any], _: Entropy) -> Any:
    items = _array(args[0])
    index = _integer(args[1], "index")
    if not 0 <= index < len(items):
        raise ArgumentError(
            f"The index {index} is out of bounds for an array of length {len(items)}"
        )
    return items[index]


def _array_length(args: list[Any], _: Entropy) -> int:
    return len(_array(args[0]))


def _array_unique(args: list[Any], _: Entropy) -> list[Any]:
    unique: list[Any] = []
    allowance = budget.current()
    for item in _array(args[0]):
        # Quadratic in the number of distinct items: metered so a large array fails in time.
        allowance.tick(len(unique) + 1)
        if not any(json_equal(item, seen) for seen in unique):
            unique.append(item)
    return unique


def _base64_encode(args: list[Any], _: Entropy) -> str:
    text = _bounded(_string(args[0], "argument"), "input string")
    return base64.b64encode(text.encode()).decode("ascii")


def _base64_decode(args: list[Any], _: Entropy) -> str:
    text = _bounded(_string(args[0], "argument"), "input string")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ArgumentError(f"The argument is not valid Base64 text: {text}") from None
    # Java decodes malformed UTF-8 to U+FFFD rather than failing.
    return raw.decode("utf-8", errors="replace")


def _hash(args: list[Any], _: Entropy) -> str:
    data = _bounded(_string(args[0], "data"), "data")
    algorithm = _string(args[1], "algorithm")
    if algorithm not in _HASHES:
        names = ", ".join(_HASHES)
        raise ArgumentError(f"The algorithm {algorithm} is not supported; use one of {names}")
    return hashlib.new(_HASHES[algorithm], data.encode()).hexdigest()


def _json_merge(args: list[Any], _: Entropy) -> dict[str, Any]:
    left = _object(args[0], "first argument")
    right = _object(args[1], "second argument")
    if args[2] is not False:
        raise ArgumentError("Only shallow merging is supported: the third argument must be false")
    return {**left, **right}


def _math_random(args: list[Any], entropy: Entropy) -> int:
    start = int(_number(args[0], "start value"))
    end = int(_number(args[1], "end value"))
    if start >= end:
        raise ArgumentError(f"The start value {start} must be less than the end value {end}")
    rng = random.Random(_integer(args[2], "seed")) if len(args) == 3 else entropy.rng
    return rng.randrange(start, end)


def _number(value: Any, what: str) -> int | float:
    if _is_number(value):
        return int(value) if isinstance(value, int) else float(value)
    raise ArgumentError(f"The {what} must be a number, but was {dumps(value)}")


def _math_add(args: list[Any], _: Entropy) -> int:
    # AWS rounds a non-integer argument to the nearest integer, halves upwards (Java's
    # Math.round: 1.5 -> 2, -1.5 -> -1), before adding.
    left = math.floor(_number(args[0], "first argument") + 0.5)
    right = math.floor(_number(args[1], "second argument") + 0.5)
    for value in (left, right):
        if not _INT_MIN <= value <= _INT_MAX:
            raise ArgumentError(f"The value {value} is outside the range {_INT_MIN}..{_INT_MAX}")
    return left + right


def _string_split(args: list[Any], _: Entropy) -> list[str]:
    text = _string(args[0], "input string")
    delimiters = set(_string(args[1], "delimiter"))
    # Every delimiter character separates tokens and empty tokens vanish (Java StringTokenizer).
    tokens: list[str] = []
    current: list[str] = []
    for char in text:
        if char in delimiters:
            tokens.append("".join(current))
            current = []
        else:
            current.append(char)
    tokens.append("".join(current))
    return [token for token in tokens if token]


def _uuid(_args: list[Any], entropy: Entropy) -> str:
    return str(uuid.UUID(int=entropy.rng.getrandbits(128), version=4))


FUNCTIONS: dict[str, Signature] = {
    "Format": Signature(_format, 1, None),
    "StringToJson": Signature(_string_to_json, 1, 1),
    "JsonToString": Signature(_json_to_string, 1, 1),
    "Array": Signature(_array_of, 0, None),
    "ArrayPartition": Signature(_array_partition, 2, 2),
    "ArrayContains": Signature(_array_contains, 2, 2),
    "ArrayRange": Signature(_array_range, 3, 3),
    "ArrayGetItem": Signature(_array_get_item, 2, 2),
    "ArrayLength": Signature(_array_length, 1, 1),
    "ArrayUnique": Signature(_array_unique, 1, 1),
    "Base64Encode": Signature(_base64_encode, 1, 1),
    "Base64Decode": Signature(_base64_decode, 1, 1),
    "Hash": Signature(_hash, 2, 2),
    "JsonMerge": Signature(_json_merge, 3, 3),
    "MathRandom": Signature(_math_random, 2, 3),
    "MathAdd": Signature(_math_add, 2, 2),
    "StringSplit": Signature(_string_split, 2, 2),
    "UUID": Signature(_uuid, 0, 0),
}
