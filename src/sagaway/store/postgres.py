"""The scale-out store: the journal in PostgreSQL (psycopg 3).

Same contract as the SQLite journal (``tests/store`` runs one suite on both). Writes of a
group commit go through one connection in one transaction, sent in pipeline mode; reads
use a connection per thread.

The database may restart or fail over under a running member. A connection that broke is
replaced on its next use (the writer, each reader, the listener), and every failure of the
database surfaces as :class:`StoreError`, which callers retry with backoff; nothing here
keeps a dead connection.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
import psycopg

from sagaway.store import console_queries as CQ
from sagaway.store import payloads as P
from sagaway.store import postgres_queries as Q
from sagaway.store import rows as R
from sagaway.store.migrations import fresh_schema, migrations
from sagaway.store.payload_move import move_journal
from sagaway.store.ports import (
    DELIVERY_CHANNEL,
    WORK_CHANNEL,
    AuditEntry,
    ClusterOperations,
    Delivery,
    ExecutionQuery,
    ExecutionRecord,
    ExecutionSummary,
    ListCursor,
    StateMachineRecord,
    StepRecord,
    StoreError,
)
from sagaway.store.resumptions import count_resumptions
from sagaway.store.retry import Backoff

log = logging.getLogger("sagaway.store")

# Seconds to wait for a connection: a member must notice an unreachable database quickly.
CONNECT_TIMEOUT = 3
# Seconds without a write after which the writer connection is checked before it is used.
IDLE_CHECK = 1.0
# The errors of a lost or unusable connection (a closed one raises InterfaceError).
LOST = (psycopg.OperationalError, psycopg.InterfaceError)


class PostgresJournal:
    """:class:`sagaway.store.ports.Journal` on PostgreSQL, with the
    :class:`~sagaway.store.ports.ClusterOperations` of a shared database."""

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
        # Every thread that reads gets its own connection; all of them are closed on close().
        self._readers: list[Any] = []
        self._readers_lock = threading.Lock()
        self._write_lock = threading.Lock()
        # Once closed, no connection is opened again: a read or write a thread still makes
        # then (an engine's last commit, a lease renewal) would leave it open for good.
        self._closed = False
        self._writer = self._connect(autocommit=False)
        self._written = time.monotonic()
        self._relay_conn: psycopg.Connection[Any] | None = None
        if migrate:
            apply_migrations(self._writer)

    def _connect(self, *, autocommit: bool) -> psycopg.Connection[Any]:
        self._refuse_if_closed()
        try:
            conn = psycopg.connect(self.url, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL at {_redact(self.url)}: {exc}") from exc
        if self._closed:  # closed while this one was being opened
            conn.close()
            self._refuse_if_closed()
        return conn

    def _refuse_if_closed(self) -> None:
        if self._closed:
            raise StoreError(f"the journal at {_redact(self.url)} is closed")

    def _reader(self) -> psycopg.Connection[Any]:
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            conn = self._connect(autocommit=True)
            with self._readers_lock:  # close() sets _closed before it takes the list
                if self._closed:
                    conn.close()
                    self._refuse_if_closed()
                self._readers.append(conn)
            self._local.conn = conn
        return conn

    def _read(self, query: Any, params: Any = None) -> list[tuple[Any, ...]]:
        # A connection kept from before a database restart fails on its first use: a read
        # can be sent again on a new one (once; then the database is really away).
        for attempt in (1, 2):
            try:
                return self._reader().execute(query, params).fetchall()
            except LOST as exc:
                if attempt == 2:
                    raise StoreError(f"read from PostgreSQL failed: {exc}") from exc
        raise AssertionError("unreachable")

    def _writer_connection(self) -> psycopg.Connection[Any]:
        """The writer, replaced when broken; after a pause, checked first, since a write
        failing on a connection the database dropped meanwhile would fail a whole batch."""
        conn = self._writer
        if not (conn.closed or conn.broken) and time.monotonic() - self._written > IDLE_CHECK:
            try:
                conn.execute(Q.PING)
                conn.rollback()
            except LOST:
                pass  # now broken: replaced below
        if conn.closed or conn.broken:
            conn = self._writer = self._connect(autocommit=False)
        return conn

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[Any]]:
        with self._write_lock:
            conn = self._writer_connection()
            try:
                with conn.transaction():
                    yield conn
            except LOST as exc:
                # A server gone mid-pipeline can leave the writer in pipeline mode without
                # marking it broken; closed, it is replaced at the next write.
                conn.close()
                raise StoreError(f"write to PostgreSQL failed: {exc}") from exc
            finally:
                self._written = time.monotonic()

    def ping(self) -> None:
        self._read(Q.PING)

    def close(self) -> None:
        self._closed = True
        if self._relay_conn is not None:
            self._relay_conn.close()
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
        rows = self._read(Q.GET_STATE_MACHINE, (arn,))
        return R.machine(rows[0]) if rows else None

    def list_state_machines(self) -> list[StateMachineRecord]:
        return [R.machine(r) for r in self._read(Q.LIST_STATE_MACHINES)]

    def delete_state_machine(self, arn: str) -> None:
        with self._transaction() as conn:
            conn.execute(Q.DELETE_STATE_MACHINE, (arn,))

    # -- executions ------------------------------------------------------------------------
    def create_execution(self, record: ExecutionRecord, first: StepRecord) -> bool:
        first.create = record
        return self.commit([first])[0]

    def get_execution(self, arn: str) -> ExecutionRecord | None:
        rows = self._read(Q.GET_EXECUTION, (arn,))
        return R.execution(rows[0]) if rows else None

    def find_execution(self, state_machine_arn: str, name: str) -> ExecutionRecord | None:
        rows = self._read(Q.FIND_EXECUTION, (state_machine_arn, name))
        return R.execution(rows[0]) if rows else None

    def list_executions(
        self, state_machine_arn: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[ExecutionRecord]:
        params = (state_machine_arn, state_machine_arn, status, status, limit)
        return [R.execution(r) for r in self._read(Q.LIST_EXECUTIONS, params)]

    def list_execution_page(
        self,
        state_machine_arn: str,
        status: str | None,
        limit: int,
        after: ListCursor | None = None,
    ) -> list[ExecutionSummary]:
        date, arn = after if after is not None else (None, None)
        params = {"machine": state_machine_arn, "status": status, "date": date, "arn": arn,
                  "limit": limit}  # fmt: skip
        return [ExecutionSummary(*r) for r in self._read(Q.LIST_EXECUTION_PAGE, params)]

    # -- console reads and the audit log ---------------------------------------------------
    def execution_summaries(self, query: ExecutionQuery) -> list[ExecutionSummary]:
        sql, params = CQ.summaries(query, "%s")
        return [CQ.summary(r) for r in self._read(sql, params)]

    def execution_counts(self, query: ExecutionQuery, cap: int = 10_000) -> dict[str, int]:
        return CQ.counts_per_status(self._read, query, cap, "%s")

    def record_audit(self, entry: AuditEntry) -> None:
        with self._transaction() as conn:
            conn.execute(CQ.insert_audit("%s"), CQ.audit_row(entry))

    def audit_entries(self, limit: int = 100, before: int | None = None) -> list[AuditEntry]:
        return CQ.audit_entries(self._read, limit, before, "%s")

    def open_executions(self) -> list[ExecutionRecord]:
        return [R.execution(r) for r in self._read(Q.OPEN_EXECUTIONS)]

    def history(self, arn: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for (blob,) in self._read(Q.HISTORY, (arn,)):
            events.extend(orjson.loads(blob))
        return P.resolve(events, lambda refs: self._payloads(arn, refs))

    def _payloads(self, arn: str, refs: set[str]) -> list[tuple[str, bytes]]:
        return self._reader().execute(Q.PAYLOADS, (arn, list(refs))).fetchall()

    def payload_texts(self, arn: str, digests: set[str]) -> dict[str, str]:
        return P.load_texts(digests, lambda refs: self._payloads(arn, refs))

    def history_page(
        self, arn: str, limit: int, after: int | None = None, reverse: bool = False
    ) -> list[dict[str, Any]]:
        bound = R.history_bound(after, reverse)
        if reverse:
            rows = self._read(Q.HISTORY_BACKWARD, {"arn": arn, "first": bound, "rows": limit})
        else:
            params = {"arn": arn, "first": bound + 1, "rows": limit + 1}
            rows = self._read(Q.HISTORY_FORWARD, params)
        page = R.page_events((bytes(blob) for (blob,) in rows), limit, bound, reverse)
        return P.resolve(page, lambda refs: self._payloads(arn, refs))

    # -- outbox ----------------------------------------------------------------------------
    def pending_outbox(self, limit: int = 200) -> list[tuple[int, str, bytes]]:
        # On the writer's connection, like the other reads the relay loop makes from its
        # worker threads: a reader per thread would be one more connection per thread.
        with self._transaction() as conn:
            rows = conn.execute(Q.PENDING_OUTBOX, (limit,)).fetchall()
        return [(int(i), str(topic), bytes(body)) for i, topic, body in rows]

    def leads_relay(self) -> bool:
        """A session advisory lock on a connection of its own: held while this process
        lives, released by the server when it dies (its connection ends)."""
        conn = self._relay_conn
        if conn is not None and _alive(conn):
            return True
        if conn is not None:
            conn.close()
        self._relay_conn = None
        if self._closed:
            return False
        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
            row = conn.execute(Q.TRY_RELAY_LOCK).fetchone()
        except LOST:  # the database is away: nobody relays until it is back
            return False
        if row is None or not row[0]:
            conn.close()
            return False
        self._relay_conn = conn
        return True

    def remove_outbox(self, ids: Sequence[int]) -> None:
        with self._transaction() as conn:
            conn.execute("DELETE FROM outbox WHERE id = ANY(%s)", (list(ids),))

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
            live = [s for s, ok in zip(steps, flags, strict=True) if ok]
            states = [row for s in live for row in R.linked_state(s)[1]]
            self._append(conn, live, states)
            return flags

    def _append(
        self,
        conn: psycopg.Connection[Any],
        live: list[StepRecord],
        state_payloads: list[P.PayloadRow],
    ) -> None:
        """The history, payload and outbox rows of the steps that were applied
        (``state_payloads``: the payloads their snapshots refer to)."""
        with conn.cursor() as cursor:
            rows = [R.history_rows(s) for s in live if s.events]
            # One row per digest: ON CONFLICT cannot affect a row twice in one statement.
            distinct = {(p[0], p[1]): p for _, ps in rows for p in ps}
            distinct.update({(p[0], p[1]): p for p in state_payloads})
            payloads = list(distinct.values())
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
    def cluster(self) -> ClusterOperations:
        """A PostgreSQL database is shared: this journal is a member (with an ``owner``) or
        a client that leaves running to the members (without)."""
        return self

    def claim(self, limit: int = 500) -> list[ExecutionRecord]:
        """Take over RUNNING executions nobody owns or whose owner's lease expired."""
        params = {"owner": self.owner, "lease": self.lease_seconds, "limit": limit}
        with self._transaction() as conn:
            return [R.execution(r) for r in conn.execute(Q.CLAIM, params)]

    def reclaim(self, arns: list[str]) -> list[ExecutionRecord]:
        """Take back the RUNNING executions among ``arns`` that this worker still owns or
        that nobody owns any more (a lease that expired while the database was away)."""
        params = {"owner": self.owner, "lease": self.lease_seconds, "arns": arns}
        with self._transaction() as conn:
            return [R.execution(r) for r in conn.execute(Q.RECLAIM, params)]

    def renew(self) -> None:
        """Extend the lease on every execution this worker owns (one statement, not per
        execution: ownership is sticky, the hot path never touches it)."""
        with self._transaction() as conn:
            conn.execute(Q.RENEW, {"owner": self.owner, "lease": self.lease_seconds})

    def owned(self) -> set[str]:
        return {arn for (arn,) in self._read(Q.OWNED, {"owner": self.owner})}

    def release(self) -> None:
        """Give up every execution this worker owns and wake the others to take them."""
        with self._transaction() as conn:
            conn.execute(Q.RELEASE, {"owner": self.owner})
            conn.execute(Q.NOTIFY_WORK)

    def listen(self, on_notify: Callable[[str], None], stop: threading.Event) -> None:
        """Block (in a thread) calling ``on_notify(channel)`` for every NOTIFY on the work
        and delivery channels, until ``stop`` is set. A lost connection is replaced with
        backoff; after each (re)connection both channels are announced once, since a NOTIFY
        sent while nobody listened is lost."""
        backoff = Backoff()
        while not stop.is_set():
            try:
                self._listen_once(on_notify, stop, backoff)
            except (StoreError, *LOST) as exc:
                delay = backoff.next()
                log.warning("LISTEN connection lost (%s); again in %.1f s", exc, delay)
                stop.wait(delay)

    def _listen_once(
        self, on_notify: Callable[[str], None], stop: threading.Event, backoff: Backoff
    ) -> None:
        conn = self._connect(autocommit=True)
        try:
            conn.execute(Q.LISTEN_WORK)
            conn.execute(Q.LISTEN_DELIVERY)
            backoff.reset()
            on_notify(WORK_CHANNEL)
            on_notify(DELIVERY_CHANNEL)
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

    def pending_deliveries(self) -> list[Delivery]:
        """(id, execution, kind, token, payload) for this worker's running executions."""
        rows = self._read(Q.PENDING_DELIVERIES, {"owner": self.owner})
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


def _alive(conn: psycopg.Connection[Any]) -> bool:
    """Whether the connection (and so a session lock on it) survives: a restarted server
    ends it without the client knowing until it asks."""
    try:
        conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}@{host}"
