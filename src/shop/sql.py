"""One connection to a shop database, SQLite (a file) or PostgreSQL (a schema), so that each
query is written once.

The shop's SQL is the subset both dialects agree on (``INSERT ... ON CONFLICT DO NOTHING``,
``DOUBLE PRECISION``, ``RETURNING``): the adapter only turns SQLite's ``?`` placeholders into
psycopg's ``%s``, and the few schema words that differ (``INTEGER PRIMARY KEY AUTOINCREMENT``,
``WITHOUT ROWID``, ``REAL``) into PostgreSQL's. ``SELECT ... FOR UPDATE`` locks the row on
PostgreSQL, where writers of several processes meet; SQLite's ``BEGIN IMMEDIATE`` already
serializes writers, so the clause is dropped there.

A PostgreSQL URL names its schema with ``options=-csearch_path=<schema>``
(:func:`schema_url`); the schema is created when missing. A connection broken by a restarted
server is replaced at the next transaction; an operation that meets the server away raises
:class:`~shop.errors.ServiceUnavailable` (transient: the saga retries it).
"""

from __future__ import annotations

import queue
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg

from sagaway import connect, transaction
from shop.errors import ServiceUnavailable


class Rows(Protocol):
    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def search_path(url: str) -> str | None:
    """The schema a PostgreSQL URL's ``options=-csearch_path=...`` names, if any."""
    for key, value in parse_qsl(urlsplit(url).query):
        if key == "options":
            match = re.search(r"-csearch_path=([^\s,]+)", value)
            if match:
                return match.group(1)
    return None


def schema_url(url: str, schema: str) -> str:
    """``url`` with its search_path set to ``schema`` (other query parameters kept)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "options"]
    query.append(("options", f"-csearch_path={schema}"))
    return urlunsplit(parts._replace(query=urlencode(query)))


_PG_DDL = [
    (re.compile(r"INTEGER PRIMARY KEY AUTOINCREMENT", re.I), "BIGSERIAL PRIMARY KEY"),
    (re.compile(r"\)\s*WITHOUT ROWID", re.I), ")"),
    (re.compile(r"\bREAL\b", re.I), "DOUBLE PRECISION"),
]
_FOR_UPDATE = re.compile(r"\s+FOR UPDATE\b", re.I)


def to_postgres(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


def ddl_for_postgres(script: str) -> str:
    for pattern, replacement in _PG_DDL:
        script = pattern.sub(replacement, script)
    return script


class SqlConnection:
    """Not shared between threads: each thread of a service opens its own."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.postgres = is_postgres(url)
        self._lite: sqlite3.Connection | None = None
        self._pg: psycopg.Connection[Any] | None = None
        self._open()

    def _open(self) -> None:
        if not self.postgres:
            self._lite = connect(self.url)
            return
        try:
            self._pg = psycopg.connect(self.url, autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as exc:
            self._drop()
            raise ServiceUnavailable(f"database unavailable: {exc}") from exc

    def _drop(self) -> None:
        """Forget a PostgreSQL session that failed: one dropped by the server in the middle
        of an ``executemany`` (a pipeline) may stay in pipeline mode without being marked
        broken, and fail every later statement. The next call reconnects."""
        if self._pg is not None:
            self._pg.close()

    def _pg_conn(self) -> psycopg.Connection[Any]:
        if self._pg is None or self._pg.closed or self._pg.broken:
            self._open()
        assert self._pg is not None
        return self._pg

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        if self._lite is not None:
            return self._lite.execute(_FOR_UPDATE.sub("", sql), params)
        try:
            return self._pg_conn().execute(to_postgres(sql), params)
        except psycopg.OperationalError as exc:
            self._drop()
            raise ServiceUnavailable(f"database unavailable: {exc}") from exc

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if self._lite is not None:
            self._lite.executemany(sql, rows)
            return
        try:
            with self._pg_conn().cursor() as cursor:
                cursor.executemany(to_postgres(sql), rows)
        except psycopg.OperationalError as exc:
            self._drop()
            raise ServiceUnavailable(f"database unavailable: {exc}") from exc

    def script(self, ddl: str) -> None:
        """Create the tables of ``ddl`` when missing (and, on PostgreSQL, the schema)."""
        if self._lite is not None:
            self._lite.executescript(ddl)
            return
        conn = self._pg_conn()
        with conn.transaction():
            # Processes starting together would race on CREATE ... IF NOT EXISTS.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('shop-schema'))")
            schema = search_path(self.url)
            if schema:
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            for statement in filter(str.strip, ddl_for_postgres(ddl).split(";")):
                conn.execute(statement)

    def lock(self, name: str) -> None:
        """Inside a transaction: serialize the transactions that take the same ``name``
        (PostgreSQL: an advisory lock until commit; SQLite's writers are serialized already)."""
        if self.postgres:
            self.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (name,))

    @contextmanager
    def transaction(self) -> Iterator[SqlConnection]:
        """One transaction; SQLite takes the write lock up front (``BEGIN IMMEDIATE``)."""
        if self._lite is not None:
            with transaction(self._lite):
                yield self
            return
        try:
            with self._pg_conn().transaction():
                yield self
        except psycopg.OperationalError as exc:
            self._drop()
            raise ServiceUnavailable(f"database unavailable: {exc}") from exc

    def close(self) -> None:
        for conn in (self._lite, self._pg):
            if conn is not None:
                conn.close()


class Database:
    """A shop database used from many threads. SQLite: a connection per thread (WAL lets
    them read at once; ``BEGIN IMMEDIATE`` serializes writers). PostgreSQL: a small pool
    (at most ``pool_size`` sessions per process, opened when first needed), since a
    cluster's processes share the server's connection limit."""

    def __init__(self, url: str, schema: str = "", *, pool_size: int = 3) -> None:
        self.url = url
        self.postgres = is_postgres(url)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[SqlConnection] = []  # SQLite: every thread's
        self._idle: queue.LifoQueue[SqlConnection] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(pool_size)
        if schema:
            with self.connection() as conn:
                conn.script(schema)

    @contextmanager
    def connection(self) -> Iterator[SqlConnection]:
        if not self.postgres:
            yield self._thread_connection()
            return
        with self._slots:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = SqlConnection(self.url)
            try:
                yield conn
            finally:
                self._idle.put(conn)

    @contextmanager
    def transaction(self) -> Iterator[SqlConnection]:
        with self.connection() as conn, conn.transaction():
            yield conn

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.connection() as conn:
            return [tuple(row) for row in conn.execute(sql, params).fetchall()]

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self.transaction() as conn:
            conn.executemany(sql, rows)

    def adopt(self, conn: SqlConnection) -> None:
        """Pool an open session (PostgreSQL)."""
        self._idle.put(conn)

    def _thread_connection(self) -> SqlConnection:
        conn: SqlConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = SqlConnection(self.url)
            with self._lock:
                self._opened.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection (a PostgreSQL one used again reconnects)."""
        with self._lock:
            opened, self._opened = self._opened, []
        while True:
            try:
                opened.append(self._idle.get_nowait())
            except queue.Empty:
                break
        for conn in opened:
            conn.close()


class SharedDatabase:
    """A simulated third party's books, used by every engine thread of a process. SQLite:
    one connection behind a lock, as writers are serialized anyway. PostgreSQL: a pool of
    ``pool_size`` sessions, so that the threads' calls (one row lock or advisory lock each)
    run at once instead of queuing on one connection: the gateway's lock was where a
    worker's threads waited most (py-spy). ``conn`` is the first session (tests read it)."""

    def __init__(self, url: str, schema: str, *, pool_size: int = 4) -> None:
        self.conn = SqlConnection(url)
        self.conn.script(schema)
        self._lock = threading.Lock()
        self._pool = Database(url, pool_size=pool_size) if self.conn.postgres else None
        if self._pool is not None:
            self._pool.adopt(self.conn)  # the pool's first session, not one more

    @contextmanager
    def session(self) -> Iterator[SqlConnection]:
        if self._pool is not None:
            with self._pool.connection() as conn:
                yield conn
            return
        with self._lock:
            yield self.conn

    @contextmanager
    def transaction(self) -> Iterator[SqlConnection]:
        with self.session() as conn, conn.transaction():
            yield conn

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()  # self.conn among them
            return
        with self._lock:
            self.conn.close()
