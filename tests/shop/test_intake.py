"""The intake over real HTTP on loopback: auth, idempotency, validation, limits, problem+json."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from shop.intake import IntakeSettings, create_app, dev_token
from shop.services.orders import OrdersService

CART = {"customerId": "c1", "items": [{"sku": "tee", "qty": 2, "price": 25.0}],
        "card": "4242424242424242", "address": "1 Main St"}  # fmt: skip


@pytest.fixture
def base(tmp_path: Path) -> Iterator[str]:
    orders = OrdersService(f"sqlite:///{tmp_path / 'orders.db'}")
    app = create_app(
        orders, f"sqlite:///{tmp_path / 'sagaway.db'}", IntakeSettings(rate=1, burst=5)
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.02)
    yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    server.should_exit = True
    thread.join(5)


def auth(client: str = "shop-a") -> dict[str, str]:
    return {"Authorization": f"Bearer {dev_token(client)}"}


def test_accepts_an_order_and_shows_it(base: str) -> None:
    r = httpx.post(f"{base}/orders", json=CART, headers={**auth(), "Idempotency-Key": "k1"})
    assert r.status_code == 202
    order_id = r.json()["orderId"]
    assert r.headers["location"] == f"/orders/{order_id}"
    again = httpx.post(f"{base}/orders", json=CART, headers={**auth(), "Idempotency-Key": "k1"})
    assert (again.status_code, again.json()["orderId"]) == (202, order_id)
    shown = httpx.get(f"{base}/orders/{order_id}").json()
    assert (shown["status"], shown["order"]["total"], shown["steps"]) == ("PENDING", 50.0, [])
    assert "shop_orders" in httpx.get(f"{base}/metrics").text


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({}, CART, 401),
        ({"Authorization": "Bearer not.a.jwt", "Idempotency-Key": "x"}, CART, 401),
        ({"Idempotency-Key": None}, CART, 400),
        ({"Idempotency-Key": "bad"}, {**CART, "items": []}, 422),
        ({"Idempotency-Key": "big"}, {**CART, "address": "x" * 70_000}, 413),
    ],
)
def test_problems(base: str, headers: dict[str, str | None], body: object, status: int) -> None:
    sent = {**auth(), **{k: v for k, v in headers.items() if v is not None}}
    if "Idempotency-Key" in headers and headers["Idempotency-Key"] is None:
        sent.pop("Idempotency-Key", None)
    if not headers:
        sent = {"Idempotency-Key": "k"}
    r = httpx.post(f"{base}/orders", json=body, headers=sent)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == status


def test_reused_key_with_another_cart_is_409(base: str) -> None:
    httpx.post(f"{base}/orders", json=CART, headers={**auth(), "Idempotency-Key": "k2"})
    r = httpx.post(f"{base}/orders", json={**CART, "address": "elsewhere"},
                   headers={**auth(), "Idempotency-Key": "k2"})  # fmt: skip
    assert r.status_code == 409


def test_rate_limit_per_client_is_429(base: str) -> None:
    codes = [httpx.post(f"{base}/orders", json=CART, headers={**auth("greedy"), "Idempotency-Key": f"r{n}"}).status_code  # noqa: E501
             for n in range(8)]  # fmt: skip
    assert 429 in codes and codes[0] == 202
    other = httpx.post(
        f"{base}/orders", json=CART, headers={**auth("polite"), "Idempotency-Key": "p"}
    )
    assert other.status_code == 202
