"""The whole shop on PostgreSQL: the engine's journal and the bus in one schema, every service
and both third parties in schemas of their own. Orders run through the real runtime (intake
writes, the orders outbox relayed to the bus, the rule starting the saga, compensations,
parking, the operator's redrive), and the audit of DESIGN.md section 6 is read from the
databases. Two runtimes on one database share the work as a cluster's workers do: every
order runs once, every event reaches each rule once, one member relays each outbox."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shop.audit import FINAL, run_audit
from shop.config import ShopConfig
from shop.operator import redrive
from shop.system import ShopRuntime
from tests.shop.conftest import drop_shop_schemas
from tests.shop.kit import order, published, settle
from tests.store.conftest import postgres_url

DECLINED = "4000000000000002"


@pytest.fixture
def config(tmp_path: Path) -> Iterator[ShopConfig]:
    db = postgres_url()
    yield ShopConfig(workdir=tmp_path, db=db)
    drop_shop_schemas(db)


def _orders() -> list[dict[str, Any]]:
    return [
        order("ok-1"),
        order("ok-2", points=0),
        order("declined", card=DECLINED),  # compensated after ReserveInventory
        order("no-address", address=None),  # compensated after four steps
    ]


async def _run(config: ShopConfig, orders: list[dict[str, Any]], members: int = 1) -> list[str]:
    """Run ``orders`` on ``members`` runtimes sharing the database; their final statuses."""
    runtimes = [ShopRuntime(config, member=f"member-{n}") for n in range(members)]
    runtimes[0].shop.inventory.restock({"hoodie": 10})
    runtimes[0].shop.loyalty.open_accounts({"c1": 100})
    for runtime in runtimes:
        await runtime.start()
    try:
        for n, o in enumerate(orders):  # spread over the members, as intakes would be
            runtimes[n % members].shop.orders.submit("test", o["orderId"], o)
        await _final(runtimes[0], [o["orderId"] for o in orders])
        for runtime in runtimes:  # a CONFIRMED order's saga may still park it
            await settle(runtime, [o["orderId"] for o in orders])
        statuses = await _final(runtimes[0], [o["orderId"] for o in orders])
        leaders = [r for r in runtimes if r.relays[0].leads()]
        assert len(leaders) == 1, "exactly one member relays the orders outbox"
        return statuses
    finally:
        for runtime in runtimes:
            await runtime.stop()
            runtime.shop.close()


async def _final(runtime: ShopRuntime, ids: list[str], timeout: float = 90.0) -> list[str]:
    statuses: list[str] = []
    for _ in range(int(timeout / 0.1)):
        records = [runtime.shop.orders.get(i) for i in ids]
        statuses = [str(r["status"]) if r else "" for r in records]
        if all(s in FINAL for s in statuses):
            break
        await asyncio.sleep(0.1)
    return statuses


def _types(config: ShopConfig) -> Counter[tuple[str, str]]:
    return Counter(
        (str(e["detail-type"]), str(e["detail"].get("orderId", "")))
        for e in published(config.bus_url)
    )


def test_orders_run_on_postgres_with_compensations_and_the_audit_holds(
    config: ShopConfig,
) -> None:
    statuses = asyncio.run(_run(config, _orders()))
    assert statuses == ["CONFIRMED", "CONFIRMED"] + ["CANCELLED_COMPENSATED"] * 2
    audit = run_audit(config)
    assert audit.ok, [c for c in audit.checks if not c.ok]
    assert audit.counts == {"CONFIRMED": 2, "CANCELLED_COMPENSATED": 2}
    events = _types(config)
    # OrderConfirmed / OrderFailed come from the saga's putEvents steps (the journal's
    # outbox), OrderSubmitted from the orders outbox: each archived once.
    for o in ("ok-1", "ok-2"):
        assert events[("OrderSubmitted", o)] == 1 and events[("OrderConfirmed", o)] == 1
    for o in ("declined", "no-address"):
        assert events[("OrderFailed", o)] == 1 and events[("OrderConfirmed", o)] == 0


def test_two_members_share_one_database_and_each_order_runs_once(config: ShopConfig) -> None:
    orders = [order(f"o-{n}") for n in range(8)] + [order("declined", card=DECLINED)]
    statuses = asyncio.run(_run(config, orders, members=2))
    assert statuses == ["CONFIRMED"] * 8 + ["CANCELLED_COMPENSATED"]
    audit = run_audit(config)
    assert audit.ok, [c for c in audit.checks if not c.ok]
    events = _types(config)
    assert all(events[("OrderConfirmed", f"o-{n}")] == 1 for n in range(8))
    assert events[("OrderFailed", "declined")] == 1
    assert not config.workdir.joinpath("engine.lock").exists()  # no per-workdir lock


def test_a_parked_order_is_redriven_on_postgres(config: ShopConfig) -> None:
    parked = ShopConfig(config.workdir, db=config.db, outages=("SendConfirmation",))
    assert asyncio.run(_run(parked, [order("o-1")])) == ["NEEDS_REVIEW"]
    audit = run_audit(config)
    assert audit.ok and audit.counts == {"NEEDS_REVIEW": 1}
    results = asyncio.run(redrive(config.without_faults(), None, timeout=60))
    assert [(r.queue, r.execution_status, r.order_status) for r in results] == [
        ("SendConfirmation-dlq", "SUCCEEDED", "CONFIRMED")
    ]
    audit = run_audit(config)
    assert audit.ok and audit.counts == {"CONFIRMED": 1}


def test_a_connection_the_server_ended_is_a_transient_error_then_reconnects(
    config: ShopConfig,
) -> None:
    """What a service sees across a PostgreSQL restart: ServiceUnavailable (which the saga
    retries) for the statement that met the dead session, a fresh session for the next."""
    import psycopg

    from shop.errors import ServiceUnavailable
    from shop.sql import SqlConnection

    conn = SqlConnection(config.url("orders"))
    try:
        conn.script("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
        (pid,) = conn.execute("SELECT pg_backend_pid()").fetchone()
        with psycopg.connect(config.db, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(ServiceUnavailable), conn.transaction():
            conn.execute("INSERT INTO t VALUES (1)")
        with conn.transaction():
            conn.execute("INSERT INTO t VALUES (2)")
        assert conn.execute("SELECT x FROM t").fetchall() == [(2,)]
    finally:
        conn.close()


async def _failover(config: ShopConfig) -> list[str]:
    first, second = ShopRuntime(config, member="first"), ShopRuntime(config, member="second")
    first.shop.inventory.restock({"hoodie": 10})
    first.shop.loyalty.open_accounts({"c1": 100})
    await first.start()
    await second.start()
    try:
        assert first.relays[0].leads() and not second.relays[0].leads()
        await first.stop()  # the leader leaves: its sessions end, and its locks with them
        first.shop.close()
        second.shop.orders.submit("test", "after", order("after"))
        statuses = await _final(second, ["after"], timeout=30)
        await settle(second, ["after"])
        assert second.relays[0].leads()
        return statuses
    finally:
        await second.stop()
        second.shop.close()


def test_when_the_relaying_member_leaves_another_relays(config: ShopConfig) -> None:
    assert asyncio.run(_failover(config)) == ["CONFIRMED"]
    assert _types(config)[("OrderConfirmed", "after")] == 1
    assert run_audit(config).ok
