"""Schema upgrades for either dialect, by URL (``sagaway migrate``)."""

from __future__ import annotations

from sagaway.store.ports import StoreError
from sagaway.store.sqlite_queries import MIGRATIONS_TABLE as SQLITE_MIGRATIONS_TABLE


def upgrade(url: str) -> list[int]:
    """Apply pending migrations; the versions applied now."""
    if url.startswith(("postgresql://", "postgres://")):
        from sagaway.store.postgres import PostgresJournal, apply_migrations

        journal = PostgresJournal(url, migrate=False)
        try:
            return apply_migrations(journal._writer)
        finally:
            journal.close()
    from sagaway.store.sqlite import SqliteJournal

    store = SqliteJournal(url, migrate=False)
    try:
        return store.migrate()
    finally:
        store.close()


def applied_versions(url: str) -> set[int]:
    if url.startswith(("postgresql://", "postgres://")):
        import psycopg

        try:
            with psycopg.connect(url) as conn:
                rows = conn.execute("SELECT version FROM sagaway_migrations").fetchall()
        except psycopg.Error as exc:
            raise StoreError(f"cannot read migrations: {exc}") from exc
        return {row[0] for row in rows}
    from sagaway.store.sqlite import SqliteJournal

    store = SqliteJournal(url, migrate=False)
    try:
        store._writer.execute(SQLITE_MIGRATIONS_TABLE)
        return store.applied_migrations()
    finally:
        store.close()
