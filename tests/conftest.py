"""The shop's third-party API keys come from its secret provider (the environment by
default): every test that builds the shop gets a pair here, as an operator would set them."""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.pg_cluster"]  # the `pg` fixture: a PostgreSQL cluster of a test's own


@pytest.fixture(autouse=True)
def third_party_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_GATEWAY_API_KEY", "test-gateway-key")
    monkeypatch.setenv("SHOP_COURIER_API_KEY", "test-courier-key")
