"""Writing a batch of steps' rows to SQLite, and the writer process that does it.

Only the standard library is imported here: the writer process runs this file as a script
(``python -I sqlite_writer.py PATH DURABLE PARENT_PID``) and so starts in a few
milliseconds, without importing the engine. The in-process writer imports the same
functions, so both write a batch exactly the same way.

The process exists for the GIL: SQLite releases it on every statement, and a writer thread
beside a busy event loop spends most of a commit winning it back. In its own process the
writer has its own GIL (and core); the engine only sends it plain rows over a pipe.

Protocol on stdin/stdout: frames of a 4-byte big-endian length and a pickle. The first
frame is the SQL (:class:`Statements`); each later one a batch (a list of :data:`StepRows`),
answered by ``("ok", flags)`` or ``("error", message)``. EOF on stdin ends the process.
"""

from __future__ import annotations

import os
import pickle
import signal
import sqlite3
import struct
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Any, NamedTuple

Row = tuple[Any, ...]


class StepRows(NamedTuple):
    """One step as rows: the execution to insert (first step only), the guarded update, the
    history row (None without events), the outbox rows and the payload rows its history
    refers to."""

    create: Row | None
    update: Row
    history: Row | None
    outbox: list[tuple[str, bytes]]
    payloads: tuple[Row, ...] | list[Row] = ()


class Statements(NamedTuple):
    insert_execution: str
    update_execution: str
    insert_history: str
    insert_outbox: str
    insert_payload: str


class WriteFailed(Exception):
    """The transaction failed (locked, full, corrupt...); the message names the file."""


class _Conflict(Exception):
    """A version check failed inside a batch: redo the batch one step at a time."""


def connect(path: str, durable: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: every commit is fsynced; NORMAL would lose the last commits on power loss.
    conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'OFF'}")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute("PRAGMA foreign_keys=OFF")
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection, path: str) -> Iterator[sqlite3.Connection]:
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise WriteFailed(f"database {path} is locked or unwritable: {exc}") from exc
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException as exc:
        # SQLite has already rolled back after some errors (SQLITE_FULL, IOERR):
        # a second ROLLBACK would raise and hide the real error.
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError):
            raise WriteFailed(f"write to {path} failed: {exc}") from exc
        raise


def commit(
    conn: sqlite3.Connection,
    path: str,
    sql: Statements,
    steps: Sequence[StepRows],
    check: Callable[[], None] = lambda: None,
) -> list[bool]:
    """All steps in one transaction (group commit): one fsync for the whole batch.

    The fast path writes each kind of row with one ``executemany`` for the whole batch;
    if any step's version check fails it is rolled back and the batch is written step
    by step, so exactly the conflicting steps are refused. ``check`` runs once the write
    lock is held and may refuse the batch by raising."""
    try:
        with transaction(conn, path):
            check()
            return _write_batch(conn, sql, steps)
    except _Conflict:
        with transaction(conn, path):
            return [_write_step(conn, sql, step) for step in steps]


def _write_batch(
    conn: sqlite3.Connection, sql: Statements, steps: Sequence[StepRows]
) -> list[bool]:
    flags = [True] * len(steps)
    for i, step in enumerate(steps):
        if step.create is not None:
            try:
                conn.execute(sql.insert_execution, step.create)
            except sqlite3.IntegrityError:
                flags[i] = False
    live = [step for step, ok in zip(steps, flags, strict=True) if ok]
    cursor = conn.executemany(sql.update_execution, [step.update for step in live])
    if cursor.rowcount != len(live):
        raise _Conflict
    conn.executemany(sql.insert_payload, [row for s in live for row in s.payloads])
    conn.executemany(sql.insert_history, [s.history for s in live if s.history is not None])
    conn.executemany(sql.insert_outbox, [row for s in live for row in s.outbox])
    return flags


def _write_step(conn: sqlite3.Connection, sql: Statements, step: StepRows) -> bool:
    if step.create is not None:
        try:
            conn.execute(sql.insert_execution, step.create)
        except sqlite3.IntegrityError:
            return False  # the name is taken (or the ARN exists): nothing of this step applies
    if conn.execute(sql.update_execution, step.update).rowcount != 1:
        return False  # another writer moved this execution on: the step is not applied
    if step.payloads:
        conn.executemany(sql.insert_payload, step.payloads)
    if step.history is not None:
        conn.execute(sql.insert_history, step.history)
    if step.outbox:
        conn.executemany(sql.insert_outbox, step.outbox)
    return True


# -- framing (both sides) ------------------------------------------------------------------
_LENGTH = struct.Struct(">I")


def send(stream: IO[bytes], value: Any) -> None:
    body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(body)) + body)
    stream.flush()


def receive(stream: IO[bytes]) -> Any:
    """The next frame's value; EOFError when the other side has gone."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError
    size: int = _LENGTH.unpack(head)[0]
    body = stream.read(size)
    if len(body) < size:
        raise EOFError
    return pickle.loads(body)


# -- the writer process --------------------------------------------------------------------
class _Orphaned(Exception):
    """The engine that started this process has died."""


def main(path: str, durable: bool, parent: int) -> None:
    # Ctrl-C or a service stop signals the whole process group: the engine shuts down and
    # still commits its last steps, so the writer follows its pipe, not those signals.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    try:
        conn: sqlite3.Connection | None = connect(path, durable)
        broken = ""
    except sqlite3.Error as exc:
        conn, broken = None, f"cannot open SQLite database {path}: {exc}"
    try:
        sql = Statements(*receive(inp))
        while True:
            batch = receive(inp)
            if conn is None:
                send(out, ("error", broken))
                continue
            send(out, _answer(conn, path, sql, [StepRows(*step) for step in batch], parent))
    except (EOFError, BrokenPipeError, _Orphaned):
        pass  # the engine closed the journal, or died
    finally:
        if conn is not None:
            conn.close()


def _answer(
    conn: sqlite3.Connection, path: str, sql: Statements, batch: list[StepRows], parent: int
) -> tuple[str, Any]:
    def parent_alive() -> None:
        # Checked holding the write lock. A dead parent's children are re-parented at once,
        # and an engine restarted after a kill -9 takes that lock before it reads anything
        # (SqliteJournal's barrier): so an orphaned writer never commits a batch of the dead
        # engine behind the back of the new one.
        if os.getppid() != parent:
            raise _Orphaned

    try:
        return "ok", commit(conn, path, sql, batch, parent_alive)
    except WriteFailed as exc:
        return "error", str(exc)
    except _Orphaned:
        raise
    except Exception as exc:
        return "error", f"journal write failed: {exc!r}"


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] == "1", int(sys.argv[3]))
