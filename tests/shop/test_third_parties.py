"""The simulated payment gateway and courier behave like the real services they stand in
for: API keys, idempotency keys, conflicts, lost answers after the work was done, injected
failures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shop.config import ShopConfig
from shop.courier import Courier
from shop.errors import CourierTimeout, GatewayTimeout, PaymentDeclined, ServiceUnavailable
from shop.gateway import IdempotencyConflict, PaymentGateway, ThirdPartyBehaviour

CARD = "4242424242424242"
KEY = "key-issued-to-the-shop"


_OPEN: list[PaymentGateway | Courier] = []


@pytest.fixture(autouse=True)
def _close() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def _gateway(config: ShopConfig, **behaviour: float) -> PaymentGateway:
    # Each test runs on SQLite and on PostgreSQL (the shop_config fixture).
    behaves = ThirdPartyBehaviour(**behaviour)  # type: ignore[arg-type]
    gateway = PaymentGateway(config.url("gateway"), behaves, api_key=KEY)
    _OPEN.append(gateway)
    return gateway


def _courier(config: ShopConfig, outage: float = 0.0) -> Courier:
    courier = Courier(config.url("courier"), api_key=KEY, outage=outage)
    _OPEN.append(courier)
    return courier


def test_same_key_same_request_answers_the_stored_response_once(shop_config: ShopConfig) -> None:
    gateway = _gateway(shop_config)
    first = gateway.authorize(
        "o1-authorize", "o1", 40.0, gateway.tokenize(CARD, api_key=KEY), api_key=KEY
    )
    again = gateway.authorize(
        "o1-authorize", "o1", 40.0, gateway.tokenize(CARD, api_key=KEY), api_key=KEY
    )
    assert again == first
    captured = gateway.capture("o1-capture", first["charge"], api_key=KEY)
    assert gateway.capture("o1-capture", first["charge"], api_key=KEY) == captured
    count = gateway._conn.execute("SELECT count(*), sum(captured) FROM charges").fetchone()
    assert count == (1, 40.0)  # one charge, captured once


def test_same_key_with_another_request_is_a_conflict(shop_config: ShopConfig) -> None:
    gateway = _gateway(shop_config)
    gateway.authorize("o1-authorize", "o1", 40.0, gateway.tokenize(CARD, api_key=KEY), api_key=KEY)
    with pytest.raises(IdempotencyConflict):
        gateway.authorize(
            "o1-authorize", "o1", 41.0, gateway.tokenize(CARD, api_key=KEY), api_key=KEY
        )


def test_a_timeout_loses_the_answer_but_the_work_is_done(shop_config: ShopConfig) -> None:
    gateway = _gateway(shop_config, timeout_rate=1.0)
    with pytest.raises(GatewayTimeout):
        gateway.authorize(
            "o1-authorize", "o1", 40.0, gateway.tokenize(CARD, api_key=KEY), api_key=KEY
        )
    found = gateway.lookup("o1-authorize", api_key=KEY)
    assert found is not None and found["status"] == "AUTHORIZED"


def test_a_503_does_nothing(shop_config: ShopConfig) -> None:
    gateway = _gateway(shop_config, error_rate=1.0)
    with pytest.raises(ServiceUnavailable):
        gateway.authorize(
            "o1-authorize", "o1", 40.0, gateway.tokenize(CARD, api_key=KEY), api_key=KEY
        )
    assert gateway.lookup("o1-authorize", api_key=KEY) is None


def test_declined_card_and_refund_only_after_capture(shop_config: ShopConfig) -> None:
    gateway = _gateway(shop_config)
    with pytest.raises(PaymentDeclined):
        gateway.authorize(
            "o2-authorize",
            "o2",
            10.0,
            gateway.tokenize("4000000000000002", api_key=KEY),
            api_key=KEY,
        )
    charge = gateway.authorize(
        "o3-authorize", "o3", 10.0, gateway.tokenize(CARD, api_key=KEY), api_key=KEY
    )["charge"]
    assert gateway.refund("o3-refund", charge, api_key=KEY)["noop"] is True  # nothing captured yet
    assert gateway.void("o3-void", charge, api_key=KEY)["status"] == "VOIDED"


def test_courier_books_once_per_key_and_cancels_by_reference(shop_config: ShopConfig) -> None:
    courier = _courier(shop_config)
    booked = courier.book("o1-book", "o1", "1 Main St", api_key=KEY)
    assert courier.book("o1-book", "o1", "1 Main St", api_key=KEY) == booked
    assert courier.cancel("o1", api_key=KEY)["status"] == "CANCELLED"
    assert courier.cancel("o1", api_key=KEY)["status"] == "CANCELLED"  # idempotent
    status = courier._conn.execute("SELECT status FROM bookings WHERE reference = 'o1'")
    assert status.fetchone() == ("CANCELLED",)


def test_courier_outage_times_out_every_call_for_its_references(shop_config: ShopConfig) -> None:
    courier = _courier(shop_config, outage=1.0)
    with pytest.raises(CourierTimeout):
        courier.book("o1-book", "o1", "1 Main St", api_key=KEY)
    assert courier._conn.execute("SELECT count(*) FROM bookings").fetchone() == (0,)
