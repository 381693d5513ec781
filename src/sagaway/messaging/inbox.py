"""Inbox de-duplication: a consumer handles each event id once, however often it arrives.

The bus delivers at least once (the outbox relay may publish a row again after a crash, and
replay re-sends on purpose), so consumers that are not naturally idempotent check here.

A mark is a *claim* first: who took the event (``owner``), when (``claimed``) and the event
itself (``body``), and it is *completed* (``done``) only after the target has it. A process
killed between claim and delivery leaves an open claim; once it is older than the claim
timeout, any bus may take it over and deliver again (:meth:`Inbox.expired`, the relay
loop's sweep). A mark is completed or forgotten, never left half-way: nothing is lost.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from typing import Any

from sagaway.messaging.sqlite import connect, transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (
    consumer TEXT NOT NULL,
    event_id TEXT NOT NULL,
    received REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0),
    PRIMARY KEY (consumer, event_id)
) WITHOUT ROWID;
"""
# Added to inboxes made before claims; a mark made then counts as completed (done = 1).
COLUMNS = {"owner": "TEXT NOT NULL DEFAULT ''", "claimed": "REAL NOT NULL DEFAULT 0",
           "body": "TEXT", "done": "INTEGER NOT NULL DEFAULT 1"}  # fmt: skip
OPEN_INDEX = "CREATE INDEX IF NOT EXISTS inbox_open ON inbox (claimed) WHERE done = 0"

# A new mark, or the take-over of an open claim older than the cutoff; a completed mark
# (or a fresh claim) stays as it is, and the statement changes no row.
CLAIM = (
    "INSERT INTO inbox (consumer, event_id, received, owner, claimed, body, done)"
    " VALUES (?, ?, ?, ?, ?, ?, 0) ON CONFLICT (consumer, event_id) DO UPDATE"
    " SET owner = excluded.owner, claimed = excluded.claimed"
    " WHERE inbox.done = 0 AND inbox.claimed < ?"
)
EXPIRED = (
    "SELECT consumer, event_id, body FROM inbox WHERE done = 0 AND claimed < ?"
    " AND (? IS NULL OR consumer IN (SELECT value FROM json_each(?))) ORDER BY claimed LIMIT ?"
)

Expired = tuple[str, str, dict[str, Any]]  # (consumer, event id, event)


class Inbox:
    def __init__(self, url: str) -> None:
        self.url = url
        self._conn = connect(url)
        self._lock = threading.Lock()
        with transaction(self._conn) as conn:
            _migrate(conn)

    def claim(self, consumer: str, event: dict[str, Any], owner: str, timeout: float) -> bool:
        """Claim the event for the consumer: True when it was never marked, or when its
        claim was left open (not completed) more than ``timeout`` seconds ago."""
        now = time.time()
        row = (consumer, event["id"], now, owner, now, json.dumps(event), now - timeout)
        with self._lock, transaction(self._conn) as conn:
            return conn.execute(CLAIM, row).rowcount == 1

    def complete(self, marks: list[tuple[str, str]]) -> None:
        """The targets have these ``(consumer, event id)``: the marks are final."""
        with self._lock, transaction(self._conn) as conn:
            conn.executemany(
                "UPDATE inbox SET done = 1, body = NULL WHERE consumer = ? AND event_id = ?",
                marks,
            )

    def expired(
        self, timeout: float, limit: int = 100, consumers: list[str] | None = None
    ) -> list[Expired]:
        """Claims left open more than ``timeout`` seconds (their owner died or hangs), of
        ``consumers`` only when given."""
        wanted = None if consumers is None else json.dumps(consumers)
        with self._lock:
            rows = self._conn.execute(
                EXPIRED, (time.time() - timeout, wanted, wanted, limit)
            ).fetchall()
        return [(str(c), str(e), json.loads(body)) for c, e, body in rows]

    def first_time(self, consumer: str, event_id: str) -> bool:
        """Record the event for the consumer, completed at once; True only the first time
        (for a consumer that de-duplicates inside its own handling)."""
        with self._lock, transaction(self._conn) as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO inbox (consumer, event_id, done) VALUES (?, ?, 1)",
                (consumer, event_id),
            )
            return cursor.rowcount == 1

    def forget(self, consumer: str, event_id: str) -> None:
        """Undo the mark when handling failed (the event was parked), so a redelivery is
        handled."""
        with self._lock, transaction(self._conn) as conn:
            conn.execute(
                "DELETE FROM inbox WHERE consumer = ? AND event_id = ?", (consumer, event_id)
            )

    def close(self) -> None:
        self._conn.close()


def _migrate(conn: sqlite3.Connection) -> None:
    conn.execute(SCHEMA)
    have = {row[1] for row in conn.execute("PRAGMA table_info(inbox)")}
    for name, kind in COLUMNS.items():
        if name not in have:
            conn.execute(f"ALTER TABLE inbox ADD COLUMN {name} {kind}")
    conn.execute(OPEN_INDEX)
