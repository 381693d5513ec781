"""The notifications service: the confirmation email (not compensable, so the saga's last
step: an email cannot be unsent). One email per order and kind, however often invoked."""

from __future__ import annotations

from typing import Any

from shop.services.base import ServiceDb, order_of

SCHEMA = """
CREATE TABLE IF NOT EXISTS emails (order_id TEXT NOT NULL, kind TEXT NOT NULL,
                                   recipient TEXT NOT NULL, PRIMARY KEY (order_id, kind));
"""


class NotificationsService:
    def __init__(self, url: str) -> None:
        self.db = ServiceDb(url, SCHEMA)

    def send_confirmation(self, event: Any, context: Any) -> dict[str, Any]:
        order = order_of(event)
        row = (order["orderId"], "confirmation", str(order.get("customerId", "")))

        def work(conn: Any) -> dict[str, Any]:
            conn.execute("INSERT INTO emails VALUES (?, ?, ?) ON CONFLICT DO NOTHING", row)
            return {"sent": "confirmation"}

        return dict(self.db.step(context.idempotency_key, work))
