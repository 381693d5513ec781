"""The JSONata functions Step Functions adds, and the standard ones it changes.

AWS adds ``$partition``, ``$range``, ``$hash``, ``$random`` (with an optional seed), ``$uuid``
and ``$parse``, and removes ``$eval`` (calling it is ``T1006``, as for any name that is not a
function). ``$now()``, ``$millis()``, ``$random()`` and ``$uuid()`` are bound per evaluation to
the scope's event time and entropy so that evaluation stays a pure function of its inputs.

Argument handling follows AWS: non-integer counts are truncated towards zero, and the argument
shapes AWS answers with "nothing" (a chunk size below one, an empty array, a ``$range`` without
a step or with a step pointing away from the end, a ``$hash`` without an algorithm) evaluate to
undefined, which then fails the field that holds the expression.
"""

from __future__ import annotations

import hashlib
import math
import random
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

from jsonata import jsonata as _jsonata
from jsonata.functions import Functions

from sagaway.expressions import budget, jsontext
from sagaway.expressions.jsonata_values import to_jsonata

# Names as AWS documents them; the match is case-sensitive.
HASH_ALGORITHMS: Final[Mapping[str, str]] = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


class FunctionFailure(Exception):
    """An added function rejected its arguments; ``str()`` is the message AWS would show."""


# The library is untyped, so its classes are ``Any`` to mypy.
class _Callable(_jsonata.Jsonata.JFunctionCallable):  # type: ignore[misc]
    """Adapts a Python callable to the library's function protocol (arguments as a list)."""

    def __init__(self, implementation: Callable[..., Any]) -> None:
        self._implementation = implementation

    def call(self, input: Any, args: Any) -> Any:
        return self._implementation(*(args or []))


def _function(implementation: Callable[..., Any], signature: str) -> Any:
    # The signature gives argument checks with JSONata's own error codes (T0410, T0411...).
    return _jsonata.Jsonata.JFunction(_Callable(implementation), signature)


def _truncate(value: float) -> int:
    return math.trunc(value)


def partition(array: list[Any] | None, chunk_size: float | None) -> Any:
    """``$partition(array, chunkSize)``: consecutive chunks, the last holding the remainder."""
    if array is None or chunk_size is None:
        return None
    size = _truncate(chunk_size)
    if size < 1 or not array:
        return None
    items = list(array)
    return [items[start : start + size] for start in range(0, len(items), size)]


def range_(start: float | None, end: float | None, step: float | None = None) -> Any:
    """``$range(start, end, step)``: from start to end inclusive; one value is returned bare."""
    if start is None or end is None or step is None:
        return None
    first, last, stride = _truncate(start), _truncate(end), _truncate(step)
    if stride == 0 or (last - first) * stride < 0:
        return None
    span = range(first, last + (1 if stride > 0 else -1), stride)
    # Sized before it is built: $range(0, 1e12) must fail, not allocate.
    budget.current().size(8 * len(span))
    values = list(span)
    return values[0] if len(values) == 1 else values


def hash_(data: str | None, algorithm: str | None = None) -> Any:
    """``$hash(data, algorithm)``: the lowercase hex digest of the UTF-8 text."""
    if data is None or algorithm is None:
        return None
    name = HASH_ALGORITHMS.get(algorithm)
    if name is None:
        supported = ", ".join(HASH_ALGORITHMS)
        raise FunctionFailure(
            f"The hash algorithm '{algorithm}' is not supported. Supported: {supported}"
        )
    return hashlib.new(name, data.encode("utf-8")).hexdigest()


def parse(text: str | None) -> Any:
    """``$parse(jsonString)``: the JSON value the text holds (``$eval``'s replacement)."""
    if text is None:
        return None
    try:
        # Parsed text becomes part of the execution's state: same limits as a client's JSON.
        value = jsontext.loads_document(text)
    except ValueError as error:
        raise FunctionFailure(f"The input '{text}' is not a valid JSON string") from error
    # A literal JSON null is a value, not "nothing": keep it as the library's null marker.
    return to_jsonata(value)


def _random_function(generator: random.Random) -> Callable[..., float]:
    def random_(seed: float | None = None) -> float:
        # A seed makes the draw reproducible on its own, as AWS documents.
        if seed is not None:
            return random.Random(_truncate(seed)).random()
        return generator.random()

    return random_


def _uuid_function(generator: random.Random) -> Callable[[], str]:
    def uuid_() -> str:
        return str(uuid.UUID(int=generator.getrandbits(128), version=4))

    return uuid_


def _clock_functions(now: float) -> dict[str, Any]:
    millis = round(now * 1000)

    def now_(picture: str | None = None, timezone: str | None = None) -> str | None:
        text: str | None = Functions.datetime_from_millis(millis, picture, timezone)
        return text

    return {
        "now": _function(now_, "<s?s?:s>"),
        "millis": _function(lambda: millis, "<:n>"),
    }


def static_bindings() -> dict[str, Any]:
    """Functions that do not depend on the scope: bound once per compiled expression."""
    return {
        "partition": _function(partition, "<a-n:a>"),
        "range": _function(range_, "<nnn?:x>"),
        "hash": _function(hash_, "<s-s?:s>"),
        "parse": _function(parse, "<s-:x>"),
        # AWS removes $eval; an unbound name makes a call fail with T1006 like AWS does.
        "eval": None,
    }


def scoped_bindings(now: float, seed: str) -> dict[str, Any]:
    """Functions bound per evaluation: the clock and the seeded generator."""
    generator = random.Random(seed)
    bindings = _clock_functions(now)
    bindings["random"] = _function(_random_function(generator), "<n?:n>")
    bindings["uuid"] = _function(_uuid_function(generator), "<:s>")
    return bindings
