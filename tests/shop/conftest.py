"""The shop's databases under test: SQLite files in a temporary folder, or PostgreSQL (the
real server of tests/store/conftest.py: fails under CI=true when unreachable, skips
elsewhere), where the journal and bus take a fresh schema ``t_x`` and every service and
third party a schema ``t_x_<name>`` of its own, all dropped afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shop.config import ShopConfig
from shop.sql import search_path
from tests.store.conftest import PG_URL, postgres_url


def drop_shop_schemas(db: str) -> None:
    """Drop the schema ``db`` names and every ``<schema>_<name>`` the shop made beside it."""
    import psycopg

    base = search_path(db)
    assert base, db
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname = %s OR nspname LIKE %s",
            (base, base.replace("_", r"\_") + r"\_%"),
        ).fetchall()
        for (schema,) in rows:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def shop_config(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ShopConfig]:
    """A shop configuration on either database (``db`` empty: SQLite files)."""
    if request.param == "sqlite":
        yield ShopConfig(workdir=tmp_path)
        return
    db = postgres_url()
    yield ShopConfig(workdir=tmp_path, db=db)
    drop_shop_schemas(db)
