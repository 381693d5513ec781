"""The intake with RS256 tokens checked against a JWKS: a real key set served over loopback
HTTP, tokens signed with freshly generated RSA keys, the key chosen by ``kid``, the set cached
(one fetch for many requests) and re-fetched when an unknown ``kid`` appears (key rotation)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from shop.gateway import PaymentGateway
from shop.intake import IntakeSettings, create_app, dev_token
from shop.services.orders import OrdersService
from shop.tokens import TokenVerifier

CART = {"items": [{"sku": "tee", "qty": 1, "price": 25.0}],
        "card": "4242424242424242", "address": "1 Main St"}  # fmt: skip


class KeySet:
    """A JWKS endpoint: the public halves of the keys it publishes, and a fetch count."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.fetches = 0

    def add(self, kid: str) -> rsa.RSAPrivateKey:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return self.keys[kid]

    def document(self) -> bytes:
        self.fetches += 1
        jwks = [{**RSAAlgorithm.to_jwk(k.public_key(), as_dict=True), "kid": kid, "use": "sig",
                 "alg": "RS256"} for kid, k in self.keys.items()]  # fmt: skip
        return json.dumps({"keys": jwks}).encode()


def serve_jwks(keys: KeySet) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = keys.document()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:  # quiet test output
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[str, KeySet]]:
    keys = KeySet()
    keys.add("k1")
    jwks = serve_jwks(keys)
    url = f"http://127.0.0.1:{jwks.server_address[1]}/.well-known/jwks.json"
    orders = OrdersService(f"sqlite:///{tmp_path / 'orders.db'}")
    settings = IntakeSettings(rate=100, burst=100, jwks_url=url, jwks_cooldown=0.2)
    gateway = PaymentGateway(f"sqlite:///{tmp_path / 'gateway.db'}", api_key="k")
    tokenize = partial(gateway.tokenize, api_key="k")
    app = create_app(orders, f"sqlite:///{tmp_path / 'sagaway.db'}", settings, tokenize)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.02)
    yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}", keys
    server.should_exit = True
    thread.join(5)
    jwks.shutdown()
    jwks.server_close()


def token(keys: KeySet, kid: str, sub: str = "storefront", **claims: Any) -> str:
    body = {"sub": sub, "exp": int(time.time()) + 300, **claims}
    return jwt.encode(body, keys.keys[kid], algorithm="RS256", headers={"kid": kid})


def post(base: str, bearer: str, key: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {bearer}", "Idempotency-Key": key}
    return httpx.post(f"{base}/orders", json=CART, headers=headers)


def test_rs256_tokens_from_the_jwks_are_accepted_and_cached(setup: tuple[str, KeySet]) -> None:
    base, keys = setup
    assert [post(base, token(keys, "k1"), f"a{n}").status_code for n in range(3)] == [202] * 3
    assert keys.fetches == 1  # fetched once, then from the cache
    keys.add("k2")  # the provider rotates: a token with a new kid makes us fetch again
    time.sleep(0.3)  # (once the cooldown since the last fetch has passed)
    assert post(base, token(keys, "k2"), "b").status_code == 202
    assert keys.fetches == 2


def test_other_tokens_are_refused(setup: tuple[str, KeySet]) -> None:
    base, keys = setup
    stranger = KeySet()
    stranger.add("k1")  # same kid, another key: the signature does not verify
    expired = token(keys, "k1", exp=int(time.time()) - 10)
    no_exp = jwt.encode({"sub": "s"}, keys.keys["k1"], algorithm="RS256", headers={"kid": "k1"})
    for bad in (token(stranger, "k1"), expired, no_exp, dev_token("storefront")):
        r = post(base, bad, "x")
        assert r.status_code == 401, r.text
        assert r.headers["content-type"] == "application/problem+json"


def test_issuer_and_audience_are_checked_when_set() -> None:
    keys = KeySet()
    keys.add("k1")
    jwks = serve_jwks(keys)
    try:
        url = f"http://127.0.0.1:{jwks.server_address[1]}/.well-known/jwks.json"
        verifier = TokenVerifier(jwks_url=url, issuer="https://idp.example", audience="shop")
        good = token(keys, "k1", iss="https://idp.example", aud="shop")
        assert verifier.subject(good) == "storefront"
        wrong = [{"iss": "https://idp.example", "aud": "bank"},
                 {"iss": "https://evil.example", "aud": "shop"}, {"aud": "shop"}]  # fmt: skip
        for claims in wrong:
            with pytest.raises(jwt.PyJWTError):
                verifier.subject(token(keys, "k1", **claims))
        # Without an audience setting, a token that names one is still taken.
        assert TokenVerifier(jwks_url=url).subject(token(keys, "k1", aud="shop")) == "storefront"
    finally:
        jwks.shutdown()
        jwks.server_close()
