"""Template filters: times, durations, JSON, status icons."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

STATUS_ICONS = {
    "RUNNING": "\u25cf", "SUCCEEDED": "\u2713", "FAILED": "\u2717", "TIMED_OUT": "\u29d6",
    "ABORTED": "\u25a0", "PENDING_REDRIVE": "\u21bb",
}  # fmt: skip


def when(value: float | None) -> str:
    if value is None:
        return ""
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def seconds(value: float | None) -> str:
    if value is None:
        return ""
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.2f} s"
    return f"{value / 60:.1f} min"


def pretty(value: Any) -> str:
    """JSON text or a value, indented for reading (text that is not JSON stays as it is)."""
    if isinstance(value, str):
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            return str(value)
        value = parsed
    text: str = orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
    return text


def icon(status: str) -> str:
    return STATUS_ICONS.get(status, "?")


FILTERS: dict[str, Callable[..., str]] = {
    "when": when,
    "seconds": seconds,
    "pretty": pretty,
    "icon": icon,
}
