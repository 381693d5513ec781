"""The API catalog's contract, on SQLite and on PostgreSQL (where two processes share it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sagaway.store.catalog import SqliteCatalog
from sagaway.store.postgres_catalog import PostgresCatalog, open_catalog
from tests.store.conftest import drop_schema, postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        store: Any = open_catalog(f"sqlite:///{tmp_path / 'journal.db'}")
        assert isinstance(store, SqliteCatalog)
        yield store
        store.close()
        return
    url = postgres_url()
    store = open_catalog(url)
    assert isinstance(store, PostgresCatalog)
    yield store
    store.close()
    drop_schema(url)


def test_insert_refuses_a_taken_arn_and_put_replaces(catalog: Any) -> None:
    assert catalog.insert("activity", "a1", {"name": "one", "creationDate": 10.0})
    assert not catalog.insert("activity", "a1", {"name": "other", "creationDate": 11.0})
    assert catalog.get("activity", "a1") == {"name": "one", "creationDate": 10.0}
    catalog.put("activity", "a1", {"name": "renamed", "creationDate": 10.0})
    assert catalog.get("activity", "a1") == {"name": "renamed", "creationDate": 10.0}
    assert catalog.get("activity", "missing") is None
    assert catalog.get("tags", "a1") is None  # kinds are separate


def test_list_is_creation_order_and_filters_by_parent(catalog: Any) -> None:
    for n, parent in ((1, "sm-a"), (2, "sm-b"), (3, "sm-a")):
        catalog.put("version", f"v{n}", {"n": n, "creationDate": 100.0 + n}, parent=parent)
    for n in range(3):  # no creationDate: insertion order
        catalog.put("execution", f"e{n}", {"n": n})
    assert [b["n"] for b in catalog.list("version")] == [1, 2, 3]
    assert [b["n"] for b in catalog.list("version", "sm-a")] == [1, 3]
    assert [b["n"] for b in catalog.list("execution")] == [0, 1, 2]
    catalog.put("version", "v1", {"n": 1, "changed": True, "creationDate": 101.0}, parent="sm-a")
    assert [b["n"] for b in catalog.list("version")] == [1, 2, 3]  # updates keep their place


def test_delete_says_whether_it_removed_something(catalog: Any) -> None:
    catalog.put("tags", "arn", {"tags": [{"key": "k", "value": "v"}]})
    assert catalog.delete("tags", "arn")
    assert not catalog.delete("tags", "arn")
    assert catalog.list("tags") == []


def test_two_postgresql_catalogs_share_one_database() -> None:
    url = postgres_url()
    first, second = PostgresCatalog(url), PostgresCatalog(url)
    try:
        assert first.insert("alias", "al", {"name": "prod", "creationDate": 1.0}, parent="sm")
        assert second.get("alias", "al") == {"name": "prod", "creationDate": 1.0}
        assert not second.insert("alias", "al", {"name": "again"}, parent="sm")
        assert second.delete("alias", "al")
        assert first.list("alias", "sm") == []
    finally:
        first.close()
        second.close()
        drop_schema(url)


def test_a_sqlite_catalog_made_before_its_migration_is_kept(tmp_path: Path) -> None:
    import sqlite3

    from sagaway.store.migrations import migrations
    from sagaway.store.sqlite import SqliteJournal

    url = f"sqlite:///{tmp_path / 'old.db'}"
    conn = sqlite3.connect(tmp_path / "old.db")
    conn.executescript(migrations("sqlite")[0].sql)  # a journal at version 1 …
    conn.close()
    old = SqliteCatalog(url)  # … whose catalog the API created on its own, as it used to
    old.put("tags", "arn", {"tags": []})
    old.close()
    journal = SqliteJournal(url)  # migrates to the latest version
    try:
        assert journal.applied_migrations() == {m.version for m in migrations("sqlite")}
    finally:
        journal.close()
    again = SqliteCatalog(url)
    assert again.get("tags", "arn") == {"tags": []}
    again.close()
