"""Handlers for the quota and fault tests: each returns or raises something AWS refuses or
that a careless handler does (loaded by path by a ``sagaway serve`` process)."""

from __future__ import annotations

import time
from typing import Any


def huge_integer(event: Any, context: Any) -> Any:
    return {"n": 10**400}


def not_a_number(event: Any, context: Any) -> Any:
    return {"n": float("nan")}


def infinity(event: Any, context: Any) -> Any:
    return [float("inf")]


def deep_list(event: Any, context: Any) -> Any:
    value: Any = []
    for _ in range(5000):
        value = [value]
    return value


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text for this one")


def unprintable_error(event: Any, context: Any) -> Any:
    raise Unprintable()


def big_result(event: Any, context: Any) -> Any:
    return {"blob": "x" * int(event["bytes"])}


def sleeps(event: Any, context: Any) -> Any:
    time.sleep(float(event.get("seconds", 600)))
    return event
