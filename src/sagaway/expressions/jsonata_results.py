"""Result-type checks for JSONata fields that must hold one kind of value.

``Items`` must be an array, ``Condition`` a boolean, ``Seconds``, ``TimeoutSeconds``,
``HeartbeatSeconds``, ``MaxConcurrency`` and ``ToleratedFailureCount`` integers,
``ToleratedFailurePercentage`` a number, ``Timestamp``, ``Error`` and ``Cause`` strings. AWS
reports a mismatch as::

    The JSONata expression '1' specified for the field 'Items' returned an unexpected result
    type. Expected 'array', but was 'number' for value: 1
"""

from __future__ import annotations

from typing import Any, Final

from sagaway.expressions import jsontext
from sagaway.expressions.errors import QueryEvaluationError

# JSON type names as AWS prints them after "Expected" and "but was".
EXPECTED_TYPES: Final = frozenset(
    {"array", "object", "string", "number", "integer", "boolean", "null"}
)


def json_type(value: Any) -> str:
    """The JSON type name of a plain JSON value (``number`` for ints and floats alike)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _matches(value: Any, expected: str) -> bool:
    if expected == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    return json_type(value) == expected


def describe(value: Any) -> str:
    """A value as AWS quotes it in causes: compact JSON text."""
    return jsontext.dumps(value)


def check_result_type(value: Any, expected: str, expression: str, field: str) -> None:
    """Raise AWS's "unexpected result type" error unless ``value`` has the JSON type ``expected``.

    ``expected`` is one of :data:`EXPECTED_TYPES`; ``integer`` accepts integral numbers only
    (evaluation already turned integral doubles into ints, as AWS renders them).
    """
    if expected not in EXPECTED_TYPES:
        raise ValueError(f"unknown JSON type {expected!r}")
    if _matches(value, expected):
        return
    raise QueryEvaluationError(
        f"The JSONata expression '{expression}' specified for the field '{field}' returned an "
        f"unexpected result type. Expected '{expected}', but was '{json_type(value)}' "
        f"for value: {describe(value)}"
    )
