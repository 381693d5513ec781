"""Seed 002's four inputs on the shop's saga: a complete order succeeds; a missing total is a
failed order (nothing to undo); a missing card number fails the payment (the order is
cancelled and its stock released); a missing address fails the shipment (the payment is
refunded and the order cancelled)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.shop.kit import order, run_direct, status


def seed_input(raw: dict[str, Any]) -> dict[str, Any]:
    """The article's fields (order_id, total, card_no, address) in the shop's order shape."""
    return order(raw["order_id"], total=raw.get("total"), card=raw.get("card_no"),
                 address=raw.get("address"), items=[], points=0)  # fmt: skip


def outcome(tmp: Path, raw: dict[str, Any]) -> tuple[str, Any]:
    return asyncio.run(run_direct(tmp, raw["order_id"], {"order": seed_input(raw)}))


def test_successful_input(tmp_path: Path) -> None:
    result, runtime = outcome(
        tmp_path, {"order_id": "1", "total": 100, "card_no": "123-1234", "address": "123 st"}
    )
    assert result == "SUCCEEDED" and status(runtime, "1") == "CONFIRMED"


def test_missing_total_fails_the_order(tmp_path: Path) -> None:
    result, runtime = outcome(tmp_path, {"order_id": "2"})
    assert result == "OrderFailed"
    assert runtime.shop.orders.get("2") is None  # never created, so nothing to compensate


def test_missing_card_number_fails_the_payment(tmp_path: Path) -> None:
    result, runtime = outcome(tmp_path, {"order_id": "3", "total": 100})
    assert result == "OrderFailed" and status(runtime, "3") == "CANCELLED_COMPENSATED"
    assert runtime.shop.gateway._conn.execute("SELECT count(*) FROM charges").fetchone() == (0,)


def test_missing_address_fails_the_shipment(tmp_path: Path) -> None:
    result, runtime = outcome(tmp_path, {"order_id": "5", "total": 100, "card_no": "123-1234"})
    assert result == "OrderFailed" and status(runtime, "5") == "CANCELLED_COMPENSATED"
    rows = runtime.shop.gateway._conn.execute("SELECT status, refunded FROM charges").fetchall()
    assert rows == [("REFUNDED", 100.0)]
