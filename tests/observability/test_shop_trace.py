"""The shop's orders as traces: the intake request, OrderSubmitted on the bus, the saga with
its steps and compensations, and OrderConfirmed are one trace per order (real HTTP on
loopback, the real shop runtime, the SDK's in-memory exporter)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from sagaway.observability.tracing import Tracing
from shop.audit import FINAL
from shop.config import ShopConfig
from shop.intake import IntakeSettings, create_app, dev_token
from shop.saga import SAGA_NAME
from shop.system import ShopRuntime
from tests.api.conftest import free_port
from tests.observability.conftest import PROVIDER, by_name, parent_of

GOOD = "4242424242424242"
DECLINED = "4000000000000002"


def cart(card: str) -> dict[str, Any]:
    return {"customerId": "c1", "items": [{"sku": "tee", "qty": 1, "price": 25.0}],
            "card": card, "address": "1 Main St", "points": 10}  # fmt: skip


async def place_orders(tmp: Path) -> dict[str, str]:
    """Two orders through the intake (one paid, one declined); order id -> final status."""
    tracing = Tracing(PROVIDER, {SAGA_NAME: "$.orderId"})
    runtime = ShopRuntime(ShopConfig(workdir=tmp), observer=tracing)
    runtime.shop.inventory.restock({"tee": 10})
    runtime.shop.loyalty.open_accounts({"c1": 100})
    await runtime.start()
    port = free_port()
    app = create_app(runtime.shop.orders, runtime.shop.config.journal_url,
                     IntakeSettings(allow_dev_key=True), runtime.shop.gateway.tokenize)  # fmt: skip
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        headers = {"Authorization": f"Bearer {dev_token('c1')}"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            ids = []
            for n, card in enumerate((GOOD, DECLINED)):
                keyed = {**headers, "Idempotency-Key": f"k{n}"}
                answer = await http.post("/orders", json=cart(card), headers=keyed)
                assert answer.status_code == 202, answer.text
                ids.append(answer.json()["orderId"])
        for _ in range(400):
            found = {i: runtime.shop.orders.get(i) for i in ids}
            if all(r is not None and r["status"] in FINAL for r in found.values()):
                return {i: str(r["status"]) for i, r in found.items() if r is not None}
            await asyncio.sleep(0.05)
        raise AssertionError(f"orders not final: {found}")
    finally:
        server.should_exit = True
        await serving
        await runtime.stop()


def one_trace(spans: tuple[ReadableSpan, ...], order_id: str) -> list[ReadableSpan]:
    (request,) = [s for s in by_name(spans, "POST /orders")
                  if s.attributes.get("sagaway.business_key") == order_id]  # fmt: skip
    return [s for s in spans if s.context.trace_id == request.context.trace_id]


def test_an_order_is_one_trace_from_intake_to_confirmation(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    statuses = asyncio.run(place_orders(tmp_path))
    paid, declined = statuses
    assert statuses == {paid: "CONFIRMED", declined: "CANCELLED_COMPENSATED"}
    finished = spans.get_finished_spans()
    trace = one_trace(finished, paid)
    (request,) = by_name(trace, "POST /orders")
    (delivered,) = by_name(trace, "deliver OrderSubmitted")
    (execution,) = by_name(trace, f"execution {SAGA_NAME}")
    assert parent_of(request) is None
    assert parent_of(delivered) == request.context.span_id  # through the outbox and the bus
    assert parent_of(execution) == delivered.context.span_id
    assert execution.attributes["sagaway.business_key"] == paid
    states = [s.name for s in trace if "sagaway.state.type" in s.attributes]
    assert {"CreateOrder", "AuthorizePayment", "SendConfirmation"} <= set(states)
    (confirmed,) = by_name(trace, "publish OrderConfirmed")
    writer = next(s for s in trace if s.context.span_id == parent_of(confirmed))
    assert writer.name.endswith(" attempt")  # written by a step's handler, inside its span
    assert not [s for s in trace if s.attributes.get("sagaway.compensation")]

    failed = one_trace(finished, declined)
    caught = [s for s in failed if "sagaway.caught" in s.attributes]
    assert [s.name for s in caught] == ["AuthorizePayment"]
    undone = {s.name for s in failed if s.attributes.get("sagaway.compensation")}
    assert {"ReleaseInventory", "CancelOrder"} <= undone
    assert not {s.context.trace_id for s in failed} & {s.context.trace_id for s in trace}
