"""Crossing the border between JSON values and the JSONata library's values.

The ``jsonata`` library tells JSON ``null`` (``Utils.NULL_VALUE``) from "no result" (``None``)
only when ``null`` is written as its marker, and it hands back its own list subclass for
sequences and its own objects for functions. AWS's JSONata (the JavaScript semantics) treats a
``null`` in the input as a value everywhere, so values going in are converted deeply, and values
coming out are turned back into plain JSON: the marker becomes ``None``, sequences become lists
and numbers take AWS's rendering (an integral double prints as an integer).
"""

from __future__ import annotations

import math
from typing import Any, Final

from jsonata.utils import Utils


class _Undefined:
    """JSONata's "no result": distinct from JSON ``null`` (``None``)."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        # Pickling and copying keep the singleton, so ``is UNDEFINED`` stays true.
        return "UNDEFINED"


UNDEFINED: Final = _Undefined()

# JavaScript prints an integral double in full below 1e21 and in exponent form from there;
# below that bound an integral value is rendered as a Python int so the JSON text matches.
_INTEGRAL_LIMIT: Final = 1e21


class UnsupportedResult(Exception):
    """A JSONata result that has no JSON form (a function)."""


def to_jsonata(value: Any) -> Any:
    """A JSON value as the library expects it: every ``null`` becomes the library's marker."""
    if value is None:
        return Utils.NULL_VALUE
    if isinstance(value, dict):
        return {key: to_jsonata(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_jsonata(item) for item in value]
    return value


def from_jsonata(value: Any) -> Any:
    """A library result as a plain JSON value; ``None`` at the top means UNDEFINED.

    Inside containers the library never leaves "no result" (undefined members are dropped
    when objects and arrays are built), so a nested ``None`` can only be a JSON ``null``.
    """
    if value is None:
        return UNDEFINED
    return _to_json(value)


def _to_json(value: Any) -> Any:
    if value is None or value is Utils.NULL_VALUE:
        return None
    if isinstance(value, bool | str):
        return value
    if isinstance(value, float):
        return normalise_number(value)
    if isinstance(value, int):
        # The library turns every integral double into an int; from 1e21 on JavaScript (and
        # so AWS) writes the exponent form, which only a float reproduces.
        return value if abs(value) < _INTEGRAL_LIMIT else float(value)
    if isinstance(value, dict):
        return {key: _to_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_to_json(item) for item in value]
    # Anything else is a function (a lambda or a native one): it has no JSON form.
    raise UnsupportedResult


def normalise_number(value: float) -> int | float:
    """An integral double as an int (``3.0`` -> ``3``, ``-0.0`` -> ``0``), as AWS renders it."""
    if math.isfinite(value) and value.is_integer() and abs(value) < _INTEGRAL_LIMIT:
        return int(value)
    return value
