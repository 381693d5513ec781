"""``--shop-db``/``--shop-schema``: the operator commands pointed at a shop on PostgreSQL.

The URL is the one the shop's members were given (``ShopConfig.db``, a worker's ``--config
'{"db": ...}'``): its services live in the schemas ``<base>_<name>``, where ``<base>`` is the
URL's search_path (default ``shop``). ``--shop-schema`` sets that base instead, so the URL given
to ``sagaway demo --db`` works with ``--shop-schema shopdemo``. Before anything is opened the
database is reached and the orders schema checked, because the shop's stores create missing
schemas and tables: a mistyped URL must be an error, not a new empty shop.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from shop.config import ShopConfig

SHOP_DB_HELP = (
    "A shop on PostgreSQL instead of --workdir/--db: the postgresql:// URL its workers got "
    "(ShopConfig.db). Its services are the schemas BASE_orders, BASE_incidents, ..., BASE "
    "being the URL's search_path or 'shop'."
)
SHOP_SCHEMA_HELP = (
    "With --shop-db: the shop's BASE schema (journal and bus; services in BASE_orders, ...). "
    "The shop of 'sagaway demo --db URL' is --shop-db URL --shop-schema shopdemo."
)


def fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def shop_on_postgres(shop_db: str, shop_schema: str | None, store: str = "orders") -> ShopConfig:
    """The shop's config for ``shop_db`` once its database answers and its ``store`` schema
    holds a shop; a one-line error and exit 2 otherwise."""
    from shop.config import ShopConfig  # the shop is an application on top of sagaway
    from shop.sql import is_postgres, schema_url, search_path

    if not is_postgres(shop_db):
        raise fail(f"--shop-db takes a postgresql:// URL, not {shop_db!r} (SQLite: --workdir)")
    db = schema_url(shop_db, shop_schema) if shop_schema else shop_db
    config = ShopConfig(workdir=Path("."), db=db)
    base = search_path(db) or "shop"
    if _missing_table(db, f"{base}_orders", "dead_letters"):
        hint = "" if shop_schema else " (the demo's shop: --shop-schema shopdemo)"
        raise fail(f"no shop in schema {base}_orders of that database{hint}")
    return config


def has_table(url: str, schema: str, table: str) -> bool:
    return not _missing_table(url, schema, table)


def _missing_table(url: str, schema: str, table: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            row = conn.execute("SELECT to_regclass(%s)", (f"{schema}.{table}",)).fetchone()
    except psycopg.Error as exc:  # a bad URL or an unreachable server: one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise fail(f"cannot reach the shop's database: {first}") from exc
    return row is None or row[0] is None
