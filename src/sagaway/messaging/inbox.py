"""Inbox de-duplication: a consumer handles each event id once, however often it arrives.

The bus delivers at least once (the outbox relay may publish a row again after a crash, and
replay re-sends on purpose), so consumers that are not naturally idempotent check here."""

from __future__ import annotations

import threading

from sagaway.messaging.sqlite import connect, transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (
    consumer TEXT NOT NULL,
    event_id TEXT NOT NULL,
    received REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0),
    PRIMARY KEY (consumer, event_id)
) WITHOUT ROWID;
"""


class Inbox:
    def __init__(self, url: str) -> None:
        self.url = url
        self._conn = connect(url)
        self._lock = threading.Lock()
        self._conn.executescript(SCHEMA)

    def first_time(self, consumer: str, event_id: str) -> bool:
        """Record the event for the consumer; True only the first time."""
        with self._lock, transaction(self._conn) as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO inbox (consumer, event_id) VALUES (?, ?)",
                (consumer, event_id),
            )
            return cursor.rowcount == 1

    def forget(self, consumer: str, event_id: str) -> None:
        """Undo :meth:`first_time` when handling failed, so a redelivery is handled."""
        with self._lock, transaction(self._conn) as conn:
            conn.execute(
                "DELETE FROM inbox WHERE consumer = ? AND event_id = ?", (consumer, event_id)
            )

    def close(self) -> None:
        self._conn.close()
