"""Dead-letter queues in SQLite: one table, one queue name per step (``<step>-dlq``).

A message can be put inside the caller's own transaction (:meth:`DeadLetterQueue.put_in`), so
a service parks its record and its dead letter atomically. Redriving a message marks it and
writes a ``DeadLetterRedriven`` event to the same database's outbox in one transaction;
whatever rule listens for it (the shop's: resume the saga at the parked step) takes it from
there, so a redrive works the same whether the system is running or is started later.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sagaway.messaging.events import make_event
from sagaway.messaging.outbox import ensure_outbox, write_event
from sagaway.messaging.sqlite import connect, transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    error TEXT NOT NULL,
    cause TEXT NOT NULL,
    created REAL NOT NULL,
    redriven REAL,
    redrive_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS dead_letters_by_queue ON dead_letters (queue, redriven);
"""

_COLUMNS = "id, queue, message_id, body, error, cause, created, redriven, redrive_count"
REDRIVE_SOURCE = "sagaway.dlq"
REDRIVE_TYPE = "DeadLetterRedriven"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    queue: str
    message_id: str
    body: Any
    error: str
    cause: str
    created: float
    redriven: float | None
    redrive_count: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "queue": self.queue, "messageId": self.message_id,
            "error": self.error, "cause": self.cause, "created": self.created,
            "redriven": self.redriven, "redriveCount": self.redrive_count, "body": self.body,
        }  # fmt: skip


def ensure_dlq(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)
    ensure_outbox(conn)


class DeadLetterQueue:
    def __init__(self, url: str) -> None:
        self.url = url
        self._conn = connect(url)
        self._lock = threading.Lock()
        ensure_dlq(self._conn)

    @staticmethod
    def put_in(
        conn: sqlite3.Connection, queue: str, message_id: str, body: Any, error: str, cause: str
    ) -> bool:
        """Add a message inside the caller's transaction; False if that id is already parked."""
        cursor = conn.execute(
            "INSERT OR IGNORE INTO dead_letters (queue, message_id, body, error, cause, created)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (queue, message_id, json.dumps(body), error, cause, time.time()),
        )
        return cursor.rowcount == 1

    def put(self, queue: str, body: Any, failure: dict[str, str], message_id: str) -> bool:
        with self._lock, transaction(self._conn) as conn:
            return self.put_in(
                conn, queue, message_id, body, failure.get("error", ""), failure.get("cause", "")
            )

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
        """Mark the message redriven and announce it on the outbox (optionally with an edited
        body: an operator may fix the input before resuming)."""
        with self._lock, transaction(self._conn) as conn:
            letter = read_letter(conn, letter_id)
            return redrive_letter(conn, letter_id, letter, body, write_event)

    def close(self) -> None:
        self._conn.close()


def redrive_letter(
    conn: Any,
    letter_id: int,
    letter: DeadLetter | None,
    body: Any,
    write: Callable[[Any, dict[str, Any]], None],
) -> DeadLetter:
    """Inside the caller's transaction on ``conn`` (a connection taking ``?`` placeholders,
    holding the ``dead_letters`` table and an outbox that ``write`` adds to): mark ``letter``
    redriven and announce it with a ``DeadLetterRedriven`` event. KeyError when there is no
    such letter, ValueError when it was redriven already."""
    if letter is None:
        raise KeyError(letter_id)
    if letter.redriven is not None:
        raise ValueError(f"dead letter {letter_id} was already redriven")
    count = letter.redrive_count + 1
    message = letter.body if body is None else body
    conn.execute(
        "UPDATE dead_letters SET redriven = ?, redrive_count = ?, body = ? WHERE id = ?",
        (time.time(), count, json.dumps(message), letter_id),
    )
    detail = {"queue": letter.queue, "messageId": letter.message_id,
              "redriveCount": count, "message": message}  # fmt: skip
    event_id = f"{letter.message_id}-redrive-{count}"
    write(conn, make_event(REDRIVE_SOURCE, REDRIVE_TYPE, detail, event_id=event_id))
    return letter


# The readers below take any connection whose ``execute`` takes ``?`` placeholders and
# returns a cursor: sqlite3's, and the shop's SQL adapter (which runs them on PostgreSQL).


def read_letters(
    conn: Any, queue: str | None = None, *, include_redriven: bool = False
) -> list[DeadLetter]:
    """The letters of ``queue`` (all queues when None), oldest first; redriven ones only
    with ``include_redriven``."""
    # Built, not ``? IS NULL OR …``: PostgreSQL cannot type a parameter compared with NULL.
    sql = f"SELECT {_COLUMNS} FROM dead_letters WHERE 1 = 1"
    args: tuple[str, ...] = ()
    if queue is not None:
        sql, args = sql + " AND queue = ?", (queue,)
    if not include_redriven:
        sql += " AND redriven IS NULL"
    return [_letter(row) for row in conn.execute(sql + " ORDER BY id", args).fetchall()]


def read_letter(conn: Any, letter_id: int, *, for_update: bool = False) -> DeadLetter | None:
    """One letter; ``for_update`` locks its row (PostgreSQL, inside a transaction)."""
    lock = " FOR UPDATE" if for_update else ""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM dead_letters WHERE id = ?{lock}", (letter_id,)
    ).fetchone()
    return None if row is None else _letter(row)


def read_depths(conn: Any) -> dict[str, int]:
    """Letters not yet redriven, per queue."""
    rows = conn.execute(
        "SELECT queue, count(*) FROM dead_letters WHERE redriven IS NULL GROUP BY queue"
    ).fetchall()
    return {queue: int(n) for queue, n in rows}


def _letter(row: Any) -> DeadLetter:
    values = list(row)
    values[3] = json.loads(values[3])
    values[0], values[8] = int(values[0]), int(values[8])
    return DeadLetter(*values)
