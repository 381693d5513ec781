"""Each service's steps on SQLite and on PostgreSQL (the shop_config fixture): one local
transaction per step, a repeated invocation (same idempotency key) does nothing twice, and
each compensation undoes exactly its step."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from shop.config import ShopConfig
from shop.errors import OutOfStock
from shop.outbox import DeadLetters
from shop.system import Shop
from tests.shop.kit import order


@dataclass(frozen=True)
class Context:
    """What the engine gives a handler: the attempt's idempotency key."""

    idempotency_key: str


@pytest.fixture
def shop(shop_config: ShopConfig) -> Iterator[Shop]:
    shop = Shop(shop_config)
    shop.inventory.restock({"hoodie": 3})
    shop.loyalty.open_accounts({"c1": 100})
    yield shop
    shop.close()


def _doc(order_id: str, **changes: Any) -> dict[str, Any]:
    return {"order": order(order_id, **changes), "results": {}}


def test_inventory_reserves_once_and_releases_once(shop: Shop) -> None:
    doc = _doc("o-1", items=[{"sku": "hoodie", "qty": 2, "price": 20.0}])
    first = shop.inventory.reserve(doc, Context("o-1#reserve"))
    assert shop.inventory.reserve(doc, Context("o-1#reserve")) == first
    assert shop.inventory.reserve(doc, Context("o-1#reserve-again")) == first  # per order too
    assert shop.inventory.db.query("SELECT available FROM stock") == [(1,)]
    with pytest.raises(OutOfStock):  # the conditional decrement: 1 left, 2 asked
        shop.inventory.reserve(_doc("o-2", items=[{"sku": "hoodie", "qty": 2}]), Context("k2"))
    shop.inventory.release(doc, Context("o-1#release"))
    shop.inventory.release(doc, Context("o-1#release-again"))
    assert shop.inventory.db.query("SELECT available FROM stock") == [(3,)]


def test_payments_and_loyalty_undo_exactly_their_step(shop: Shop) -> None:
    doc = _doc("o-1", points=30)
    shop.payments.authorize(doc, Context("o-1#pay"))
    shop.payments.authorize(doc, Context("o-1#pay-retry"))  # the gateway's key: one charge
    shop.loyalty.burn(doc, Context("o-1#burn"))
    shop.loyalty.burn(doc, Context("o-1#burn-retry"))
    assert shop.loyalty.db.query("SELECT balance FROM accounts") == [(70,)]
    shop.payments.refund(doc, Context("o-1#refund"))
    shop.loyalty.restore(doc, Context("o-1#restore"))
    shop.loyalty.restore(doc, Context("o-1#restore-retry"))
    assert shop.loyalty.db.query("SELECT balance FROM accounts") == [(100,)]
    charges = shop.gateway._conn.execute("SELECT captured, refunded, status FROM charges")
    assert [tuple(r) for r in charges.fetchall()] == [(40.0, 40.0, "REFUNDED")]
    assert shop.payments.db.query("SELECT status FROM payments") == [("REFUNDED",)]


def test_orders_park_and_redrive_in_one_transaction_each(shop: Shop) -> None:
    doc = _doc("o-1")
    assert shop.orders.submit("c", "k1", order("o-1"))[1] is True
    assert shop.orders.submit("c", "k1", order("o-1"))[1] is False  # the intake's key
    shop.orders.create_order(doc, Context("o-1#create"))
    letter = {"document": doc, "step": "BookShipment", "queue": "BookShipment-dlq",
              "execution": "arn:x:o-1", "error": {"Error": "ServiceUnavailable"}}  # fmt: skip
    shop.orders.park(letter, Context("o-1#park"))
    shop.orders.park(letter, Context("o-1#park-retry"))  # one dead letter per message id
    record = shop.orders.get("o-1")
    assert record is not None and record["status"] == "NEEDS_REVIEW"
    dlq = DeadLetters(shop.config.url("orders"))
    try:
        (parked,) = dlq.list()
        assert (parked.queue, dlq.depth()) == ("BookShipment-dlq", {"BookShipment-dlq": 1})
        assert "card" not in parked.body["document"]["order"]  # the number is never kept
        dlq.redrive(parked.id)
        with pytest.raises(ValueError):
            dlq.redrive(parked.id)
        assert dlq.list() == [] and len(dlq.list(include_redriven=True)) == 1
    finally:
        dlq.close()
    types = [r[0] for r in shop.orders.db.query("SELECT body FROM event_outbox ORDER BY seq")]
    assert [t.split('"detail-type": "')[1].split('"')[0] for t in types] == [
        "OrderSubmitted", "OrderNeedsReview", "DeadLetterRedriven"]  # fmt: skip
    shop.orders.confirm_order(doc, Context("o-1#confirm"))
    record = shop.orders.get("o-1")
    assert record is not None and record["status"] == "CONFIRMED"


def test_one_attempt_run_twice_at_once_takes_effect_once(shop: Shop) -> None:
    """Two cluster members running one attempt together (a lease taken over from a slow
    member): the second waits for the first's transaction and answers its result."""
    import threading

    doc = _doc("o-1", items=[{"sku": "hoodie", "qty": 1, "price": 40.0}])
    results: list[Any] = []

    def reserve() -> None:
        results.append(shop.inventory.reserve(doc, Context("o-1#reserve")))

    threads = [threading.Thread(target=reserve) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(results) == 4 and all(r == results[0] for r in results)
    assert shop.inventory.db.query("SELECT available FROM stock") == [(2,)]
