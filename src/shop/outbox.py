"""The orders database's outbox and dead-letter queues, on SQLite or PostgreSQL.

The tables are Sagaway's (``event_outbox`` of :mod:`sagaway.messaging.outbox`,
``dead_letters`` of :mod:`sagaway.messaging.dlq`), so a SQLite orders file is read by
``sagaway dlq`` as before; the statements here go through :class:`shop.sql.SqlConnection`, so
the same code writes and reads them in a PostgreSQL schema.

Relaying: one relay per orders database moves its outbox to the bus. With several engine
processes on one PostgreSQL database each starts a relay, and only the one holding a session
advisory lock (keyed by the orders schema, released by the server when its holder dies)
relays: the others wait to take over.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

from sagaway.messaging.dlq import SCHEMA as DEAD_LETTERS_SCHEMA
from sagaway.messaging.dlq import (
    DeadLetter,
    read_depths,
    read_letter,
    read_letters,
    redrive_letter,
)
from sagaway.messaging.outbox import SCHEMA as OUTBOX_SCHEMA
from sagaway.messaging.outbox import Publish, RelayLoop
from sagaway.observability.context import stamp_event
from shop.errors import ServiceUnavailable
from shop.sql import SqlConnection, search_path

# Sagaway's own tables (so `sagaway dlq` reads a SQLite orders file as before), written in
# SQL that shop.sql.SqlConnection also runs on PostgreSQL.
SCHEMA = OUTBOX_SCHEMA + DEAD_LETTERS_SCHEMA


def write_event(conn: SqlConnection, event: dict[str, Any]) -> None:
    """Add ``event`` to the outbox inside the caller's open transaction."""
    event = stamp_event(event)
    conn.execute(
        "INSERT INTO event_outbox (event_id, body) VALUES (?, ?) ON CONFLICT DO NOTHING",
        (event["id"], json.dumps(event)),
    )


def put_dead_letter(conn: SqlConnection, queue: str, message_id: str, body: Any,
                    error: str, cause: str) -> bool:  # fmt: skip
    """Park a message inside the caller's transaction; False if that id is parked already."""
    rows = conn.execute(
        "INSERT INTO dead_letters (queue, message_id, body, error, cause, created)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (queue, message_id, json.dumps(body), error, cause, time.time()),
    )
    return rows.rowcount == 1


class DeadLetters:
    """The orders database's dead-letter queues: list, show, depth, redrive."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._conn = SqlConnection(url)
        self._conn.script(SCHEMA)

    def list(self, queue: str | None = None, *, include_redriven: bool = False) -> list[DeadLetter]:
        with self._lock:
            return read_letters(self._conn, queue, include_redriven=include_redriven)

    def get(self, letter_id: int) -> DeadLetter | None:
        with self._lock:
            return read_letter(self._conn, letter_id)

    def depth(self) -> dict[str, int]:
        with self._lock:
            return read_depths(self._conn)

    def redrive(self, letter_id: int, body: Any = None) -> DeadLetter:
        """Mark the message redriven and write ``DeadLetterRedriven`` to the outbox, in one
        transaction (optionally with an edited body)."""
        with self._lock, self._conn.transaction() as conn:
            letter = read_letter(conn, letter_id, for_update=True)
            return redrive_letter(conn, letter_id, letter, body, write_event)

    def close(self) -> None:
        self._conn.close()


class ShopOutboxRelay(RelayLoop):
    """Moves the orders outbox to the bus, in order, in batches: at-least-once (a relay that
    dies between publishing and marking publishes the rows again; the rules' targets,
    executions named after the event, make that once per rule)."""

    def __init__(self, url: str, publish: Publish, *, batch: int = 200, idle: float = 0.05):
        self.url = url
        self.publish = publish
        self.batch = batch
        self.idle = idle
        self._conn = SqlConnection(url)
        self._conn.script(SCHEMA)
        self._session: SqlConnection | None = None  # PostgreSQL: holds the relay's lock
        self._leading = False
        self._task: asyncio.Task[None] | None = None

    def pending(self) -> int:
        row = self._conn.execute("SELECT count(*) FROM event_outbox WHERE relayed = 0").fetchone()
        return int(row[0])

    def leads(self) -> bool:
        """SQLite: one engine per workdir, so always. PostgreSQL: whether this process holds
        the relay's session advisory lock, tried again (on the same session) while it does
        not; a session the server ended took the lock with it."""
        if not self._conn.postgres:
            return True
        try:
            if self._session is None:
                self._session = SqlConnection(self.url)
            if self._leading:
                self._session.execute("SELECT 1").fetchone()
                return True
            key = f"shop-outbox:{search_path(self.url) or 'public'}"
            row = self._session.execute(
                "SELECT pg_try_advisory_lock(hashtext(?))", (key,)
            ).fetchone()
            self._leading = bool(row and row[0])
        except ServiceUnavailable:  # the database is away: nobody relays until it is back
            self._leading = False
        return self._leading

    async def relay_once(self) -> int:
        # A local SQLite file is quick enough for the event loop; a server is not.
        local = not self._conn.postgres
        if not local and not await asyncio.to_thread(self.leads):
            return 0
        rows = self._pending_rows() if local else await asyncio.to_thread(self._pending_rows)
        if not rows:
            return 0
        await self.publish([json.loads(body) for _, body in rows])
        seqs = [seq for seq, _ in rows]
        if local:
            self._mark(seqs)
        else:
            await asyncio.to_thread(self._mark, seqs)
        return len(rows)

    def _pending_rows(self) -> list[Any]:
        return self._conn.execute(
            "SELECT seq, body FROM event_outbox WHERE relayed = 0 ORDER BY seq LIMIT ?",
            (self.batch,),
        ).fetchall()

    def _mark(self, seqs: list[int]) -> None:
        with self._conn.transaction() as conn:
            conn.executemany("UPDATE event_outbox SET relayed = 1 WHERE seq = ?",
                             [(seq,) for seq in seqs])  # fmt: skip

    def __str__(self) -> str:
        return f"outbox relay of {self.url}"

    async def stop(self) -> None:
        await self._cancel()
        self._conn.close()
        if self._session is not None:
            self._session.close()
