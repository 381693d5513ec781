"""What every service shares: its own database, one local transaction per step, and
de-duplication of repeated invocations by the invocation's idempotency key.

The database is a SQLite file or a PostgreSQL schema (:mod:`shop.sql`): the same statements
run on both."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from shop.outbox import SCHEMA as OUTBOX
from shop.sql import Database, SqlConnection

PROCESSED = """
CREATE TABLE IF NOT EXISTS processed (
    key TEXT PRIMARY KEY,
    result TEXT NOT NULL
) WITHOUT ROWID;
"""


class ServiceDb(Database):
    """A service's database (handlers run in a thread pool: see :class:`Database`)."""

    def __init__(self, url: str, schema: str) -> None:
        super().__init__(url, PROCESSED + schema + OUTBOX)

    def step(self, key: str, work: Callable[[SqlConnection], Any]) -> Any:
        """Run ``work`` as one local transaction recorded under ``key``; a repeated call
        (the engine re-invoking after a crash) returns the recorded result, doing nothing."""
        with self.transaction() as conn:
            # Two members of a cluster may run one attempt at once (a lease taken over from a
            # slow member): the second waits here, then finds the first one's result.
            conn.lock(f"step:{key}")
            row = conn.execute("SELECT result FROM processed WHERE key = ?", (key,)).fetchone()
            if row is not None:
                return json.loads(row[0])  # the recorded result, as first returned
            result = work(conn)
            conn.execute(
                "INSERT INTO processed (key, result) VALUES (?, ?)", (key, json.dumps(result))
            )
        return result


def order_of(event: Any) -> dict[str, Any]:
    """The order in a saga document (``{"order": {...}, "results": {...}}``)."""
    order = event.get("order") if isinstance(event, dict) else None
    if isinstance(order, dict):
        return order
    raise ValueError("the step's input has no order")
