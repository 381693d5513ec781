"""The orders service: the order record and its status, the intake's writes, the saga's
CreateOrder / CancelOrder / ConfirmOrder steps, and parking (dead letter + NEEDS_REVIEW)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from sagaway import make_event
from shop.errors import InvalidOrder
from shop.outbox import put_dead_letter, write_event
from shop.services.base import ServiceDb, order_of
from shop.sql import SqlConnection

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, status TEXT NOT NULL,
    total REAL, document TEXT NOT NULL, submitted REAL NOT NULL, confirmed REAL,
    finished REAL
);
CREATE INDEX IF NOT EXISTS orders_by_status ON orders (status);
CREATE TABLE IF NOT EXISTS intake_keys (
    client TEXT NOT NULL, key TEXT NOT NULL, request TEXT NOT NULL, order_id TEXT NOT NULL,
    PRIMARY KEY (client, key)
);
"""
SOURCE = "shop.orders"
FINAL = ("CONFIRMED", "CANCELLED_COMPENSATED", "NEEDS_REVIEW")


Tokenize = Callable[[str], str]


class OrdersService:
    def __init__(self, url: str, tokenize: Tokenize | None = None) -> None:
        """``tokenize``: the payment gateway's, for card numbers in directly started orders."""
        self.tokenize = tokenize
        self.db = ServiceDb(url, SCHEMA)
        self.url = url

    # -- intake ----------------------------------------------------------------------------
    def submit(self, client: str, key: str, order: dict[str, Any]) -> tuple[str, bool]:
        """Write the order PENDING and ``OrderSubmitted`` in one transaction. Returns the
        order id and whether it is new; the same key with another request raises."""
        order = redact_cards(order, self.tokenize)  # the intake already did: in depth
        # The cart is what the key protects; the id and time are minted per request.
        cart = {k: v for k, v in order.items() if k not in ("orderId", "submittedAt")}
        request = json.dumps(cart, sort_keys=True)
        with self.db.transaction() as conn:
            order_id = order["orderId"]
            # Insert first: of two intakes given one key at once, one inserts and the other
            # (on PostgreSQL, after waiting for the first to commit) reads its order.
            inserted = conn.execute(
                "INSERT INTO intake_keys VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (client, key, request, order_id),
            ).rowcount
            if inserted != 1:
                row = conn.execute(
                    "SELECT request, order_id FROM intake_keys WHERE client = ? AND key = ?",
                    (client, key),
                ).fetchone()
                if row[0] != request:
                    raise KeyError(key)
                return str(row[1]), False
            _insert(conn, order, "PENDING")
            write_event(conn, make_event(SOURCE, "OrderSubmitted", {"orderId": order_id, "order": order},  # noqa: E501
                                         event_id=f"{order_id}-submitted"))  # fmt: skip
        return order_id, True

    def get(self, order_id: str) -> dict[str, Any] | None:
        rows = self.db.query(
            "SELECT status, document, submitted, confirmed, finished FROM orders WHERE order_id = ?",  # noqa: E501
            (order_id,),
        )
        if not rows:
            return None
        status, document, submitted, confirmed, finished = rows[0]
        return {"orderId": order_id, "status": status, "order": json.loads(document),
                "submitted": submitted, "confirmed": confirmed, "finished": finished}  # fmt: skip

    # -- saga steps ------------------------------------------------------------------------
    def create_order(self, event: Any, context: Any) -> dict[str, Any]:
        order = order_of(event)
        _validate(order)

        def work(conn: SqlConnection) -> dict[str, Any]:
            if not _exists(conn, order["orderId"]):
                # Started directly, not through the intake.
                _insert(conn, redact_cards(order, self.tokenize), "CREATED")
            else:
                _set_status(conn, order["orderId"], "CREATED", only_from=("PENDING",))
            return {"orderId": order["orderId"], "status": "CREATED"}

        return dict(self.db.step(context.idempotency_key, work))

    def cancel_order(self, event: Any, context: Any) -> dict[str, Any]:
        order = order_of(event)
        return dict(
            self.db.step(
                context.idempotency_key,
                # OrderFailed is the saga's next step (a putEvents Task, journaled).
                lambda conn: _finish(conn, order, "CANCELLED_COMPENSATED"),
            )
        )

    def confirm_order(self, event: Any, context: Any) -> dict[str, Any]:
        order = order_of(event)
        return dict(
            self.db.step(
                context.idempotency_key,
                # OrderConfirmed is the saga's next step (a putEvents Task, journaled).
                lambda conn: _finish(conn, order, "CONFIRMED"),
            )
        )

    def park(self, event: Any, context: Any) -> dict[str, Any]:
        """The saga's dead-letter Task: the step's message into its DLQ and the order to
        NEEDS_REVIEW, atomically."""
        document, error = event["document"], event.get("error") or {}
        order = order_of(document)

        def work(conn: SqlConnection) -> dict[str, Any]:
            message_id = f"{event['execution']}#{event['step']}"
            message = {"step": event["step"], "execution": event["execution"],
                       "document": redact_cards(document, self.tokenize)}  # fmt: skip
            put_dead_letter(conn, event["queue"], message_id, message,
                                   str(error.get("Error", "")), str(error.get("Cause", "")))  # fmt: skip  # noqa: E501
            _finish(conn, order, "NEEDS_REVIEW", ("OrderNeedsReview", {"step": event["step"]}))
            return {"parked": event["step"]}

        return dict(self.db.step(context.idempotency_key, work))

    def unpark(self, order_id: str, document: dict[str, Any]) -> None:
        """A redriven order leaves NEEDS_REVIEW before its saga resumes: CONFIRMED again if it
        had been confirmed (only the confirmation e-mail was left, and no later step would
        set it back), otherwise RESUMED until the resumed saga confirms, cancels or re-parks."""
        confirmed = "ConfirmOrder" in (document.get("results") or {})
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE orders SET status = ? WHERE order_id = ? AND status = 'NEEDS_REVIEW'",
                ("CONFIRMED" if confirmed else "RESUMED", order_id),
            )


def redact_cards(value: Any, tokenize: Tokenize | None) -> Any:
    """``value`` with every ``card`` number swapped for the gateway's token (when there is a
    gateway to ask) and its last four digits: a number an operator put in a directly started
    execution is kept nowhere in the shop's databases, and the order can still be paid."""
    if isinstance(value, list):
        return [redact_cards(v, tokenize) for v in value]
    if not isinstance(value, dict):
        return value
    redacted = {k: redact_cards(v, tokenize) for k, v in value.items() if k != "card"}
    number = value.get("card")
    if isinstance(number, str) and number:
        redacted["cardLast4"] = number[-4:]
        if tokenize is not None:
            redacted["cardToken"] = tokenize(number)
    return redacted


def _validate(order: dict[str, Any]) -> None:
    total = order.get("total")
    if isinstance(total, bool) or not isinstance(total, int | float) or total < 0:
        raise InvalidOrder(f"order {order.get('orderId')}: total is missing or not a number")
    if not isinstance(order.get("items", []), list):
        raise InvalidOrder(f"order {order.get('orderId')}: items must be a list")


def _exists(conn: SqlConnection, order_id: str) -> bool:
    return (
        conn.execute("SELECT 1 FROM orders WHERE order_id = ?", (order_id,)).fetchone() is not None
    )


def _insert(conn: SqlConnection, order: dict[str, Any], status: str) -> None:
    submitted = order.get("submittedAt") or time.time()
    conn.execute(
        "INSERT INTO orders (order_id, customer_id, status, total, document, submitted)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (order["orderId"], order.get("customerId", ""), status, order.get("total"),
         json.dumps(redact_cards(order, None)), submitted),
    )  # fmt: skip


def _set_status(
    conn: SqlConnection, order_id: str, status: str, only_from: tuple[str, ...] | None = None
) -> bool:
    sql = "UPDATE orders SET status = ? WHERE order_id = ?"
    args: tuple[Any, ...] = (status, order_id)
    if only_from:
        sql += f" AND status IN ({','.join('?' * len(only_from))})"
        args += only_from
    return conn.execute(sql, args).rowcount == 1


def _finish(
    conn: SqlConnection,
    order: dict[str, Any],
    status: str,
    announce: tuple[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Set the order's final status; ``announce``: the event (type, detail) to write to the
    outbox with it."""
    order_id = order["orderId"]
    if not _exists(conn, order_id):
        _insert(conn, order, status)
    row = conn.execute(
        "SELECT status FROM orders WHERE order_id = ? FOR UPDATE", (order_id,)
    ).fetchone()
    now = time.time()
    if row[0] != status:
        conn.execute(
            "UPDATE orders SET status = ?, finished = ?, confirmed = CASE WHEN ? = 'CONFIRMED'"
            " THEN ? ELSE confirmed END WHERE order_id = ?",
            (status, now, status, now, order_id),
        )
        if announce is not None:
            event, detail = announce
            body = {"orderId": order_id, "status": status, **detail}
            event_id = f"{order_id}-{event}-{now}"
            write_event(conn, make_event(SOURCE, event, body, event_id=event_id))
    return {"orderId": order_id, "status": status}
