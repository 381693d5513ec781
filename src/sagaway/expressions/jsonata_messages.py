"""JSONata error messages as AWS writes them (the jsonata-js wording).

The ``jsonata`` library renders its catalogue the way its Java ancestor does: the word
"function" became "Object", and inserts are pasted raw. AWS prints the JavaScript wording, where
``{{name}}`` inserts the JSON text of the value and ``{{{name}}}`` the raw value, e.g.
``T0412: Argument 1 of function "sum" must be an array of "numbers"``. The library passes the
inserts positionally, in the order the template names them, so they are re-rendered here.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from jsonata.jexception import JException

_PLACEHOLDER: Final = re.compile(r"\{\{\{(\w+)\}\}\}|\{\{(\w+)\}\}")

# Signature type letters as jsonata-js names them in T0412.
_ARRAY_TYPES: Final = {
    "n": "numbers",
    "s": "strings",
    "b": "booleans",
    "o": "objects",
    "a": "arrays",
    "f": "functions",
    "l": "nulls",
    "j": "JSON values",
    "x": "values",
}


def _template(code: str) -> str | None:
    template: str | None = JException.error_codes.get(code)
    if template is None:
        return None
    # The Java port replaced the word "function" throughout; jsonata-js keeps it.
    return template.replace("Object", "function")


def _inserts(error: JException) -> list[Any]:
    inserts = [error.current, error.expected, error.extra]
    if error.error == "T0412" and isinstance(error.extra, str):
        inserts[2] = _ARRAY_TYPES.get(error.extra, error.extra)
    return inserts


def _json_text(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return str(value)


def render(error: JException) -> str:
    """``CODE: message`` for a library exception, worded as AWS (jsonata-js) words it."""
    template = _template(error.error)
    if template is None:
        return f"{error.error}: {error}"
    inserts = iter(_inserts(error))

    def substitute(match: re.Match[str]) -> str:
        value = next(inserts, None)
        if match.group(1) is not None:
            return "" if value is None else str(value)
        return "undefined" if value is None else _json_text(value)

    return f"{error.error}: {_PLACEHOLDER.sub(substitute, template)}"


def number_out_of_range(value: str) -> str:
    """D1001 for arithmetic the library leaves to Python (division by zero, overflow)."""
    return f"D1001: Number out of range: {value}"
