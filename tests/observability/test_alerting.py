"""The alert path end to end, with real Prometheus and Alertmanager: the shop with the
courier down parks an order in BookShipment's dead-letter queue, the DLQ alert fires,
Alertmanager calls the shop's incident hook and an incident opens; after the operator
redrives the dead letter (the courier is back), the alert and the incident resolve."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from shop.config import ShopConfig
from shop.incidents import Incidents
from shop.intake import IntakeSettings, create_app, dev_token
from shop.operator import redrive
from shop.system import ShopRuntime
from tests.api.conftest import free_port
from tests.observability.monitoring import Monitoring, binaries

CART = {"customerId": "c1", "items": [{"sku": "tee", "qty": 1, "price": 25.0}],
        "card": "4242424242424242", "address": "1 Main St", "points": 10}  # fmt: skip


async def until(check: Callable[[], Any], what: str, timeout: float = 40) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = await asyncio.to_thread(check)
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


async def scenario(tmp: Path) -> None:
    config = ShopConfig(workdir=tmp, outages=("BookShipment",))  # the courier is down
    runtime = ShopRuntime(config)
    runtime.shop.inventory.restock({"tee": 10})
    runtime.shop.loyalty.open_accounts({"c1": 100})
    await runtime.start()
    running = [runtime]
    incidents = Incidents(config.url("incidents"))
    port = free_port()
    app = create_app(runtime.shop.orders, config.journal_url, IntakeSettings(allow_dev_key=True),
                     runtime.shop.gateway.tokenize, incidents)  # fmt: skip
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    base = f"http://127.0.0.1:{port}"
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        await asyncio.to_thread(_submit, base)  # parks after its retries (seconds)
        hook = base + "/hooks/alertmanager"
        with Monitoring(tmp / "monitoring", f"127.0.0.1:{port}", hook) as monitoring:
            opened = await until(lambda: incidents.list(open_only=True), "an incident")
            assert [(i.alertname, i.labels["queue"]) for i in opened] == [
                ("SagawayDeadLetters", "BookShipment-dlq")]  # fmt: skip
            await running.pop().stop()  # the operator fixes the courier and redrives
            redriven = await redrive(ShopConfig(workdir=tmp), None, timeout=40)
            assert [r.queue for r in redriven] == ["BookShipment-dlq"]
            await until(lambda: not monitoring.alerts(), "the alert to resolve")
            resolved = await until(
                lambda: [i for i in incidents.list() if i.resolved is not None], "resolution")
            assert [i.id for i in resolved] == [i.id for i in opened]
            answer = await asyncio.to_thread(httpx.get, base + "/incidents")
            listed = answer.json()["incidents"]
            assert [i["status"] for i in listed] == ["RESOLVED"]
    finally:
        server.should_exit = True
        await serving
        for left in running:
            await left.stop()


def _submit(base: str) -> None:
    headers = {"Authorization": f"Bearer {dev_token('c1')}", "Idempotency-Key": "k1"}
    answer = httpx.post(base + "/orders", json=CART, headers=headers, timeout=30)
    assert answer.status_code == 202, answer.text


def test_dlq_alert_opens_an_incident_that_resolves_after_redrive(tmp_path: Path) -> None:
    binaries()
    asyncio.run(scenario(tmp_path))
