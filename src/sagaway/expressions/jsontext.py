"""JSON text exactly as AWS Step Functions renders it in outputs, causes and history.

AWS renders compact JSON (no spaces after separators), keeps non-ASCII characters as they
are, and prints integral numbers without a fraction. Every place that turns a value into
text goes through :func:`dumps` so the rendering is the same everywhere.
"""

from __future__ import annotations

import json
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
