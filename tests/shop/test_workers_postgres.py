"""Two engine worker processes (``python -m shop.worker``) run the shop on one PostgreSQL
database; one of them is SIGKILLed while orders are in flight. The other takes over its
executions (leases) and its relays (session advisory locks the server frees with the dead
session); afterwards every order is final, the audit of DESIGN.md section 6 holds and each
announcement reached the bus once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from shop.audit import FINAL, run_audit
from shop.config import ShopConfig
from shop.system import Shop
from tests.shop.conftest import drop_shop_schemas
from tests.shop.kit import order, published
from tests.store.conftest import postgres_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config(tmp_path: Path) -> Iterator[ShopConfig]:
    db = postgres_url()
    yield ShopConfig(workdir=tmp_path, db=db, transient_rate=0.05, seed=3)
    drop_shop_schemas(db)


def _worker(config: ShopConfig, n: int) -> subprocess.Popen[bytes]:
    ready = config.workdir / f"ready-{n}"
    values = {"db": config.db, "transient_rate": config.transient_rate, "seed": config.seed}
    with (config.workdir / f"worker-{n}.log").open("wb") as log:  # the child keeps a copy
        process = subprocess.Popen(
            [sys.executable, "-m", "shop.worker", "--workdir", str(config.workdir),
             "--config", json.dumps(values), "--ready-file", str(ready)],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ},
        )  # fmt: skip
    for _ in range(600):
        if ready.exists():
            return process
        assert process.poll() is None, (config.workdir / f"worker-{n}.log").read_text()
        time.sleep(0.05)
    raise AssertionError("the worker did not start")


def _statuses(shop: Shop, ids: list[str]) -> list[str]:
    return [str((shop.orders.get(i) or {}).get("status", "")) for i in ids]


def test_a_worker_killed_mid_sale_loses_nothing(config: ShopConfig) -> None:
    shop = Shop(config)
    shop.inventory.restock({"hoodie": 1000})
    shop.loyalty.open_accounts({"c1": 10_000})
    workers = [_worker(config, 0), _worker(config, 1)]
    ids = [f"o-{n}" for n in range(40)]
    try:
        for order_id in ids[:20]:
            shop.orders.submit("test", order_id, order(order_id))
        deadline = time.monotonic() + 60
        while sum(s in FINAL for s in _statuses(shop, ids[:20])) < 5:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        workers[0].send_signal(signal.SIGKILL)  # mid-sale: some sagas are in its hands
        workers[0].wait(10)
        for order_id in ids[20:]:
            shop.orders.submit("test", order_id, order(order_id))
        deadline = time.monotonic() + 120
        while not all(s in FINAL for s in _statuses(shop, ids)):
            assert time.monotonic() < deadline, Counter(_statuses(shop, ids))
            time.sleep(0.2)
        time.sleep(3)  # the last sagas' announcement steps and the journal's relay
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                worker.wait(30)
        shop.close()
    audit = run_audit(config)
    assert audit.ok, [c for c in audit.checks if not c.ok]
    events = Counter((e["detail-type"], e["detail"]["orderId"]) for e in published(config.bus_url))
    confirmed = [i for i, s in zip(ids, _statuses_after(config, ids), strict=True)
                 if s == "CONFIRMED"]  # fmt: skip
    assert confirmed and all(events[("OrderConfirmed", i)] == 1 for i in confirmed)
    assert all(events[("OrderSubmitted", i)] == 1 for i in ids)


def _statuses_after(config: ShopConfig, ids: list[str]) -> list[str]:
    shop = Shop(config)
    try:
        return _statuses(shop, ids)
    finally:
        shop.close()
