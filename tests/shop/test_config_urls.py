"""Where each part of the shop keeps its data, from the configuration alone."""

from __future__ import annotations

from pathlib import Path

from shop.config import ShopConfig


def test_default_is_a_sqlite_file_each() -> None:
    config = ShopConfig(Path("/w"))
    assert (config.url("orders"), config.journal_url, config.bus_url) == (
        "sqlite:////w/orders.db", "sqlite:////w/sagaway.db", "sqlite:////w/bus.db")  # fmt: skip
    assert not config.on_postgres


def test_one_postgres_url_gives_each_service_a_schema() -> None:
    config = ShopConfig(Path("/w"), db="postgresql://u@h:5432/db")
    assert config.on_postgres
    assert config.journal_url == config.bus_url == "postgresql://u@h:5432/db"
    assert config.url("orders") == "postgresql://u@h:5432/db?options=-csearch_path%3Dshop_orders"
    assert config.url("courier").endswith("%3Dshop_courier")


def test_a_schema_in_the_url_prefixes_the_services_and_other_parameters_stay() -> None:
    db = "postgresql://u@h/db?sslmode=disable&options=-csearch_path%3Dsale"
    config = ShopConfig(Path("/w"), db=db, urls={"gateway": "sqlite:////elsewhere/g.db"})
    assert (
        config.url("orders")
        == "postgresql://u@h/db?sslmode=disable&options=-csearch_path%3Dsale_orders"
    )
    assert config.url("gateway") == "sqlite:////elsewhere/g.db"  # urls still override
    assert config.without_faults().db == db
