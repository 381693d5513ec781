"""Running the real shop (real SQLite files, the real engine) inside a test."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from shop.audit import FINAL
from shop.config import ShopConfig
from shop.system import ShopRuntime

CARD = "4242424242424242"


def order(order_id: str, **changes: Any) -> dict[str, Any]:
    base = {"orderId": order_id, "customerId": "c1", "items": [{"sku": "hoodie", "qty": 1, "price": 40.0}],  # noqa: E501
            "total": 40.0, "card": CARD, "address": "1 Main St", "points": 10}  # fmt: skip
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


async def run_orders(tmp: Path, orders: list[dict[str, Any]], **config: Any) -> ShopRuntime:
    runtime = ShopRuntime(ShopConfig(workdir=tmp, **config))
    runtime.shop.inventory.restock({"hoodie": 10})
    runtime.shop.loyalty.open_accounts({"c1": 100})
    await runtime.start()
    for o in orders:
        runtime.shop.orders.submit("test", o["orderId"], o)
    for _ in range(400):
        states = [runtime.shop.orders.get(o["orderId"]) for o in orders]
        if all(s is not None and s["status"] in FINAL for s in states):
            break
        await asyncio.sleep(0.05)
    await settle(runtime, [o["orderId"] for o in orders])
    await runtime.stop()
    return runtime


async def settle(runtime: ShopRuntime, names: list[str], timeout: float = 30.0) -> None:
    """Wait for the sagas ``names`` to end (a final order still has its announcement step
    to run) and for the journal's outbox to reach the bus."""
    for name in names:
        record = runtime.journal.find_execution(runtime.machine_arn, name)
        if record is not None:
            await runtime.engine.wait(record.arn, timeout)
    for _ in range(int(timeout / 0.05)):
        if not runtime.journal.pending_outbox(1):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.1)  # the relay removes rows after handing them to the bus


def published(bus_url: str) -> list[dict[str, Any]]:
    """Every event the shop's bus took, from its archive."""
    from sagaway.messaging.stores import open_bus_stores

    stores = open_bus_stores(bus_url)
    try:
        return stores.archive.between(0, float("inf"))
    finally:
        stores.close()


def status(runtime: ShopRuntime, order_id: str) -> str:
    record = runtime.shop.orders.get(order_id)
    assert record is not None
    return str(record["status"])


def outbox_types(runtime: ShopRuntime) -> list[str]:
    """The types of the events the shop published: the orders outbox's and the journal's
    (the saga's OrderConfirmed / OrderFailed steps), as the bus archived them."""
    return [event["detail-type"] for event in published(runtime.shop.config.bus_url)]


async def run_direct(tmp: Path, name: str, document: dict[str, Any]) -> tuple[str, ShopRuntime]:
    """Start the saga directly (no intake), as the seed articles do from the console."""
    import json

    runtime = ShopRuntime(ShopConfig(workdir=tmp))
    runtime.shop.inventory.restock({"hoodie": 10})
    runtime.shop.loyalty.open_accounts({"c1": 100})
    await runtime.start()
    record = await runtime.engine.start_execution(runtime.machine_arn, name, json.dumps(document))
    ended = await runtime.engine.wait(record.arn, 60)
    await runtime.stop()
    assert ended is not None
    return ended.error or ended.status, runtime
