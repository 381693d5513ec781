"""The payments service: charges through the gateway with per-order idempotency keys.

AuthorizePayment authorizes then captures (the shop charges at checkout, as in seed 001).
The gateway keys are the order's, not the attempt's, so a retry, a crash re-invocation or a
redrive can never charge twice. RefundPayment asks the gateway what it holds for the order
(the local row may be missing if we crashed right after the gateway answered): it voids an
authorization that was not captured and refunds a capture. Every call presents the
gateway's API key, given by the shop's secret provider (``gateway-api-key``), never logged."""

from __future__ import annotations

from typing import Any

from shop.errors import PaymentDeclined
from shop.gateway import PaymentGateway
from shop.services.base import ServiceDb, order_of
from shop.sql import SqlConnection

SCHEMA = """
CREATE TABLE IF NOT EXISTS payments (order_id TEXT PRIMARY KEY, charge_id TEXT NOT NULL,
                                     amount REAL NOT NULL, status TEXT NOT NULL);
"""


def card_token(order: dict[str, Any], gateway: PaymentGateway, api_key: str | None) -> str:
    """The intake's orders carry the gateway's token; an execution an operator started
    directly may carry the number, which is tokenized here on its way to the gateway."""
    token = order.get("cardToken")
    if isinstance(token, str) and token:
        return token
    number = str(order.get("card") or "")
    return gateway.tokenize(number, api_key=api_key) if number else ""


class PaymentsService:
    def __init__(self, url: str, gateway: PaymentGateway, api_key: str | None) -> None:
        self.db = ServiceDb(url, SCHEMA)
        self.gateway = gateway
        self._api_key = api_key

    def authorize(self, event: Any, context: Any) -> dict[str, Any]:
        order = order_of(event)
        order_id, amount = order["orderId"], float(order.get("total") or 0)
        card = card_token(order, self.gateway, self._api_key)
        if not card:
            raise PaymentDeclined(f"order {order_id}: no card number")
        charge = self.gateway.authorize(
            f"{order_id}-authorize", order_id, amount, card, api_key=self._api_key
        )
        try:
            self.gateway.capture(f"{order_id}-capture", charge["charge"], api_key=self._api_key)
        except PaymentDeclined:
            self.gateway.void(
                f"{order_id}-void", charge["charge"], api_key=self._api_key
            )  # leave nothing held
            raise
        record = (order_id, charge["charge"], amount, "CAPTURED")
        return dict(self.db.step(context.idempotency_key, lambda c: _record(c, record)))

    def refund(self, event: Any, context: Any) -> dict[str, Any]:
        order_id = order_of(event)["orderId"]
        charge = self.gateway.lookup(f"{order_id}-authorize", api_key=self._api_key)
        if charge is None:
            return {"orderId": order_id, "status": "NOTHING_TO_REFUND"}
        if charge["status"] == "AUTHORIZED":
            self.gateway.void(f"{order_id}-void", charge["id"], api_key=self._api_key)
            status = "VOIDED"
        elif charge["status"] == "CAPTURED":
            self.gateway.refund(f"{order_id}-refund", charge["id"], api_key=self._api_key)
            status = "REFUNDED"
        else:
            status = charge["status"]
        record = (order_id, charge["id"], charge["amount"], status)
        return dict(self.db.step(context.idempotency_key, lambda c: _record(c, record)))


def _record(conn: SqlConnection, record: tuple[str, str, float, str]) -> dict[str, Any]:
    conn.execute(
        "INSERT INTO payments VALUES (?, ?, ?, ?) ON CONFLICT (order_id) DO UPDATE SET"
        " charge_id = excluded.charge_id, amount = excluded.amount, status = excluded.status",
        record,
    )
    return {"orderId": record[0], "charge": record[1], "status": record[3]}
