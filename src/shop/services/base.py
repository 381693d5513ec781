"""What every service shares: its own database, one local transaction per step, and
de-duplication of repeated invocations by the invocation's idempotency key.

The database is a SQLite file or a PostgreSQL schema (:mod:`shop.sql`): the same statements
run on both."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from shop.outbox import SCHEMA as OUTBOX
from shop.sql import SqlConnection

PROCESSED = """
CREATE TABLE IF NOT EXISTS processed (
    key TEXT PRIMARY KEY,
    result TEXT NOT NULL
) WITHOUT ROWID;
"""


class ServiceDb:
    """A service's database: a connection per thread (handlers run in a thread pool)."""

    def __init__(self, url: str, schema: str) -> None:
        self.url = url
        self._local = threading.local()
        self._opened: list[SqlConnection] = []
        self._lock = threading.Lock()
        self.conn().script(PROCESSED + schema + OUTBOX)

    def conn(self) -> SqlConnection:
        conn: SqlConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = SqlConnection(self.url)
            self._local.conn = conn
            with self._lock:
                self._opened.append(conn)
        return conn

    def close(self) -> None:
        """Close every thread's connection (a PostgreSQL one used again reconnects)."""
        with self._lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()

    def step(self, key: str, work: Callable[[SqlConnection], Any]) -> Any:
        """Run ``work`` as one local transaction recorded under ``key``; a repeated call
        (the engine re-invoking after a crash) returns the recorded result, doing nothing."""
        with self.conn().transaction() as conn:
            row = conn.execute("SELECT result FROM processed WHERE key = ?", (key,)).fetchone()
            if row is not None:
                return json.loads(row[0])  # the recorded result, as first returned
            result = work(conn)
            conn.execute(
                "INSERT INTO processed (key, result) VALUES (?, ?)", (key, json.dumps(result))
            )
        return result

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self.conn().execute(sql, params).fetchall()


def order_of(event: Any) -> dict[str, Any]:
    """The order in a saga document (``{"order": {...}, "results": {...}}``)."""
    order = event.get("order") if isinstance(event, dict) else None
    if isinstance(order, dict):
        return order
    raise ValueError("the step's input has no order")
