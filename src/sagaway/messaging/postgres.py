"""The bus's stores in PostgreSQL: archive, inbox and dead-letter queues in the database the
cluster's journal lives in, so every member of a cluster shares one bus (a rule's inbox sees an
event once whichever member relays it; an operator sees every member's dead letters).

The same methods as the SQLite stores (:class:`~sagaway.messaging.archive.Archive`,
:class:`~sagaway.messaging.inbox.Inbox`, :class:`~sagaway.messaging.dlq.DeadLetterQueue`):
the bus takes either. Tables are created when missing, next to the journal's.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg

from sagaway.messaging import ledger as L
from sagaway.messaging.dlq import REDRIVE_SOURCE, REDRIVE_TYPE, DeadLetter
from sagaway.messaging.events import make_event
from sagaway.messaging.put_events import DEFAULT_BUS
from sagaway.observability.context import stamp_event

SCHEMA = """
CREATE TABLE IF NOT EXISTS bus_archive (
    event_id TEXT PRIMARY KEY, archived DOUBLE PRECISION NOT NULL,
    detail_type TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS bus_archive_by_time ON bus_archive (archived);
CREATE TABLE IF NOT EXISTS bus_inbox (
    consumer TEXT NOT NULL, event_id TEXT NOT NULL,
    received DOUBLE PRECISION NOT NULL, PRIMARY KEY (consumer, event_id));
ALTER TABLE bus_inbox ADD COLUMN IF NOT EXISTS owner TEXT NOT NULL DEFAULT '';
ALTER TABLE bus_inbox ADD COLUMN IF NOT EXISTS claimed DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE bus_inbox ADD COLUMN IF NOT EXISTS body TEXT;
ALTER TABLE bus_inbox ADD COLUMN IF NOT EXISTS done BOOLEAN NOT NULL DEFAULT TRUE;
CREATE INDEX IF NOT EXISTS bus_inbox_open ON bus_inbox (claimed) WHERE NOT done;
CREATE TABLE IF NOT EXISTS bus_dead_letters (
    id BIGSERIAL PRIMARY KEY, queue TEXT NOT NULL, message_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL, error TEXT NOT NULL, cause TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL, redriven DOUBLE PRECISION,
    redrive_count INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS bus_ledger (
    bus TEXT NOT NULL, event_id TEXT NOT NULL, consumer TEXT NOT NULL,
    outcome TEXT NOT NULL, updated DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (bus, event_id, consumer));
"""

NOW = "extract(epoch FROM clock_timestamp())"
_LETTER = "id, queue, message_id, body, error, cause, created, redriven, redrive_count"


class _Connection:
    """One autocommit connection behind a lock, replaced once when it broke (a restarted
    server): each call is one statement, so a retry on a fresh connection is safe."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._conn = psycopg.connect(url, autocommit=True)
        with self._conn.transaction():
            # Members starting together would race on CREATE TABLE IF NOT EXISTS.
            self._conn.execute("SELECT pg_advisory_xact_lock(hashtext('sagaway-bus-schema'))")
            for statement in filter(str.strip, SCHEMA.split(";")):
                self._conn.execute(statement)

    @contextmanager
    def use(self) -> Iterator[psycopg.Connection[Any]]:
        with self._lock:
            if self._conn.closed or self._conn.broken:
                self._conn = psycopg.connect(self.url, autocommit=True)
            try:
                yield self._conn
            except psycopg.OperationalError:
                # A server gone mid-executemany (a pipeline) can leave the connection in
                # pipeline mode without marking it broken: every later statement would fail
                # ("cannot exit pipeline mode while busy"). The next use reconnects.
                self._conn.close()
                raise

    def run(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        for attempt in (1, 2):
            try:
                with self.use() as conn:
                    cursor = conn.execute(query, params)
                    return cursor.fetchall() if cursor.description else []
            except psycopg.OperationalError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def shared_connection(url: str) -> _Connection:
    """One connection for all of a bus's stores (each call is one short statement or
    transaction): a cluster member then holds one connection for its bus, not four."""
    return _Connection(url)


class PostgresArchive:
    def __init__(self, url: str, db: _Connection | None = None) -> None:
        self.url = url
        self._db = db or _Connection(url)

    def add(self, events: list[dict[str, Any]]) -> None:
        now = time.time()
        with self._db.use() as conn, conn.transaction(), conn.cursor() as cursor:
            # A redelivered event keeps its first archive time: replay sends it once.
            cursor.executemany(
                "INSERT INTO bus_archive VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                [(e["id"], now, str(e.get("detail-type", "")), json.dumps(e)) for e in events],
            )

    def between(self, since: float, until: float) -> list[dict[str, Any]]:
        rows = self._db.run(
            "SELECT body FROM bus_archive WHERE archived >= %s AND archived < %s"
            " ORDER BY archived, event_id",
            (since, until),
        )
        return [json.loads(body) for (body,) in rows]

    def count(self, detail_type: str | None = None) -> int:
        rows = self._db.run(
            "SELECT count(*) FROM bus_archive WHERE %s::text IS NULL OR detail_type = %s",
            (detail_type, detail_type),
        )
        return int(rows[0][0])

    def close(self) -> None:
        self._db.close()


class PostgresInbox:
    """The inbox (:mod:`sagaway.messaging.inbox`) of the cluster's bus. Claim times are
    the database's clock, so members whose clocks differ agree on when a claim expired."""

    def __init__(self, url: str, db: _Connection | None = None) -> None:
        self.url = url
        self._db = db or _Connection(url)

    def claim(self, consumer: str, event: dict[str, Any], owner: str, timeout: float) -> bool:
        rows = self._db.run(
            f"INSERT INTO bus_inbox (consumer, event_id, received, owner, claimed, body, done)"
            f" VALUES (%s, %s, {NOW}, %s, {NOW}, %s, FALSE) ON CONFLICT (consumer, event_id)"
            " DO UPDATE SET owner = excluded.owner, claimed = excluded.claimed"
            " WHERE NOT bus_inbox.done AND bus_inbox.claimed < excluded.claimed - %s"
            " RETURNING 1",
            (consumer, event["id"], owner, json.dumps(event), timeout),
        )
        return bool(rows)

    def complete(self, marks: list[tuple[str, str]]) -> None:
        with self._db.use() as conn, conn.transaction(), conn.cursor() as cursor:
            cursor.executemany(
                "UPDATE bus_inbox SET done = TRUE, body = NULL"
                " WHERE consumer = %s AND event_id = %s",
                marks,
            )

    def expired(
        self, timeout: float, limit: int = 100, consumers: list[str] | None = None
    ) -> list[tuple[str, str, Any]]:
        rows = self._db.run(
            f"SELECT consumer, event_id, body FROM bus_inbox WHERE NOT done"
            f" AND claimed < {NOW} - %s AND (%s::text[] IS NULL OR consumer = ANY(%s))"
            " ORDER BY claimed LIMIT %s",
            (timeout, consumers, consumers, limit),
        )
        return [(str(c), str(e), json.loads(body)) for c, e, body in rows]

    def first_time(self, consumer: str, event_id: str) -> bool:
        rows = self._db.run(
            f"INSERT INTO bus_inbox (consumer, event_id, received) VALUES (%s, %s, {NOW})"
            " ON CONFLICT DO NOTHING RETURNING 1",
            (consumer, event_id),
        )
        return bool(rows)

    def forget(self, consumer: str, event_id: str) -> None:
        self._db.run(
            "DELETE FROM bus_inbox WHERE consumer = %s AND event_id = %s", (consumer, event_id)
        )

    def close(self) -> None:
        self._db.close()


class PostgresDeadLetterQueue:
    def __init__(self, url: str, db: _Connection | None = None) -> None:
        self.url = url
        self._db = db or _Connection(url)

    def put(self, queue: str, body: Any, failure: dict[str, str], message_id: str) -> bool:
        rows = self._db.run(
            "INSERT INTO bus_dead_letters (queue, message_id, body, error, cause, created)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
            (queue, message_id, json.dumps(body), failure.get("error", ""),
             failure.get("cause", ""), time.time()),
        )  # fmt: skip
        return bool(rows)

    def list(self, queue: str | None = None, *, include_redriven: bool = False) -> list[DeadLetter]:
        rows = self._db.run(
            f"SELECT {_LETTER} FROM bus_dead_letters WHERE (%s::text IS NULL OR queue = %s)"
            " AND (%s OR redriven IS NULL) ORDER BY id",
            (queue, queue, include_redriven),
        )
        return [_letter(row) for row in rows]

    def get(self, letter_id: int) -> DeadLetter | None:
        rows = self._db.run(f"SELECT {_LETTER} FROM bus_dead_letters WHERE id = %s", (letter_id,))
        return _letter(rows[0]) if rows else None

    def depth(self) -> dict[str, int]:
        rows = self._db.run(
            "SELECT queue, count(*) FROM bus_dead_letters WHERE redriven IS NULL GROUP BY queue"
        )
        return {queue: int(n) for queue, n in rows}

    def redrive(self, letter_id: int, body: Any = None) -> DeadLetter:
        """Mark the message redriven and announce it: a ``DeadLetterRedriven`` event in the
        journal's outbox (this database's), in one transaction, which the members' journal
        relay hands to the bus as it does a step's events."""
        with self._db.use() as conn, conn.transaction():
            rows = conn.execute(
                f"SELECT {_LETTER} FROM bus_dead_letters WHERE id = %s FOR UPDATE", (letter_id,)
            ).fetchall()
            if not rows:
                raise KeyError(letter_id)
            letter = _letter(rows[0])
            if letter.redriven is not None:
                raise ValueError(f"dead letter {letter_id} was already redriven")
            count = letter.redrive_count + 1
            message = letter.body if body is None else body
            conn.execute(
                "UPDATE bus_dead_letters SET redriven = %s, redrive_count = %s, body = %s"
                " WHERE id = %s",
                (time.time(), count, json.dumps(message), letter_id),
            )
            detail = {"queue": letter.queue, "messageId": letter.message_id,
                      "redriveCount": count, "message": message}  # fmt: skip
            event = make_event(REDRIVE_SOURCE, REDRIVE_TYPE, detail,
                               event_id=f"{letter.message_id}-redrive-{count}")  # fmt: skip
            conn.execute("INSERT INTO outbox (topic, body) VALUES (%s, %s)",
                         (DEFAULT_BUS, json.dumps(stamp_event(event)).encode()))  # fmt: skip
        return letter

    def close(self) -> None:
        self._db.close()


class PostgresLedger:
    """The bus's ledger (:mod:`sagaway.messaging.ledger`) in the cluster's database: one
    account per bus, whichever member received or delivered the events."""

    def __init__(self, url: str, db: _Connection | None = None) -> None:
        self.url = url
        self._db = db or _Connection(url)

    def received(self, bus: str, events: Sequence[L.Received], *, replay: bool = False) -> None:
        now = time.time()
        with self._db.use() as conn, conn.transaction(), conn.cursor() as cursor:
            if not replay:
                cursor.executemany(L.RECORD_EVENT.format(p="%s"), L.event_rows(bus, events, now))
            cursor.executemany(L.RECORD_ROUTE.format(p="%s"), L.route_rows(bus, events, now))

    def settled(self, bus: str, outcomes: Sequence[L.Outcome]) -> None:
        with self._db.use() as conn, conn.transaction(), conn.cursor() as cursor:
            rows = L.settle_rows(bus, outcomes, time.time())
            cursor.executemany(L.SETTLE.format(p="%s"), rows)

    def accounting(self, bus: str) -> L.BusAccounting:
        rows = self._db.run(L.COUNTS.format(p="%s"), (bus,))
        return L.summarize(bus, [(str(c), str(o), int(n)) for c, o, n in rows])

    def buses(self) -> list[str]:
        return [str(bus) for (bus,) in self._db.run(L.BUSES)]

    def close(self) -> None:
        self._db.close()


def _letter(row: tuple[Any, ...]) -> DeadLetter:
    values = list(row)
    values[3] = json.loads(values[3])
    values[0], values[8] = int(values[0]), int(values[8])
    return DeadLetter(*values)
