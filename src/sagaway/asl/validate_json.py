"""Reading the definition text the way AWS's JSON parser (Jackson) reads it.

AWS reports a syntax error as ``INVALID_JSON_DESCRIPTION`` with Jackson's own sentence and a
``[Source: ...; line: L, column: C]`` locator as the location; text that parses to anything but
an object (or to nothing at all, like blank text) is a schema error instead. Trailing text after
the first value is ignored, as Jackson's default reader ignores it.
"""

from __future__ import annotations

import json
from typing import Any

from sagaway.asl.diagnostics import (
    INVALID_JSON_DESCRIPTION,
    SCHEMA_VALIDATION_FAILED,
    Diagnostic,
)
from sagaway.expressions import jsontext
from sagaway.expressions.jsontext import MAX_DEPTH

_SOURCE_LIMIT = 500  # Jackson quotes at most this many characters of the source
_EXPECTING_VALUE = (
    "was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
)


class JsonObject(dict[str, Any]):
    """A parsed JSON object that remembers the keys it saw more than once (last one wins)."""

    duplicates: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]]) -> JsonObject:
    obj = JsonObject()
    seen: list[str] = []
    for key, value in pairs:
        if key in obj:
            seen.append(key)
        obj[key] = value
    if seen:
        obj.duplicates = tuple(seen)
    return obj


_DECODER = json.JSONDecoder(
    object_pairs_hook=_object,
    parse_constant=jsontext.refuse_constant,
    parse_float=jsontext.parse_double,
    parse_int=jsontext.parse_integer,
)


def parse_definition(text: str) -> tuple[JsonObject | None, Diagnostic | None]:
    """Parse ``text``: the object, or the diagnostic AWS gives for it."""
    start = len(text) - len(text.lstrip())
    if start == len(text):
        return None, _not_an_object()
    try:
        value, _ = _DECODER.raw_decode(text, start)
        jsontext.check_depth(value)
    except json.JSONDecodeError as exc:
        return None, _syntax_error(text, exc)
    except RecursionError:
        return None, _unreadable(f"JSON nesting depth exceeds the maximum allowed ({MAX_DEPTH})")
    except ValueError as exc:
        # A number no double holds, NaN or Infinity, or nesting the journal cannot keep.
        return None, _unreadable(str(exc))
    if not isinstance(value, JsonObject):
        return None, _not_an_object()
    return value, None


def _unreadable(message: str) -> Diagnostic:
    return Diagnostic(INVALID_JSON_DESCRIPTION, message, None)


def _not_an_object() -> Diagnostic:
    return Diagnostic(SCHEMA_VALIDATION_FAILED, "Definition must be a valid JSON object", None)


def _syntax_error(text: str, exc: json.JSONDecodeError) -> Diagnostic:
    message, end = _jackson_message(text, exc)
    line = text.count("\n", 0, end) + 1
    column = end - (text.rfind("\n", 0, end) + 1) + 1
    locator = f"[Source: {_source(text)}; line: {line}, column: {column}]"
    return Diagnostic(INVALID_JSON_DESCRIPTION, f"{message}\n at {locator}", locator)


def _jackson_message(text: str, exc: json.JSONDecodeError) -> tuple[str, int]:
    """Jackson's sentence for the error at ``exc.pos`` and the offset just after what it read."""
    pos = exc.pos
    if pos >= len(text):
        return "Unexpected end-of-input", len(text)
    char = text[pos]
    if exc.msg == "Expecting value" and (char.isalnum() or char in "_$"):
        end = pos
        while end < len(text) and (text[end].isalnum() or text[end] in "_$"):
            end += 1
        return f"Unrecognized token '{text[pos:end]}': {_EXPECTING_VALUE}", end
    unexpected = f"Unexpected character ('{char}' (code {ord(char)}))"
    expectations = {
        "Expecting value": "expected a valid value (JSON String, Number, Array, Object or "
        "token 'null', 'true' or 'false')",
        "Expecting property name enclosed in double quotes": "was expecting double-quote to "
        "start field name",
        "Expecting ',' delimiter": "was expecting comma to separate Object entries",
        "Expecting ':' delimiter": "was expecting a colon to separate field name and value",
    }
    expectation = expectations.get(exc.msg)
    if expectation is None:
        return f"{exc.msg}", pos + 1
    return f"{unexpected}: {expectation}", pos + 1


def _source(text: str) -> str:
    if len(text) <= _SOURCE_LIMIT:
        return f'(String)"{text}"'
    return f'(String)"{text[:_SOURCE_LIMIT]}"[truncated {len(text) - _SOURCE_LIMIT} chars]'
