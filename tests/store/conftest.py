"""Journals under test: a real SQLite file and a real PostgreSQL database.

PostgreSQL tests use ``$SAGAWAY_TEST_PG`` (default ``postgresql://postgres@127.0.0.1:5432/test``)
and a schema of their own that is dropped afterwards. When the server is unreachable they
fail under ``CI=true`` and skip, with the reason, elsewhere.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sagaway.store import postgres_queries as PQ
from sagaway.store import sqlite_queries as SQ
from sagaway.store.migrations import Migration, migrations
from sagaway.store.sqlite import SqliteJournal

PG_URL = os.environ.get("SAGAWAY_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_url() -> str:
    """A fresh schema on the test server, as a URL whose search_path points at it."""
    try:
        import psycopg

        with psycopg.connect(PG_URL, autocommit=True, connect_timeout=3) as conn:
            schema = f"t_{uuid.uuid4().hex[:12]}"
            conn.execute(f"CREATE SCHEMA {schema}")
    except Exception as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI but unreachable at {PG_URL}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {PG_URL}: {exc}")
    separator = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{separator}options=-csearch_path%3D{schema}"


def drop_schema(url: str) -> None:
    import psycopg

    schema = url.rsplit("%3D", 1)[1]
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def journal(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        store = SqliteJournal(f"sqlite:///{tmp_path / 'journal.db'}")
        yield store
        store.close()
        return
    from sagaway.store.postgres import PostgresJournal

    url = postgres_url()
    store = PostgresJournal(url)
    yield store
    store.close()
    drop_schema(url)


def migrations_before(dialect: str, name: str) -> list[Migration]:
    """The migrations a journal had before the one called ``name`` (an upgrade test's start)."""
    found = migrations(dialect)
    (target,) = [m for m in found if m.name == name]
    return [m for m in found if m.version < target.version]


def sqlite_at(path: Path, applied: list[Migration]) -> sqlite3.Connection:
    """A SQLite journal file with just ``applied`` run and recorded, as an older Sagaway
    left it (the caller adds its rows, commits and closes)."""
    old = sqlite3.connect(path)
    old.execute(SQ.MIGRATIONS_TABLE)
    for migration in applied:
        old.executescript(migration.sql)
        old.execute(SQ.RECORD_MIGRATION, (migration.version, migration.name, 0.0))
    return old


def postgres_at(conn: Any, applied: list[Migration]) -> None:
    """The same on a PostgreSQL connection (to an empty schema)."""
    conn.execute(PQ.MIGRATIONS_TABLE)
    for migration in applied:
        conn.execute(migration.sql.encode())
        conn.execute(PQ.RECORD_MIGRATION, (migration.version, migration.name))
