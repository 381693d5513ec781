"""The shipping service: books and cancels courier slots, presenting the courier's API key
(the secret ``courier-api-key``, given by the shop's secret provider)."""

from __future__ import annotations

from typing import Any

from shop.courier import Courier
from shop.errors import InvalidAddress
from shop.services.base import ServiceDb, order_of
from shop.sql import SqlConnection

SCHEMA = """
CREATE TABLE IF NOT EXISTS shipments (order_id TEXT PRIMARY KEY, booking TEXT,
                                      status TEXT NOT NULL);
"""


class ShippingService:
    def __init__(self, url: str, courier: Courier, api_key: str | None) -> None:
        self.db = ServiceDb(url, SCHEMA)
        self.courier = courier
        self._api_key = api_key

    def book(self, event: Any, context: Any) -> dict[str, Any]:
        order = order_of(event)
        order_id, address = order["orderId"], str(order.get("address") or "")
        if not address:
            raise InvalidAddress(f"order {order_id}: no delivery address")
        booking = self.courier.book(f"{order_id}-book", order_id, address, api_key=self._api_key)
        row = (order_id, booking["booking"], "BOOKED")
        return dict(self.db.step(context.idempotency_key, lambda c: _record(c, row)))

    def cancel(self, event: Any, context: Any) -> dict[str, Any]:
        order_id = order_of(event)["orderId"]
        # By reference: a booking whose answer timed out is cancelled too.
        self.courier.cancel(order_id, api_key=self._api_key)
        row = (order_id, None, "CANCELLED")
        return dict(self.db.step(context.idempotency_key, lambda c: _record(c, row)))


def _record(conn: SqlConnection, row: tuple[str, str | None, str]) -> dict[str, Any]:
    conn.execute(
        "INSERT INTO shipments VALUES (?, ?, ?) ON CONFLICT (order_id) DO UPDATE SET"
        " status = excluded.status, booking = coalesce(excluded.booking, shipments.booking)",
        row,
    )
    return {"orderId": row[0], "booking": row[1], "status": row[2]}
