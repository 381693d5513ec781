"""The inventory service: stock per SKU, reservations by conditional decrement."""

from __future__ import annotations

import json
from typing import Any

from shop.errors import OutOfStock
from shop.services.base import ServiceDb, order_of
from shop.sql import SqlConnection

SCHEMA = """
CREATE TABLE IF NOT EXISTS stock (sku TEXT PRIMARY KEY, available INTEGER NOT NULL,
                                  initial INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS reservations (order_id TEXT PRIMARY KEY, items TEXT NOT NULL,
                                         status TEXT NOT NULL);
"""


class InventoryService:
    def __init__(self, url: str) -> None:
        self.db = ServiceDb(url, SCHEMA)

    def restock(self, levels: dict[str, int]) -> None:
        self.db.executemany(
            "INSERT INTO stock (sku, available, initial) VALUES (?, ?, ?) ON CONFLICT (sku)"
            " DO UPDATE SET available = excluded.available, initial = excluded.initial",
            [(sku, n, n) for sku, n in levels.items()],
        )

    def reserve(self, event: Any, context: Any) -> dict[str, Any]:
        order = order_of(event)
        items = order.get("items") or []
        return dict(self.db.step(context.idempotency_key, lambda c: _reserve(c, order, items)))

    def release(self, event: Any, context: Any) -> dict[str, Any]:
        order_id = order_of(event)["orderId"]
        return dict(self.db.step(context.idempotency_key, lambda c: _release(c, order_id)))


def _reserve(conn: SqlConnection, order: dict[str, Any], items: list[Any]) -> dict[str, Any]:
    order_id = order["orderId"]
    row = conn.execute("SELECT status FROM reservations WHERE order_id = ?", (order_id,)).fetchone()
    if row is not None:  # reserved by an earlier attempt: the decrement is not repeated
        return {"reservation": order_id, "status": row[0]}
    # Rows are locked in SKU order: two orders of the same SKUs in another order would
    # deadlock on PostgreSQL (each holding the row the other waits for).
    for item in sorted(items, key=lambda i: str(i["sku"])):
        # The conditional decrement: it applies only while enough stock is left.
        updated = conn.execute(
            "UPDATE stock SET available = available - ? WHERE sku = ? AND available >= ?",
            (item["qty"], item["sku"], item["qty"]),
        ).rowcount
        if updated != 1:
            raise OutOfStock(f"{item['sku']}: fewer than {item['qty']} left")
    conn.execute(
        "INSERT INTO reservations VALUES (?, ?, 'RESERVED')", (order_id, json.dumps(items))
    )
    return {"reservation": order_id, "status": "RESERVED"}


def _release(conn: SqlConnection, order_id: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT items, status FROM reservations WHERE order_id = ?", (order_id,)
    ).fetchone()
    if row is None or row[1] != "RESERVED":
        return {"reservation": order_id, "status": "NOTHING_TO_RELEASE" if row is None else row[1]}
    for item in sorted(json.loads(row[0]), key=lambda i: str(i["sku"])):  # as _reserve
        conn.execute("UPDATE stock SET available = available + ? WHERE sku = ?",
                     (item["qty"], item["sku"]))  # fmt: skip
    conn.execute("UPDATE reservations SET status = 'RELEASED' WHERE order_id = ?", (order_id,))
    return {"reservation": order_id, "status": "RELEASED"}
