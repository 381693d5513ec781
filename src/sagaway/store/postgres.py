"""The scale-out store: the journal in PostgreSQL (psycopg 3).

Same contract as the SQLite journal (``tests/store`` runs one suite on both). Writes of a
group commit go through one connection in one transaction, sent in pipeline mode; reads
use a connection per thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
import psycopg

from sagaway.store import payloads as P
from sagaway.store import postgres_queries as Q
from sagaway.store import rows as R
from sagaway.store.migrations import fresh_schema, migrations
from sagaway.store.payload_move import move_journal
from sagaway.store.ports import ExecutionRecord, StateMachineRecord, StepRecord, StoreError


class PostgresJournal:
    """:class:`sagaway.store.ports.Journal` on PostgreSQL."""

    dialect = "postgresql"

    def __init__(
        self,
        url: str,
        *,
        migrate: bool = True,
        owner: str | None = None,
        lease_seconds: float = 5.0,
    ) -> None:
        self.url = url
        # The worker identity that owns the executions this process runs (None: a client
        # that only starts executions for workers to claim).
        self.owner = owner
        self.lease_seconds = lease_seconds
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._writer = self._connect(autocommit=False)
        if migrate:
            apply_migrations(self._writer)

    def _connect(self, *, autocommit: bool) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(self.url, autocommit=autocommit)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL at {_redact(self.url)}: {exc}") from exc

    def _reader(self) -> psycopg.Connection[Any]:
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = self._connect(autocommit=True)
            self._local.conn = conn
        return conn

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[Any]]:
        with self._write_lock:
            conn = self._writer
            try:
                with conn.transaction():
                    yield conn
            except psycopg.OperationalError as exc:
                raise StoreError(f"write to PostgreSQL failed: {exc}") from exc

    def close(self) -> None:
        self._writer.close()
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()

    # -- state machines --------------------------------------------------------------------
    def put_state_machine(self, record: StateMachineRecord) -> None:
        with self._transaction() as conn:
            conn.execute(Q.PUT_STATE_MACHINE, R.machine_row(record))

    def resumed_invocations(self, invocations: Sequence[tuple[str, str]]) -> list[int]:
        counts: list[int] = []
        with self._transaction() as conn:
            for execution_arn, key in invocations:
                row = conn.execute(Q.GET_RESUMED, (key,)).fetchone()
                count = 0 if row is None else int(orjson.loads(bytes(row[0]))["resumed"])
                body = orjson.dumps({"resumed": count + 1})
                conn.execute(Q.PUT_RESUMED, (key, execution_arn, time.time(), body))
                counts.append(count)
        return counts

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
        params = (state_machine_arn, state_machine_arn, status, status, limit)
        return [R.execution(r) for r in self._reader().execute(Q.LIST_EXECUTIONS, params)]

    def open_executions(self) -> list[ExecutionRecord]:
        return [R.execution(r) for r in self._reader().execute(Q.OPEN_EXECUTIONS)]

    def history(self, arn: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for (blob,) in self._reader().execute(Q.HISTORY, (arn,)):
            events.extend(orjson.loads(blob))
        return P.resolve(events, lambda refs: self._payloads(arn, refs))

    def _payloads(self, arn: str, refs: set[str]) -> list[tuple[str, bytes]]:
        return self._reader().execute(Q.PAYLOADS, (arn, list(refs))).fetchall()

    # -- steps -----------------------------------------------------------------------------
    def commit(self, steps: Sequence[StepRecord]) -> list[bool]:
        """All steps in one transaction, sent in pipeline mode (one round trip for the
        guarded statements). A step whose version check fails is refused alone: its UPDATE
        changes nothing, and its history and outbox rows are not written.

        Set-based: one INSERT for the new executions, one UPDATE and one history INSERT for
        all steps (more only when a batch holds several steps of one execution)."""
        with self._transaction() as conn:
            creating = [i for i, step in enumerate(steps) if step.create is not None]
            create_rounds = [
                [creating[j] for j in r] for r in _rounds([steps[i] for i in creating])
            ]
            update_rounds = _rounds(steps)
            with conn.pipeline():
                creates = [self._create_round(conn, [steps[i] for i in r]) for r in create_rounds]
                updates = [self._update_round(conn, [steps[i] for i in r]) for r in update_rounds]
            created = _returned(steps, create_rounds, creates, default=True)
            applied = _returned(steps, update_rounds, updates, default=False)
            flags = [c and a for c, a in zip(created, applied, strict=True)]
            self._append(conn, [s for s, ok in zip(steps, flags, strict=True) if ok])
            return flags

    def _append(self, conn: psycopg.Connection[Any], live: list[StepRecord]) -> None:
        """The history and outbox rows of the steps that were applied."""
        with conn.cursor() as cursor:
            rows = [R.history_rows(s) for s in live if s.events]
            payloads = [p for _, ps in rows for p in ps]
            if payloads:
                cursor.executemany(Q.INSERT_PAYLOAD, payloads)
            histories = [history for history, _ in rows]
            if histories:
                cursor.execute(Q.INSERT_HISTORIES, [list(c) for c in zip(*histories, strict=True)])
            outbox = [row for s in live for row in s.outbox]
            if outbox:
                cursor.executemany(Q.INSERT_OUTBOX, outbox)
            if any(s.create is not None for s in live) and self.owner is None:
                cursor.execute(Q.NOTIFY_WORK)  # unowned work: wake the workers

    def _create_round(
        self, conn: psycopg.Connection[Any], steps: list[StepRecord]
    ) -> psycopg.Cursor[Any]:
        # ON CONFLICT DO NOTHING: a taken name is simply not RETURNed, the batch goes on.
        rows = (R.execution_row(s.create) for s in steps if s.create is not None)
        columns = [list(column) for column in zip(*rows, strict=True)]
        params = (self.owner, self.owner, self.lease_seconds, *columns)
        return conn.execute(Q.INSERT_EXECUTIONS, params)

    def _update_round(
        self, conn: psycopg.Connection[Any], steps: list[StepRecord]
    ) -> psycopg.Cursor[Any]:
        columns = [list(column) for column in zip(*(R.update_row(s) for s in steps), strict=True)]
        return conn.execute(Q.UPDATE_EXECUTIONS, (*columns, self.owner))

    # -- leases (several workers on one database) ------------------------------------------
    def claim(self, limit: int = 500) -> list[ExecutionRecord]:
        """Take over RUNNING executions nobody owns or whose owner's lease expired."""
        params = {"owner": self.owner, "lease": self.lease_seconds, "limit": limit}
        with self._transaction() as conn:
            return [R.execution(r) for r in conn.execute(Q.CLAIM, params)]

    def renew(self) -> None:
        """Extend the lease on every execution this worker owns (one statement, not per
        execution: ownership is sticky, the hot path never touches it)."""
        with self._transaction() as conn:
            conn.execute(Q.RENEW, {"owner": self.owner, "lease": self.lease_seconds})

    def owned(self) -> set[str]:
        rows = self._reader().execute(Q.OWNED, {"owner": self.owner})
        return {arn for (arn,) in rows}

    def release(self) -> None:
        """Give up every execution this worker owns and wake the others to take them."""
        with self._transaction() as conn:
            conn.execute(Q.RELEASE, {"owner": self.owner})
            conn.execute(Q.NOTIFY_WORK)

    def listen(self, on_notify: Callable[[str], None], stop: threading.Event) -> None:
        """Block (in a thread) calling ``on_notify(channel)`` for every NOTIFY on the work
        and delivery channels."""
        conn = self._connect(autocommit=True)
        try:
            conn.execute(Q.LISTEN_WORK)
            conn.execute(Q.LISTEN_DELIVERY)
            while not stop.is_set():
                for notify in conn.notifies(timeout=1.0):
                    on_notify(notify.channel)
        finally:
            conn.close()

    # -- deliveries (answers for executions another process runs) --------------------------
    def deliver(self, arn: str, kind: str, token: str | None, payload: bytes) -> bool:
        """Record an answer for ``arn``'s owner and wake the cluster; False when the attempt
        already has an answer waiting (the NOTIFY goes out when the row is committed)."""
        with self._transaction() as conn:
            row = conn.execute(Q.INSERT_DELIVERY, (arn, kind, token, payload)).fetchone()
            if row is not None:
                conn.execute(Q.NOTIFY_DELIVERY, (arn,))
        return row is not None

    def pending_deliveries(self) -> list[tuple[int, str, str, str | None, bytes]]:
        """(id, execution, kind, token, payload) for this worker's running executions."""
        rows = self._reader().execute(Q.PENDING_DELIVERIES, {"owner": self.owner})
        return [(i, arn, kind, token, bytes(payload)) for i, arn, kind, token, payload in rows]

    def settle_deliveries(self, applied: dict[int, int]) -> set[int]:
        """Delete the applied deliveries (id -> actor version when applied) whose effect is
        journaled, and those of ended executions; the ids deleted of ``applied``."""
        with self._transaction() as conn:
            conn.execute(Q.DROP_ENDED_DELIVERIES)
            if not applied:
                return set()
            params = (list(applied), list(applied.values()), self.owner)
            return {i for (i,) in conn.execute(Q.SETTLE_DELIVERIES, params)}


def _rounds(steps: Sequence[StepRecord]) -> list[list[int]]:
    """Step indexes grouped so that no execution appears twice in a group: the n-th step of
    each execution goes in the n-th group, so applying the groups in order applies every
    execution's steps in order (one set-based UPDATE per group, usually just one)."""
    rounds: list[list[int]] = []
    seen: dict[str, int] = {}
    for index, step in enumerate(steps):
        depth = seen.get(step.execution_arn, 0)
        seen[step.execution_arn] = depth + 1
        if depth == len(rounds):
            rounds.append([])
        rounds[depth].append(index)
    return rounds


def _returned(
    steps: Sequence[StepRecord],
    rounds: list[list[int]],
    cursors: list[psycopg.Cursor[Any]],
    *,
    default: bool,
) -> list[bool]:
    """Per step: did its round's statement RETURN its execution (``default`` for steps in
    no round)?"""
    flags = [default] * len(steps)
    for indexes, cursor in zip(rounds, cursors, strict=True):
        done = {arn for (arn,) in cursor.fetchall()}
        for i in indexes:
            flags[i] = steps[i].execution_arn in done
    return flags


def apply_migrations(conn: psycopg.Connection[Any]) -> list[int]:
    """Apply the migrations not yet applied, in order, each in its own transaction; returns
    the versions applied. Concurrent callers wait on an advisory lock."""
    applied_now: list[int] = []
    with conn.transaction():
        conn.execute(Q.MIGRATION_LOCK)
        conn.execute(Q.MIGRATIONS_TABLE)
        done = {row[0] for row in conn.execute(Q.APPLIED_MIGRATIONS)}
        if not done:  # an empty database gets the current schema at once
            conn.execute(fresh_schema("postgresql").encode())
            for migration in migrations("postgresql"):
                conn.execute(Q.RECORD_MIGRATION, (migration.version, migration.name))
                applied_now.append(migration.version)
            return applied_now
        for migration in migrations("postgresql"):
            if migration.version in done:
                continue
            conn.execute(migration.sql.encode())
            if migration.name == "payloads":
                move_journal(conn, "%s")
            conn.execute(Q.RECORD_MIGRATION, (migration.version, migration.name))
            applied_now.append(migration.version)
    return applied_now


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}@{host}"
