"""The loyalty service: a points ledger per customer (burn at checkout, restore on undo)."""

from __future__ import annotations

from typing import Any

from shop.errors import InsufficientPoints
from shop.services.base import ServiceDb, order_of
from shop.sql import SqlConnection

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (customer_id TEXT PRIMARY KEY, balance INTEGER NOT NULL,
                                     initial INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS ledger (order_id TEXT NOT NULL, kind TEXT NOT NULL,
                                   customer_id TEXT NOT NULL, points INTEGER NOT NULL,
                                   PRIMARY KEY (order_id, kind));
"""


class LoyaltyService:
    def __init__(self, url: str) -> None:
        self.db = ServiceDb(url, SCHEMA)

    def open_accounts(self, balances: dict[str, int]) -> None:
        self.db.executemany(
            "INSERT INTO accounts VALUES (?, ?, ?) ON CONFLICT (customer_id)"
            " DO UPDATE SET balance = excluded.balance, initial = excluded.initial",
            [(c, n, n) for c, n in balances.items()],
        )

    def burn(self, event: Any, context: Any) -> dict[str, Any]:
        order = order_of(event)
        return dict(self.db.step(context.idempotency_key, lambda c: _burn(c, order)))

    def restore(self, event: Any, context: Any) -> dict[str, Any]:
        order = order_of(event)
        return dict(self.db.step(context.idempotency_key, lambda c: _restore(c, order)))


def _burn(conn: SqlConnection, order: dict[str, Any]) -> dict[str, Any]:
    order_id, customer = order["orderId"], str(order.get("customerId", ""))
    points = int(order.get("points") or 0)
    if conn.execute("SELECT 1 FROM ledger WHERE order_id = ? AND kind = 'BURN'",
                    (order_id,)).fetchone():  # fmt: skip
        return {"burned": points}
    if points:
        updated = conn.execute(
            "UPDATE accounts SET balance = balance - ? WHERE customer_id = ? AND balance >= ?",
            (points, customer, points),
        ).rowcount
        if updated != 1:
            raise InsufficientPoints(f"customer {customer} cannot redeem {points} points")
    conn.execute("INSERT INTO ledger VALUES (?, 'BURN', ?, ?)", (order_id, customer, points))
    return {"burned": points}


def _restore(conn: SqlConnection, order: dict[str, Any]) -> dict[str, Any]:
    order_id = order["orderId"]
    burn = conn.execute(
        "SELECT customer_id, points FROM ledger WHERE order_id = ? AND kind = 'BURN'", (order_id,)
    ).fetchone()
    done = conn.execute(
        "SELECT 1 FROM ledger WHERE order_id = ? AND kind = 'RESTORE'", (order_id,)
    ).fetchone()
    if burn is None or done is not None:
        return {"restored": 0}
    conn.execute("UPDATE accounts SET balance = balance + ? WHERE customer_id = ?",
                 (burn[1], burn[0]))  # fmt: skip
    conn.execute("INSERT INTO ledger VALUES (?, 'RESTORE', ?, ?)", (order_id, burn[0], burn[1]))
    return {"restored": burn[1]}
