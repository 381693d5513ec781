"""The intake over real HTTP on loopback: auth, idempotency, validation, limits, problem+json."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest
import uvicorn

from shop.config import ShopConfig
from shop.gateway import PaymentGateway
from shop.intake import IntakeSettings, create_app, dev_token
from shop.services.orders import OrdersService

CARD = "4242424242424242"
CART = {"items": [{"sku": "tee", "qty": 2, "price": 25.0}], "card": CARD, "address": "1 Main St"}
SETTINGS = IntakeSettings(rate=1, burst=5, allow_dev_key=True, operators=frozenset({"ops"}))


@pytest.fixture
def base(tmp_path: Path) -> Iterator[str]:
    yield from serve(tmp_path, SETTINGS)


@pytest.fixture
def base_on_both(shop_config: ShopConfig) -> Iterator[str]:
    """The intake on SQLite and on PostgreSQL (orders, gateway and journal there)."""
    yield from serve(shop_config.workdir, SETTINGS, shop_config)


def serve(
    tmp_path: Path, settings: IntakeSettings, config: ShopConfig | None = None
) -> Iterator[str]:
    config = config or ShopConfig(workdir=tmp_path)
    orders = OrdersService(config.url("orders"))
    gateway = PaymentGateway(config.url("gateway"), api_key="k")
    tokenize = partial(gateway.tokenize, api_key="k")
    app = create_app(orders, config.journal_url, settings, tokenize)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.02)
    yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    server.should_exit = True
    thread.join(5)
    orders.db.close()
    gateway.close()


def auth(client: str = "shop-a") -> dict[str, str]:
    return {"Authorization": f"Bearer {dev_token(client)}"}


def test_accepts_an_order_and_shows_it(base_on_both: str) -> None:
    base = base_on_both
    r = httpx.post(f"{base}/orders", json=CART, headers={**auth(), "Idempotency-Key": "k1"})
    assert r.status_code == 202
    order_id = r.json()["orderId"]
    assert r.headers["location"] == f"/orders/{order_id}"
    again = httpx.post(f"{base}/orders", json=CART, headers={**auth(), "Idempotency-Key": "k1"})
    assert (again.status_code, again.json()["orderId"]) == (202, order_id)
    shown = httpx.get(f"{base}/orders/{order_id}", headers=auth()).json()
    assert (shown["status"], shown["order"]["total"], shown["steps"]) == ("PENDING", 50.0, [])
    assert shown["order"]["customerId"] == "shop-a"  # the token's subject
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


def post(base: str, body: object, client: str = "shop-a", key: str = "k") -> httpx.Response:
    return httpx.post(f"{base}/orders", json=body, headers={**auth(client), "Idempotency-Key": key})


def test_prices_and_totals_come_from_the_catalog(base: str) -> None:
    cheap = {**CART, "items": [{"sku": "hoodie", "qty": 1, "price": 0.01}]}
    refused = post(base, cheap, key="cheap")
    assert refused.status_code == 422
    assert refused.json()["errors"] == ["/items/0/price: the catalog price of hoodie is 59.0"]
    unknown = post(base, {**CART, "items": [{"sku": "yacht", "qty": 1}]}, key="yacht")
    assert unknown.json()["errors"] == ["/items/0/sku: 'yacht' is not in the catalog"]
    priceless = post(base, {**CART, "items": [{"sku": "hoodie", "qty": 2}]}, key="ok")
    order_id = priceless.json()["orderId"]
    shown = httpx.get(f"{base}/orders/{order_id}", headers=auth()).json()
    assert shown["order"]["total"] == 118.0


def test_the_customer_is_the_token_subject(base: str) -> None:
    other = post(base, {**CART, "customerId": "someone-else"}, key="theirs")
    assert (other.status_code, other.json()["detail"]) == (
        403, "customerId must be the token's subject")  # fmt: skip
    assert post(base, {**CART, "customerId": "shop-a"}, key="mine").status_code == 202


@pytest.mark.parametrize("number", ["1e400", "-1e400", "NaN", "Infinity", "1" * 401, "1" * 16])
def test_out_of_range_numbers_are_422(base: str, number: str) -> None:
    body = '{"items": [{"sku": "tee", "qty": NUMBER}], "points": 0}'.replace("NUMBER", number)
    headers = {**auth(), "Idempotency-Key": "n", "Content-Type": "application/json"}
    r = httpx.post(f"{base}/orders", content=body, headers=headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"


def test_the_card_number_is_never_stored_or_shown(base: str, tmp_path: Path) -> None:
    order_id = post(base, CART, key="card").json()["orderId"]
    shown = httpx.get(f"{base}/orders/{order_id}", headers=auth())
    order = shown.json()["order"]
    assert order["cardLast4"] == "4242" and order["cardToken"].startswith("tok_")
    assert CARD not in shown.text
    for db in ("orders.db", "orders.db-wal"):
        path = tmp_path / db
        assert not path.exists() or CARD.encode() not in path.read_bytes()


def test_an_order_is_shown_only_to_its_customer_or_an_operator(base: str) -> None:
    order_id = post(base, CART, key="own").json()["orderId"]
    url = f"{base}/orders/{order_id}"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers=auth("nosy")).status_code == 404
    assert httpx.get(url, headers=auth("ops")).status_code == 200
    assert httpx.get(url, headers=auth("shop-a")).status_code == 200


def test_tokens_must_expire_and_the_dev_key_needs_leave(base: str, tmp_path: Path) -> None:
    import jwt

    from shop.tokens import DEV_KEY, NoSigningKey, TokenVerifier

    forever = jwt.encode({"sub": "shop-a"}, DEV_KEY, algorithm="HS256")
    headers = {"Authorization": f"Bearer {forever}", "Idempotency-Key": "f"}
    r = httpx.post(f"{base}/orders", json=CART, headers=headers)
    assert r.status_code == 401 and "exp" in r.json()["detail"]
    with pytest.raises(NoSigningKey):
        TokenVerifier()
    verifier = TokenVerifier("a-real-secret-key-of-32-bytes-or-more!", issuer="shop-idp")
    with pytest.raises(jwt.PyJWTError):
        verifier.subject(dev_token("shop-a"))  # the dev key does not sign for a real key
    real = dev_token("shop-a", "a-real-secret-key-of-32-bytes-or-more!", iss="shop-idp")
    assert verifier.subject(real) == "shop-a"


def test_minting_new_subjects_does_not_get_around_the_overall_limit(tmp_path: Path) -> None:
    settings = IntakeSettings(rate=100, burst=100, total_rate=1, total_burst=3,
                              allow_dev_key=True)  # fmt: skip
    for base in serve(tmp_path, settings):
        codes = [post(base, CART, client=f"sub-{n}", key=f"s{n}").status_code for n in range(6)]
        assert codes[:3] == [202] * 3 and 429 in codes[3:]
