"""The simulated gateway and courier require the API key they issued, as real ones do: a
missing or wrong key is their 401, and the shop's step fails with it. The services take
their keys from the secret provider, and no key ever reaches the journal, the services'
databases (dead letters, incidents) or the logs."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shop.config import ShopConfig
from shop.courier import Courier
from shop.errors import Unauthorized
from shop.gateway import PaymentGateway
from shop.secrets import EnvSecrets
from shop.system import Shop, ShopRuntime
from tests.shop.kit import CARD, order, run_orders, status

ISSUED = {"SHOP_GATEWAY_API_KEY": "gw-issued-0f3a9c", "SHOP_COURIER_API_KEY": "co-issued-77d1e2"}
WRONG = {"SHOP_GATEWAY_API_KEY": "gw-wrong-5b8e41", "SHOP_COURIER_API_KEY": "co-wrong-c40d19"}


def test_a_missing_or_wrong_key_is_a_401_that_names_no_key(tmp_path: Path) -> None:
    gateway = PaymentGateway(f"sqlite:///{tmp_path / 'gateway.db'}", api_key="right-key")
    courier = Courier(f"sqlite:///{tmp_path / 'courier.db'}", api_key="right-key")
    for presented in (None, "", "wrong-key", "right-key-but-longer"):
        with pytest.raises(Unauthorized, match="401 Unauthorized") as refused:
            gateway.tokenize(CARD, api_key=presented)
        assert "right-key" not in str(refused.value) and "wrong-key" not in str(refused.value)
        with pytest.raises(Unauthorized, match="courier book: 401"):
            courier.book("o1-book", "o1", "1 Main St", api_key=presented)
    token = gateway.tokenize(CARD, api_key="right-key")
    charge = gateway.authorize("o1-authorize", "o1", 5.0, token, api_key="right-key")
    with pytest.raises(Unauthorized, match="gateway capture: 401"):
        gateway.capture("o1-capture", charge["charge"], api_key="wrong-key")
    assert gateway.capture("o1-capture", charge["charge"], api_key="right-key")["status"] == (
        "CAPTURED"
    )
    assert courier.book("o1-book", "o1", "1 Main St", api_key="right-key")["status"] == "BOOKED"


def test_the_shop_presents_the_keys_its_provider_gives(tmp_path: Path) -> None:
    runtime = asyncio.run(run_orders(tmp_path, [order("o1")]))  # keys: tests/conftest.py
    assert status(runtime, "o1") == "CONFIRMED"
    _assert_nowhere(tmp_path, ["test-gateway-key", "test-courier-key"], "")


def test_a_wrong_key_fails_the_step_and_never_shows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    config = ShopConfig(workdir=tmp_path)
    shop = Shop(config, secrets=EnvSecrets(WRONG), issued=EnvSecrets(ISSUED))
    with pytest.raises(Unauthorized, match="gateway tokenize: 401"):
        shop.tokenize(CARD)
    error = asyncio.run(_run_one(ShopRuntime(config, shop=shop)))
    history = shop.orders.db.query("SELECT status FROM orders WHERE order_id = 'o1'")
    assert history == [("CANCELLED_COMPENSATED",)]  # the order fails, and says why
    assert "gateway authorize: 401 Unauthorized (the API key is not valid)" in error
    out, err = capfd.readouterr()
    _assert_nowhere(tmp_path, [*ISSUED.values(), *WRONG.values()], caplog.text + out + err)


async def _run_one(runtime: ShopRuntime) -> str:
    runtime.shop.inventory.restock({"hoodie": 10})
    runtime.shop.loyalty.open_accounts({"c1": 100})
    await runtime.start()
    document = {"order": order("o1", card=None, cardToken="tok_unknown")}
    record = await runtime.engine.start_execution(runtime.machine_arn, "o1", _json(document))
    ended = await runtime.engine.wait(record.arn, 60)
    assert ended is not None
    history = runtime.journal.history(record.arn)
    await runtime.stop()
    return " ".join(str(event) for event in history)


def _json(document: object) -> str:
    import json

    return json.dumps(document)


def _assert_nowhere(workdir: Path, keys: list[str], logs: str) -> None:
    """Not in any file of the shop (journal, services, third parties, bus), nor the logs."""
    files = [p for p in workdir.rglob("*") if p.is_file()]
    assert files
    for key in keys:
        assert key not in logs
        for path in files:
            assert key.encode() not in path.read_bytes(), f"{key} found in {path.name}"


def test_redrive_without_the_keys_is_one_line_and_exit_2(tmp_path: Path) -> None:
    from tests.shop.test_redrive import park

    park(tmp_path, "AuthorizePayment")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOP_")}
    cmd = [sys.executable, "-m", "sagaway", "dlq", "redrive", "--all", "--workdir", str(tmp_path)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        "cannot redrive: the shop needs the secret gateway-api-key "
        "($SHOP_GATEWAY_API_KEY, a file in $SHOP_SECRETS_DIR or Vault)"
    )
