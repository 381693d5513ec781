"""The embedded default: the journal in one SQLite file (WAL mode, fsync on every commit).

Steps are written by a separate writer process (:mod:`sagaway.store.sqlite_process`, many
executions' steps per transaction, its own GIL) or, for an in-memory database or with
``writer_process=False``, by this process's writer connection, which also writes the rest
(migrations, state machines). Reads use a connection per thread, which WAL lets run beside
the writer.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from sagaway.store import console_queries as CQ
from sagaway.store import payloads as P
from sagaway.store import rows as R
from sagaway.store import sqlite_process
from sagaway.store import sqlite_queries as Q
from sagaway.store import sqlite_writer as W
from sagaway.store.migrations import fresh_schema, migrations
from sagaway.store.payload_move import move_journal
from sagaway.store.ports import (
    AuditEntry,
    ClusterOperations,
    ExecutionQuery,
    ExecutionRecord,
    ExecutionSummary,
    ListCursor,
    StateMachineRecord,
    StepRecord,
    StoreError,
)
from sagaway.store.resumptions import count_resumptions

# Below this much free space beside the journal, the store reports itself unusable (a step
# with a 256 KiB payload, its history and the WAL need several times that).
MIN_FREE_BYTES = 2 * 1024 * 1024


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

    def __init__(
        self,
        url: str,
        *,
        durable: bool = True,
        migrate: bool = True,
        writer_process: bool | None = None,
    ) -> None:
        """``writer_process``: commit steps through a writer process (default: yes for a
        file, unless ``SAGAWAY_SQLITE_WRITER_PROCESS=0``; never for ``:memory:``)."""
        self.path = path_from_url(url)
        self.durable = durable
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        # Every thread that reads gets its own connection; all of them are closed on close().
        self._readers: list[Any] = []
        self._readers_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._writer = self._connect()
        if migrate:
            self._migrate()
        self._written = R.WrittenPayloads()
        self._use_process = sqlite_process.wanted(self.path, writer_process)
        self._process: sqlite_process.WriterProcess | None = None
        if self._use_process:
            self._wait_for_other_writers()

    # -- connections -----------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            return W.connect(self.path, self.durable)  # the settings the writer process uses
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open SQLite database {self.path}: {exc}") from exc

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
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
                if migration.name == "payloads":
                    move_journal(tx, "?")
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
            try:
                with W.transaction(self._writer, self.path) as conn:
                    yield conn
            except W.WriteFailed as exc:
                raise StoreError(str(exc)) from exc

    def _wait_for_other_writers(self) -> None:
        """A writer process left by an engine killed a moment ago may still be in its last
        transaction: wait for it (it refuses to commit once its engine is gone), so that
        recovery reads everything that was committed."""
        try:
            with self._transaction():
                pass
        except StoreError:
            pass  # read-only or locked for long: reads work, and commits will say so

    def _writer_process(self) -> sqlite_process.WriterProcess:
        """Started on the first commit: a journal that only reads starts none."""
        if self._process is None:
            process = sqlite_process.WriterProcess(self.path, self.durable)
            # A journal dropped without close() still ends its child (no zombie, no
            # ResourceWarning); the finalizer holds the process, not the journal.
            weakref.finalize(self, process.close)
            self._process = process
        return self._process

    def writer_cpu_seconds(self) -> float:
        """CPU used so far by the writer process (0 without one): ``sagaway bench``."""
        return 0.0 if self._process is None else self._process.cpu_seconds()

    def close(self) -> None:
        if self._process is not None:
            self._process.close()
        self._writer.close()
        with self._readers_lock:
            readers, self._readers = self._readers, []
        for conn in readers:
            conn.close()

    # -- state machines --------------------------------------------------------------------
    def put_state_machine(self, record: StateMachineRecord) -> None:
        with self._transaction() as conn:
            conn.execute(Q.PUT_STATE_MACHINE, R.machine_row(record))

    def resumed_invocations(self, invocations: Sequence[tuple[str, str]]) -> list[int]:
        with self._transaction() as conn:
            return count_resumptions(conn, Q.GET_RESUMED, Q.PUT_RESUMED, invocations)

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

    # -- console reads and the audit log ---------------------------------------------------
    def execution_summaries(self, query: ExecutionQuery) -> list[ExecutionSummary]:
        sql, params = CQ.summaries(query, "?")
        return [CQ.summary(r) for r in self._reader().execute(sql, params)]

    def _rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        return self._reader().execute(sql, params).fetchall()

    def execution_counts(self, query: ExecutionQuery, cap: int = 10_000) -> dict[str, int]:
        return CQ.counts_per_status(self._rows, query, cap, "?")

    def record_audit(self, entry: AuditEntry) -> None:
        with self._transaction() as conn:
            conn.execute(CQ.insert_audit("?"), CQ.audit_row(entry))

    def audit_entries(self, limit: int = 100, before: int | None = None) -> list[AuditEntry]:
        return CQ.audit_entries(self._rows, limit, before, "?")

    def list_execution_page(
        self,
        state_machine_arn: str,
        status: str | None,
        limit: int,
        after: ListCursor | None = None,
    ) -> list[ExecutionSummary]:
        date, arn = after if after is not None else (None, None)
        params = (state_machine_arn, status, status, date, date, date, arn, limit)
        return [ExecutionSummary(*r) for r in self._reader().execute(Q.LIST_EXECUTION_PAGE, params)]

    def cluster(self) -> ClusterOperations | None:
        """None: a SQLite file has one owner. Its steps are written without an owner guard
        and recovery resumes every open execution, so one engine process runs a file;
        several machines (or several engine processes) share a PostgreSQL database."""
        return None

    def open_executions(self) -> list[ExecutionRecord]:
        return [R.execution(r) for r in self._reader().execute(Q.OPEN_EXECUTIONS)]

    # -- steps -----------------------------------------------------------------------------
    def commit(self, steps: Sequence[StepRecord]) -> list[bool]:
        """All steps in one transaction (group commit): one fsync for the whole batch; per
        step, False on a version conflict (see :func:`sqlite_writer.commit`)."""
        rows = [self._written.unwritten(R.step_rows(step)) for step in steps]
        if self._use_process:
            with self._write_lock:  # one batch at a time through the pipe; starts the child
                process = self._writer_process()
            flags = process.commit(rows)
        else:
            with self._write_lock:
                try:
                    flags = W.commit(self._writer, self.path, _STATEMENTS, rows)
                except W.WriteFailed as exc:
                    raise StoreError(str(exc)) from exc
        self._written.note(rows, flags)
        return flags

    def history(self, arn: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for (blob,) in self._reader().execute(Q.HISTORY, (arn,)):
            events.extend(orjson.loads(blob))
        return P.resolve(events, lambda refs: self._payloads(arn, refs))

    def payload_texts(self, arn: str, digests: set[str]) -> dict[str, str]:
        return P.load_texts(digests, lambda refs: self._payloads(arn, refs))

    def _payloads(self, arn: str, refs: set[str]) -> list[tuple[str, bytes]]:
        marks = ", ".join("?" * len(refs))
        return self._reader().execute(Q.PAYLOADS.format(marks), (arn, *refs)).fetchall()

    def history_page(
        self, arn: str, limit: int, after: int | None = None, reverse: bool = False
    ) -> list[dict[str, Any]]:
        bound = R.history_bound(after, reverse)
        if reverse:
            rows = self._reader().execute(Q.HISTORY_BACKWARD, (arn, bound, limit))
        else:
            rows = self._reader().execute(Q.HISTORY_FORWARD, (arn, arn, bound + 1, limit + 1))
        page = R.page_events((blob for (blob,) in rows), limit, bound, reverse)
        return P.resolve(page, lambda refs: self._payloads(arn, refs))

    def ping(self) -> None:
        try:
            self._reader().execute(Q.PING).fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite database {self.path} cannot be read: {exc}") from exc
        if self.path != ":memory:":
            # An empty transaction still succeeds on a full disk: ask the file system.
            stat = os.statvfs(Path(self.path).parent)
            free = stat.f_bavail * stat.f_frsize
            if free < MIN_FREE_BYTES:
                raise StoreError(f"disk full: {free} bytes free beside {self.path}")

    # -- outbox ----------------------------------------------------------------------------
    def pending_outbox(self, limit: int = 200) -> list[tuple[int, str, bytes]]:
        rows = self._reader().execute(Q.PENDING_OUTBOX, (limit,))
        return [(int(i), str(topic), bytes(body)) for i, topic, body in rows]

    def leads_relay(self) -> bool:
        return True  # one process writes a SQLite journal

    def remove_outbox(self, ids: Sequence[int]) -> None:
        with self._transaction() as conn:
            conn.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])


_STATEMENTS = W.Statements(
    Q.INSERT_EXECUTION, Q.UPDATE_EXECUTION, Q.INSERT_HISTORY, Q.INSERT_OUTBOX, Q.INSERT_PAYLOAD
)


def _statements(script: str) -> list[str]:
    # executescript() would COMMIT on its own; statements run one by one stay in our
    # transaction. Migration files hold no semicolons inside statements.
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]
