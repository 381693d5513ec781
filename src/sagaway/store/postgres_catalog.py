"""The API's catalog in PostgreSQL: :class:`sagaway.store.catalog.Catalog` for servers that
share one database, so a state machine version, alias, activity or tag made through one
``sagaway serve`` is seen by all of them.

The table comes from the migrations (``0002_catalog``). Listing order is creation order
(``creationDate`` when the body has one), then insertion order (``seq``): the same order the
SQLite catalog gives, without a per-process clock that several processes could not share.
"""

from __future__ import annotations

import threading
from typing import Any

import orjson
import psycopg

from sagaway.store.catalog import SqliteCatalog
from sagaway.store.ports import StoreError

PUT_ITEM = (
    "INSERT INTO catalog (kind, arn, parent, created, body) VALUES (%s, %s, %s, %s, %s)"
    " ON CONFLICT (kind, arn) DO UPDATE SET parent = EXCLUDED.parent, body = EXCLUDED.body"
)
INSERT_ITEM = (
    "INSERT INTO catalog (kind, arn, parent, created, body) VALUES (%s, %s, %s, %s, %s)"
    " ON CONFLICT DO NOTHING RETURNING arn"
)
GET_ITEM = "SELECT body FROM catalog WHERE kind = %s AND arn = %s"
LIST_ITEMS = (
    "SELECT body FROM catalog WHERE kind = %s AND (%s::text IS NULL OR parent = %s)"
    " ORDER BY created, seq"
)
DELETE_ITEM = "DELETE FROM catalog WHERE kind = %s AND arn = %s"


class PostgresCatalog:
    """One autocommit connection: every call is a single statement, and the API calls them
    rarely (creating versions, tagging), so no pool is worth having."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._closed = False  # by close(): no connection is opened again (it would be left open)
        self._conn = self._connect()
        if migrate:
            from sagaway.store.postgres import apply_migrations

            apply_migrations(self._conn)

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(self.url, autocommit=True, connect_timeout=3)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL for the catalog: {exc}") from exc

    def _run(self, query: str, params: tuple[Any, ...]) -> psycopg.Cursor[Any]:
        with self._lock:
            if self._closed:
                raise StoreError("the catalog's PostgreSQL connection is closed")
            if self._conn.closed or self._conn.broken:  # lost (restart, fail-over): reopen
                self._conn = self._connect()
            try:
                return self._conn.execute(query, params)
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                raise StoreError(f"catalog access to PostgreSQL failed: {exc}") from exc

    def put(self, kind: str, arn: str, body: dict[str, Any], *, parent: str = "") -> None:
        # An update keeps the item's place in listings (created and seq are not touched).
        self._run(PUT_ITEM, (kind, arn, parent, _created(body), orjson.dumps(body)))

    def insert(self, kind: str, arn: str, body: dict[str, Any], *, parent: str = "") -> bool:
        values = (kind, arn, parent, _created(body), orjson.dumps(body))
        return self._run(INSERT_ITEM, values).fetchone() is not None

    def get(self, kind: str, arn: str) -> dict[str, Any] | None:
        row = self._run(GET_ITEM, (kind, arn)).fetchone()
        if row is None:
            return None
        body: dict[str, Any] = orjson.loads(row[0])
        return body

    def list(self, kind: str, parent: str | None = None) -> list[dict[str, Any]]:
        rows = self._run(LIST_ITEMS, (kind, parent, parent)).fetchall()
        return [orjson.loads(blob) for (blob,) in rows]

    def delete(self, kind: str, arn: str) -> bool:
        return self._run(DELETE_ITEM, (kind, arn)).rowcount > 0

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._conn.close()


def _created(body: dict[str, Any]) -> float:
    return float(body.get("creationDate", 0.0))


def open_catalog(url: str) -> PostgresCatalog | SqliteCatalog:
    """The catalog beside the journal a ``--db`` URL names."""
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresCatalog(url)
    return SqliteCatalog(url)
