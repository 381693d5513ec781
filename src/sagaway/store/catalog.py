"""The API's catalog: activities, state machine versions and aliases, tags, and facts about
executions the journal does not hold (the version or alias an execution started through,
its redrive date). Small, rarely written records, kept as JSON bodies by kind and ARN.

:class:`Catalog` is the port; :class:`SqliteCatalog` keeps it in the journal's SQLite file
(table ``catalog``, migration 0002) or in memory when the journal is in memory;
``sagaway.store.postgres_catalog`` keeps it in PostgreSQL, shared by every server.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any, Protocol

import orjson

from sagaway.store.migrations import migrations
from sagaway.store.sqlite import path_from_url

# The catalog's table, as migration 0002 creates it (IF NOT EXISTS throughout): run here too,
# for a catalog in memory and for a file whose journal has not been migrated yet.
SCHEMA = next(m.sql for m in migrations("sqlite") if m.name == "catalog")
PUT_ITEM = "INSERT OR REPLACE INTO catalog (kind, arn, parent, created, body) VALUES (?,?,?,?,?)"
INSERT_ITEM = "INSERT INTO catalog (kind, arn, parent, created, body) VALUES (?,?,?,?,?)"
GET_ITEM = "SELECT body FROM catalog WHERE kind = ? AND arn = ?"
LIST_ITEMS = (
    "SELECT body FROM catalog WHERE kind = ? AND (? IS NULL OR parent = ?) ORDER BY created, arn"
)
DELETE_ITEM = "DELETE FROM catalog WHERE kind = ? AND arn = ?"


class Catalog(Protocol):
    def put(self, kind: str, arn: str, body: dict[str, Any], *, parent: str = "") -> None: ...
    def insert(self, kind: str, arn: str, body: dict[str, Any], *, parent: str = "") -> bool:
        """Add a new item; False if one exists with that ARN."""
        ...

    def get(self, kind: str, arn: str) -> dict[str, Any] | None: ...
    def list(self, kind: str, parent: str | None = None) -> list[dict[str, Any]]: ...
    def delete(self, kind: str, arn: str) -> bool: ...
    def close(self) -> None: ...


class SqliteCatalog:
    def __init__(self, url: str) -> None:
        path = path_from_url(url)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._lock = threading.Lock()
        self._clock = 0.0
        with self._lock:
            self._conn.executescript(SCHEMA)

    def _order(self, body: dict[str, Any]) -> float:
        # Listing order is creation order; ties (same instant) keep insertion order.
        created = float(body.get("creationDate", 0.0))
        self._clock = max(self._clock + 1e-6, created)
        return self._clock

    def put(self, kind: str, arn: str, body: dict[str, Any], *, parent: str = "") -> None:
        with self._lock:
            row = self._conn.execute("SELECT created FROM catalog WHERE kind=? AND arn=?",
                                     (kind, arn)).fetchone()  # fmt: skip
            created = row[0] if row else self._order(body)
            self._conn.execute(PUT_ITEM, (kind, arn, parent, created, orjson.dumps(body)))

    def insert(self, kind: str, arn: str, body: dict[str, Any], *, parent: str = "") -> bool:
        with self._lock:
            try:
                values = (kind, arn, parent, self._order(body), orjson.dumps(body))
                self._conn.execute(INSERT_ITEM, values)
            except sqlite3.IntegrityError:
                return False
            return True

    def get(self, kind: str, arn: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(GET_ITEM, (kind, arn)).fetchone()
        if row is None:
            return None
        body: dict[str, Any] = orjson.loads(row[0])
        return body

    def list(self, kind: str, parent: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute(LIST_ITEMS, (kind, parent, parent)).fetchall()
        return [orjson.loads(blob) for (blob,) in rows]

    def delete(self, kind: str, arn: str) -> bool:
        with self._lock:
            return self._conn.execute(DELETE_ITEM, (kind, arn)).rowcount > 0

    def close(self) -> None:
        self._conn.close()
