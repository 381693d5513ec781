"""Seed 001: the courier API times out at 2pm on launch day. The saga catches it, refunds
the card, releases the stock, restores the points, marks the order CANCELLED_COMPENSATED
and emits OrderFailed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.shop.kit import order, outbox_types, run_orders, status


def test_courier_timeout_unwinds_the_order(tmp_path: Path) -> None:
    runtime = asyncio.run(run_orders(tmp_path, [order("o-8842")], courier_outage=1.0))
    shop = runtime.shop
    assert status(runtime, "o-8842") == "CANCELLED_COMPENSATED"
    assert "OrderFailed" in outbox_types(runtime)
    (charge,) = shop.gateway._conn.execute(
        "SELECT status, captured, refunded FROM charges"
    ).fetchall()
    assert charge == ("REFUNDED", 40.0, 40.0)
    assert shop.inventory.db.query("SELECT available FROM stock") == [(10,)]
    assert shop.loyalty.db.query("SELECT balance FROM accounts") == [(100,)]
    assert shop.courier._conn.execute(
        "SELECT count(*) FROM bookings WHERE status='BOOKED'"
    ).fetchone() == (0,)
