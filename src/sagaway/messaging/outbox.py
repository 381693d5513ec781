"""The transactional outbox: an event is a row written in the same transaction as the state
change it announces, so there is never a change without its event or an event without its
change. A relay publishes the rows to the bus, then marks them; a crash between the two
publishes a row again (at-least-once), which the event's stable id lets consumers de-dup.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from sagaway.messaging.sqlite import connect, transaction
from sagaway.observability.context import stamp_event

log = logging.getLogger("sagaway.messaging")

SCHEMA = """
CREATE TABLE IF NOT EXISTS event_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    relayed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS event_outbox_pending ON event_outbox (relayed, seq);
"""

Publish = Callable[[list[dict[str, Any]]], Awaitable[None]]


def ensure_outbox(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)


def write_event(conn: sqlite3.Connection, event: dict[str, Any]) -> None:
    """Add ``event`` to the outbox inside the caller's open transaction (with the current
    trace context, when something is traced)."""
    event = stamp_event(event)
    conn.execute(
        "INSERT OR IGNORE INTO event_outbox (event_id, body) VALUES (?, ?)",
        (event["id"], json.dumps(event)),
    )


class OutboxRelay:
    """Moves one database's outbox rows to the bus, in order, in batches."""

    def __init__(self, url: str, publish: Publish, *, batch: int = 200, idle: float = 0.05):
        self.url = url
        self.publish = publish
        self.batch = batch
        self.idle = idle
        self._conn = connect(url)
        ensure_outbox(self._conn)
        self._task: asyncio.Task[None] | None = None

    def pending(self) -> int:
        row = self._conn.execute("SELECT count(*) FROM event_outbox WHERE relayed = 0").fetchone()
        return int(row[0])

    async def relay_once(self) -> int:
        rows = self._conn.execute(
            "SELECT seq, body FROM event_outbox WHERE relayed = 0 ORDER BY seq LIMIT ?",
            (self.batch,),
        ).fetchall()
        if not rows:
            return 0
        await self.publish([json.loads(body) for _, body in rows])
        with transaction(self._conn) as conn:
            conn.executemany(
                "UPDATE event_outbox SET relayed = 1 WHERE seq = ?", [(seq,) for seq, _ in rows]
            )
        return len(rows)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                moved = await self.relay_once()
            except Exception:  # keep relaying: the rows stay pending and are retried
                log.exception("outbox relay of %s failed", self.url)
                moved = 0
            if moved < self.batch:
                await asyncio.sleep(self.idle)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._conn.close()
