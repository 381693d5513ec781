"""The embedded default: the journal in one SQLite file (WAL mode, fsync on every commit).

Writes go through one connection, used by the group-commit writer (many executions' steps
per transaction); reads use a connection per thread, which WAL lets run beside the writer.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from sagaway.store import rows as R
from sagaway.store import sqlite_queries as Q
from sagaway.store.migrations import fresh_schema, migrations
from sagaway.store.ports import ExecutionRecord, StateMachineRecord, StepRecord, StoreError


def path_from_url(url: str) -> str:
    """``sqlite:///relative.db``, ``sqlite:////abs/path.db`` or a plain path."""
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///") :]
    if url.startswith("sqlite://"):
        return url[len("sqlite://") :]
    return url


class SqliteJournal:
    """:class:`sagaway.store.ports.Journal` on SQLite."""

    dialect = "sqlite"

    def __init__(self, url: str, *, durable: bool = True, migrate: bool = True) -> None:
        self.path = path_from_url(url)
        self.durable = durable
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._writer = self._connect()
        if migrate:
            self._migrate()

    # -- connections -----------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            # FULL: every commit is fsynced; NORMAL would lose the last commits on power loss.
            conn.execute(f"PRAGMA synchronous={'FULL' if self.durable else 'OFF'}")
            conn.execute("PRAGMA busy_timeout=5000")
            conn.execute("PRAGMA foreign_keys=OFF")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open SQLite database {self.path}: {exc}") from exc
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def _migrate(self) -> None:
        try:
            self.migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a usable Sagaway database: {exc}") from exc

    def migrate(self) -> list[int]:
        """Apply the migrations this file has not had, each in its own transaction."""
        conn = self._writer
        conn.execute(Q.MIGRATIONS_TABLE)
        done = self.applied_migrations()
        if not done and self._has_table("executions"):
            # A journal from before versioned migrations holds the initial schema already.
            conn.execute(Q.RECORD_MIGRATION, (1, "initial", time.time()))
            done = {1}
        if not done:
            return self._create_fresh()
        applied: list[int] = []
        for migration in migrations("sqlite"):
            if migration.version in done:
                continue
            with self._transaction() as tx:
                for statement in _statements(migration.sql):
                    tx.execute(statement)
                tx.execute(Q.RECORD_MIGRATION, (migration.version, migration.name, time.time()))
            applied.append(migration.version)
        return applied

    def _create_fresh(self) -> list[int]:
        """An empty database gets the current schema at once, marked fully migrated."""
        versions = [m for m in migrations("sqlite")]
        with self._transaction() as tx:
            for statement in _statements(fresh_schema("sqlite")):
                tx.execute(statement)
            for m in versions:
                tx.execute(Q.RECORD_MIGRATION, (m.version, m.name, time.time()))
        return [m.version for m in versions]

    def _has_table(self, name: str) -> bool:
        query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return self._writer.execute(query, (name,)).fetchone() is not None

    def applied_migrations(self) -> set[int]:
        return {row[0] for row in self._writer.execute(Q.APPLIED_MIGRATIONS)}

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock:
            conn = self._writer
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StoreError(f"database {self.path} is locked or unwritable: {exc}") from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                # SQLite has already rolled back after some errors (SQLITE_FULL, IOERR):
                # a second ROLLBACK would raise and hide the real error.
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError):
                    raise StoreError(f"write to {self.path} failed: {exc}") from exc
                raise

    def close(self) -> None:
        self._writer.close()
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()

    # -- state machines --------------------------------------------------------------------
    def put_state_machine(self, record: StateMachineRecord) -> None:
        with self._transaction() as conn:
            conn.execute(Q.PUT_STATE_MACHINE, R.machine_row(record))

    def get_state_machine(self, arn: str) -> StateMachineRecord | None:
        row = self._reader().execute(Q.GET_STATE_MACHINE, (arn,)).fetchone()
        return None if row is None else R.machine(row)

    def list_state_machines(self) -> list[StateMachineRecord]:
        return [R.machine(r) for r in self._reader().execute(Q.LIST_STATE_MACHINES)]

    def delete_state_machine(self, arn: str) -> None:
        with self._transaction() as conn:
            conn.execute(Q.DELETE_STATE_MACHINE, (arn,))

    # -- executions ------------------------------------------------------------------------
    def create_execution(self, record: ExecutionRecord, first: StepRecord) -> bool:
        first.create = record
        return self.commit([first])[0]

    def get_execution(self, arn: str) -> ExecutionRecord | None:
        row = self._reader().execute(Q.GET_EXECUTION, (arn,)).fetchone()
        return None if row is None else R.execution(row)

    def find_execution(self, state_machine_arn: str, name: str) -> ExecutionRecord | None:
        row = self._reader().execute(Q.FIND_EXECUTION, (state_machine_arn, name)).fetchone()
        return None if row is None else R.execution(row)

    def list_executions(
        self, state_machine_arn: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[ExecutionRecord]:
        rows = self._reader().execute(
            Q.LIST_EXECUTIONS, (state_machine_arn, state_machine_arn, status, status, limit)
        )
        return [R.execution(r) for r in rows]

    def open_executions(self) -> list[ExecutionRecord]:
        return [R.execution(r) for r in self._reader().execute(Q.OPEN_EXECUTIONS)]

    # -- steps -----------------------------------------------------------------------------
    def commit(self, steps: Sequence[StepRecord]) -> list[bool]:
        """All steps in one transaction (group commit): one fsync for the whole batch.

        The fast path writes each kind of row with one ``executemany`` for the whole batch;
        if any step's version check fails it is rolled back and the batch is written step
        by step, so exactly the conflicting steps are refused."""
        try:
            with self._transaction() as conn:
                return _write_batch(conn, steps)
        except _Conflict:
            with self._transaction() as conn:
                return [_write_step(conn, step) for step in steps]

    def history(self, arn: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for (blob,) in self._reader().execute(Q.HISTORY, (arn,)):
            events.extend(orjson.loads(blob))
        return events


class _Conflict(Exception):
    """A version check failed inside a batch: redo the batch one step at a time."""


def _write_batch(conn: sqlite3.Connection, steps: Sequence[StepRecord]) -> list[bool]:
    flags = [True] * len(steps)
    for i, step in enumerate(steps):
        if step.create is not None:
            try:
                conn.execute(Q.INSERT_EXECUTION, R.execution_row(step.create))
            except sqlite3.IntegrityError:
                flags[i] = False
    live = [step for step, ok in zip(steps, flags, strict=True) if ok]
    cursor = conn.executemany(Q.UPDATE_EXECUTION, [R.update_row(step) for step in live])
    if cursor.rowcount != len(live):
        raise _Conflict
    conn.executemany(
        Q.INSERT_HISTORY,
        [R.history_row(s) for s in live if s.events],
    )
    conn.executemany(Q.INSERT_OUTBOX, [row for s in live for row in s.outbox])
    return flags


def _write_step(conn: sqlite3.Connection, step: StepRecord) -> bool:
    if step.create is not None:
        try:
            conn.execute(Q.INSERT_EXECUTION, R.execution_row(step.create))
        except sqlite3.IntegrityError:
            return False  # the name is taken (or the ARN exists): nothing of this step applies
    cursor = conn.execute(Q.UPDATE_EXECUTION, R.update_row(step))
    if cursor.rowcount != 1:
        return False  # another writer moved this execution on: the step is not applied
    if step.events:
        conn.execute(Q.INSERT_HISTORY, R.history_row(step))
    if step.outbox:
        conn.executemany(Q.INSERT_OUTBOX, [(topic, body) for topic, body in step.outbox])
    return True


def _statements(script: str) -> list[str]:
    # executescript() would COMMIT on its own; statements run one by one stay in our
    # transaction. Migration files hold no semicolons inside statements.
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]
