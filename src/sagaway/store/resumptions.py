"""Counting the resumptions of Task invocations (``Journal.resumed_invocations``), one
transaction on either database: both drivers' connections answer ``execute`` the same way."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import orjson


def count_resumptions(
    conn: Any, get_sql: str, put_sql: str, invocations: Sequence[tuple[str, str]]
) -> list[int]:
    """For each ``(execution arn, idempotency key)``, how many times it had been resumed
    before; each count is raised by one in the same transaction."""
    counts: list[int] = []
    for execution_arn, key in invocations:
        row = conn.execute(get_sql, (key,)).fetchone()
        count = 0 if row is None else int(orjson.loads(bytes(row[0]))["resumed"])
        body = orjson.dumps({"resumed": count + 1})
        conn.execute(put_sql, (key, execution_arn, time.time(), body))
        counts.append(count)
    return counts
