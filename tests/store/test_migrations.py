"""A fresh schema must equal every migration applied in turn, on both dialects, and
``sagaway migrate`` must report and apply them."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import orjson

from sagaway.store import sqlite_queries as Q
from sagaway.store.migrations import fresh_schema, latest, migrations
from sagaway.store.sqlite import SqliteJournal
from tests.store.conftest import drop_schema, postgres_url


def _sqlite_catalog(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL"
        " AND name NOT LIKE 'sqlite_%' AND name != 'sagaway_migrations' ORDER BY name"
    )
    return [(name, " ".join(sql.split())) for name, sql in rows]


def test_sqlite_fresh_schema_equals_all_migrations(tmp_path: Path) -> None:
    replayed = sqlite3.connect(tmp_path / "replayed.db")
    for migration in migrations("sqlite"):
        replayed.executescript(migration.sql)
    fresh = sqlite3.connect(tmp_path / "fresh.db")
    fresh.executescript(fresh_schema("sqlite"))
    assert _sqlite_catalog(replayed) == _sqlite_catalog(fresh)
    assert _sqlite_catalog(fresh), "the schema defines tables"


def _pg_catalog(url: str) -> list[tuple[object, ...]]:
    import psycopg

    with psycopg.connect(url) as conn:
        columns = conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable, column_default"
            " FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name != 'sagaway_migrations' ORDER BY table_name, column_name"
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
            " AND tablename != 'sagaway_migrations' ORDER BY indexname"
        ).fetchall()
    schema_name = url.rsplit("%3D", 1)[1]
    return [*columns, *((n, d.replace(f"{schema_name}.", "")) for n, d in indexes)]


def test_postgresql_fresh_schema_equals_all_migrations() -> None:
    import psycopg

    replayed, fresh = postgres_url(), postgres_url()
    try:
        with psycopg.connect(replayed) as conn:
            for migration in migrations("postgresql"):
                conn.execute(migration.sql.encode())
        with psycopg.connect(fresh) as conn:
            conn.execute(fresh_schema("postgresql").encode())
        assert _pg_catalog(replayed) == _pg_catalog(fresh)
    finally:
        drop_schema(replayed)
        drop_schema(fresh)


def _migrate(*args: str) -> str:
    run = subprocess.run(
        [sys.executable, "-m", "sagaway", "migrate", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return run.stdout


def test_migrate_command_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'j.db'}"
    first = _migrate("--db", url)
    assert f"sqlite schema at version {latest('sqlite')} of {latest('sqlite')}" in first
    assert "applied now" in first
    again = _migrate("--db", url, "--status")
    assert "applied now" not in again and "pending" not in again


def test_migrate_command_on_postgresql() -> None:
    url = postgres_url()
    try:
        out = _migrate("--db", url)
        assert f"postgresql schema at version {latest('postgresql')}" in out
        assert "applied now" not in _migrate("--db", url)
    finally:
        drop_schema(url)


def test_sqlite_upgrade_to_rowid_history_keeps_every_event(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.execute(Q.MIGRATIONS_TABLE)
    for migration in migrations("sqlite")[:2]:  # a journal made before migration 3
        old.executescript(migration.sql)
        old.execute(Q.RECORD_MIGRATION, (migration.version, migration.name, 0.0))
    events = [{"id": 1, "type": "ExecutionStarted"}, {"id": 2, "type": "PassStateEntered"}]
    old.execute("INSERT INTO history VALUES ('arn:x', 1, ?)", (orjson.dumps(events),))
    old.commit()
    old.close()
    journal = SqliteJournal(f"sqlite:///{path}")  # migrates on open
    try:
        assert journal.history("arn:x") == events
        assert journal.applied_migrations() == set(range(1, latest("sqlite") + 1))
    finally:
        journal.close()
    (sql,) = (
        sqlite3.connect(path)
        .execute("SELECT sql FROM sqlite_master WHERE name = 'history'")
        .fetchone()
    )
    assert "WITHOUT ROWID" not in sql
