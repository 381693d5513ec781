"""The transactional outbox: an event is a row written in the same transaction as the state
change it announces, so there is never a change without its event or an event without its
change. A relay publishes the rows to the bus, then marks them; a crash between the two
publishes a row again (at-least-once), which the event's stable id lets consumers de-dup.

A row the bus cannot take (its body is not JSON, or an event the bus refuses) is parked
in the dead-letter queue ``outbox-dlq`` with the reason, and the relay goes on with the
rows after it: one bad row never holds the others back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from sagaway.messaging.events import refusal
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
# What the relay loop runs now and then besides relaying (EventBus.redeliver_expired).
Sweep = Callable[[], Awaitable[int]]
# Where a relay parks a row the bus cannot take (a DeadLetterStore's ``put``).
Park = Callable[[str, Any, dict[str, str], str], bool]
PARKED_QUEUE = "outbox-dlq"
# (row id, the row's text, error, cause): a row parked instead of published.
Refused = tuple[int, str, str, str]


def sort_rows(
    rows: Iterable[tuple[int, str | bytes]],
) -> tuple[list[dict[str, Any]], list[Refused]]:
    """The events of outbox rows ``(id, body)`` in order, and the rows the bus cannot take
    with why: a body that is not JSON text, or an event the bus refuses."""
    events: list[dict[str, Any]] = []
    refused: list[Refused] = []
    for row_id, body in rows:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        try:
            event = json.loads(body)
        except ValueError as exc:
            refused.append((row_id, text, "UnreadableEvent", f"not JSON: {exc}"))
            continue
        reason = refusal(event)
        if reason is None:
            events.append(event)
        else:
            refused.append((row_id, text, "RefusedEvent", reason))
    return events, refused


def parked_letter(where: str, refused: Refused) -> tuple[Any, dict[str, str], str]:
    """A parked row as a dead letter: ``(body, failure, message id)``."""
    row_id, text, error, cause = refused
    body = {"outbox": where, "row": row_id, "text": text}
    return body, {"error": error, "cause": cause}, f"{where}#{row_id}"


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
    sweep: Sweep | None = None
    sweep_every = 1.0  # seconds between sweeps
    _next_sweep = 0.0

    async def relay_once(self) -> int:
        raise NotImplementedError

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                moved = await self._turn()
            except StoreError as exc:  # the database is away: the rows wait in it
                log.warning("%s waits for its database: %s", self, exc)
                moved = 0
            except Exception:  # keep relaying: the rows stay pending and are retried
                log.exception("%s failed", self)
                moved = 0
            if moved < self.batch:
                await asyncio.sleep(self.idle)

    async def _turn(self) -> int:
        moved = await self.relay_once()
        if self.sweep is not None and time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + self.sweep_every
            await self.sweep()
        return moved

    async def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


class OutboxRelay(RelayLoop):
    """Moves one database's outbox rows to the bus, in order, in batches. A row the bus
    cannot take is parked in that database's own dead-letter queues (``outbox-dlq``, in
    the transaction that marks it relayed). ``sweep``: run every ``sweep_every`` seconds
    (give it the bus's ``redeliver_expired`` when the bus has rules with ``dedupe``)."""

    def __init__(self, url: str, publish: Publish, *, batch: int = 200, idle: float = 0.05,
                 sweep: Sweep | None = None) -> None:  # fmt: skip
        from sagaway.messaging.dlq import ensure_dlq  # the queues write to an outbox too

        self.url = url
        self.publish = publish
        self.batch = batch
        self.idle = idle
        self.sweep = sweep
        self._conn = connect(url)
        ensure_dlq(self._conn)
        self._task: asyncio.Task[None] | None = None

    def pending(self) -> int:
        row = self._conn.execute("SELECT count(*) FROM event_outbox WHERE relayed = 0").fetchone()
        return int(row[0])

    async def relay_once(self) -> int:
        from sagaway.messaging.dlq import DeadLetterQueue

        rows = self._conn.execute(
            "SELECT seq, body FROM event_outbox WHERE relayed = 0 ORDER BY seq LIMIT ?",
            (self.batch,),
        ).fetchall()
        if not rows:
            return 0
        events, refused = sort_rows(rows)
        if events:
            await self.publish(events)
        with transaction(self._conn) as conn:
            for row in refused:
                body, failure, message_id = parked_letter("event_outbox", row)
                log.error("%s parks row %d in %s: %s", self, row[0], PARKED_QUEUE, row[3])
                DeadLetterQueue.put_in(conn, PARKED_QUEUE, message_id, body, *failure.values())
            conn.executemany(
                "UPDATE event_outbox SET relayed = 1 WHERE seq = ?", [(seq,) for seq, _ in rows]
            )
        return len(rows)

    def __str__(self) -> str:
        return f"outbox relay of {self.url}"

    async def stop(self) -> None:
        await self._cancel()
        self._conn.close()
