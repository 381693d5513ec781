"""SQLite connections for services and the bus: WAL, a busy timeout, explicit transactions.

``synchronous=NORMAL`` in WAL mode keeps every committed transaction across a process crash
(SIGKILL); only an OS crash or power loss can lose the last few. Services that must survive
power loss pass ``durable=True`` (FULL: fsync per commit)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def path_from_url(url: str) -> str:
    for prefix in ("sqlite:///", "sqlite://"):
        if url.startswith(prefix):
            return url[len(prefix) :]
    return url


def connect(url: str, *, durable: bool = False) -> sqlite3.Connection:
    path = path_from_url(url)
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE``: take the write lock up front so two writers never deadlock on an
    upgrade from a read lock."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
