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
from sagaway.store.ports import StoreError

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


class RelayLoop:
    """The loop every relay runs: ``relay_once`` until stopped, pausing ``idle`` seconds when
    a batch was not full. A failed batch stays pending and is tried again."""

    batch: int
    idle: float
    _task: asyncio.Task[None] | None

    async def relay_once(self) -> int:
        raise NotImplementedError

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                moved = await self.relay_once()
            except StoreError as exc:  # the database is away: the rows wait in it
                log.warning("%s waits for its database: %s", self, exc)
                moved = 0
            except Exception:  # keep relaying: the rows stay pending and are retried
                log.exception("%s failed", self)
                moved = 0
            if moved < self.batch:
                await asyncio.sleep(self.idle)

    async def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


class OutboxRelay(RelayLoop):
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

    def __str__(self) -> str:
        return f"outbox relay of {self.url}"

    async def stop(self) -> None:
        await self._cancel()
        self._conn.close()
