"""Handlers for the multi-worker test: each records its effect once per idempotency key.

``effects`` has one row per key (INSERT … ON CONFLICT DO NOTHING), so a Task re-invoked
after a worker died leaves exactly one effect; ``invocations`` counts every call, so the
test can see that re-invocations did happen.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import psycopg

URL = os.environ["SAGAWAY_EFFECTS_URL"]
_local = threading.local()


def _conn() -> psycopg.Connection[Any]:
    conn: psycopg.Connection[Any] | None = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = psycopg.connect(URL, autocommit=True)
        _local.conn = conn
    return conn


def _effect(step: str, context: Any) -> dict[str, Any]:
    conn = _conn()
    conn.execute("INSERT INTO invocations (key) VALUES (%s)", (context.idempotency_key,))
    conn.execute(
        "INSERT INTO effects (key, step) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (context.idempotency_key, step),
    )
    return {"step": step}


def reserve(event: Any, context: Any) -> dict[str, Any]:
    return _effect("reserve", context)


def charge(event: Any, context: Any) -> dict[str, Any]:
    return _effect("charge", context)


def ship(event: Any, context: Any) -> dict[str, Any]:
    return _effect("ship", context)
