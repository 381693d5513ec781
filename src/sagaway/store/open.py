"""Open the journal a ``--db`` URL names: ``sqlite:///path.db`` (default) or ``postgresql://``."""

from __future__ import annotations

from sagaway.store.ports import Journal, StoreError

DEFAULT_URL = "sqlite:///./sagaway.db"


def open_journal(
    url: str = DEFAULT_URL, *, owner: str | None = None, lease_seconds: float = 5.0
) -> Journal:
    """The journal for ``url``. ``owner`` makes a PostgreSQL journal a worker that claims
    executions by lease; SQLite is single-process and ignores it."""
    if url.startswith(("postgresql://", "postgres://")):
        from sagaway.store.postgres import PostgresJournal

        return PostgresJournal(url, owner=owner, lease_seconds=lease_seconds)
    if url.startswith("sqlite:") or "://" not in url:
        from sagaway.store.sqlite import SqliteJournal

        return SqliteJournal(url)
    raise StoreError(f"unsupported database URL {url!r}: use sqlite:///path.db or postgresql://…")
