"""The invariant audit of DESIGN.md section 6, read straight from every service's database
(and the gateway's books) once the system is quiet. Orders parked in NEEDS_REVIEW hold what
their completed steps took until an operator redrives them; the audit counts that apart."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from shop.config import ShopConfig
from shop.sql import SqlConnection

FINAL = ("CONFIRMED", "CANCELLED_COMPENSATED", "NEEDS_REVIEW")


@dataclass(slots=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(slots=True)
class Audit:
    counts: dict[str, int] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def check(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append(Check(name, ok, detail))


def _rows(config: ShopConfig, db: str, sql: str) -> list[tuple[Any, ...]]:
    conn = SqlConnection(config.url(db))
    try:
        return [tuple(row) for row in conn.execute(sql).fetchall()]
    finally:
        conn.close()


def run_audit(config: ShopConfig) -> Audit:
    audit = Audit()
    orders = {r[0]: (r[1], float(r[2] or 0), json.loads(r[3]))
              for r in _rows(config, "orders", "SELECT order_id, status, total, document FROM orders")}  # fmt: skip  # noqa: E501
    for status, *_ in orders.values():
        audit.counts[status] = audit.counts.get(status, 0) + 1
    review = {o for o, (s, *_) in orders.items() if s == "NEEDS_REVIEW"}
    _check_statuses(config, audit, orders, review)
    _check_money(config, audit, orders, review)
    _check_stock(config, audit, orders, review)
    _check_points(config, audit, orders, review)
    return audit


def _check_statuses(
    config: ShopConfig, audit: Audit, orders: dict[str, Any], review: set[str]
) -> None:
    stray = [o for o, (s, *_) in orders.items() if s not in FINAL]
    audit.check("every order is final", not stray, f"{len(stray)} not final {stray[:3]}")
    letters = _rows(config, "orders", "SELECT body FROM dead_letters WHERE redriven IS NULL")
    parked = {json.loads(b)["document"]["order"]["orderId"] for (b,) in letters}
    missing = review - parked
    audit.check("every NEEDS_REVIEW order has a DLQ entry", not missing,
                f"{len(review)} parked, {len(missing)} without a dead letter")  # fmt: skip


def _check_money(
    config: ShopConfig, audit: Audit, orders: dict[str, Any], review: set[str]
) -> None:
    charges = _rows(config, "gateway", "SELECT reference, amount, captured, refunded FROM charges")
    net: dict[str, float] = defaultdict(float)
    captures: dict[str, int] = defaultdict(int)
    for ref, _amount, captured, refunded in charges:
        net[ref] += captured - refunded
        captures[ref] += captured > 0
    charged = sum(c[2] for c in charges) - sum(c[3] for c in charges)
    confirmed = sum(t for s, t, _ in orders.values() if s == "CONFIRMED")
    held = sum(net[o] for o in review)
    wrong = [o for o, (s, t, _) in orders.items()
             if (s == "CONFIRMED" and abs(net[o] - t) > 0.005) or (s == "CANCELLED_COMPENSATED" and abs(net[o]) > 0.005)]  # fmt: skip  # noqa: E501
    audit.check("charged - refunded = total of CONFIRMED (+ held for review)",
                abs(charged - confirmed - held) < 0.01 and not wrong,
                f"{charged:.2f} = {confirmed:.2f} + {held:.2f} held; {len(wrong)} orders off")  # fmt: skip  # noqa: E501
    double = [r for r, n in captures.items() if n > 1]
    over = [c for c in charges if c[2] > c[1] + 0.005]
    audit.check("no payment captured twice", not double and not over,
                f"{len(double)} orders with two captures, {len(over)} over-captured")  # fmt: skip


def _check_stock(
    config: ShopConfig, audit: Audit, orders: dict[str, Any], review: set[str]
) -> None:
    taken = sum(
        i - a for _, a, i in _rows(config, "inventory", "SELECT sku, available, initial FROM stock")
    )
    reserved = dict(_rows(config, "inventory", "SELECT order_id, status FROM reservations"))

    def qty(order_id: str) -> int:
        return sum(int(i["qty"]) for i in orders[order_id][2].get("items", []))

    confirmed = sum(qty(o) for o, (s, *_) in orders.items() if s == "CONFIRMED")
    held = sum(qty(o) for o in review if reserved.get(o) == "RESERVED")
    wrong = [o for o, (s, *_) in orders.items()
             if (s == "CONFIRMED") != (reserved.get(o) == "RESERVED") and o not in review]  # fmt: skip  # noqa: E501
    audit.check("stock taken = items of CONFIRMED (+ held for review)",
                taken == confirmed + held and not wrong,
                f"{taken} = {confirmed} + {held} held; {len(wrong)} orders off")  # fmt: skip


def _check_points(
    config: ShopConfig, audit: Audit, orders: dict[str, Any], review: set[str]
) -> None:
    spent = sum(
        i - b
        for _, b, i in _rows(
            config, "loyalty", "SELECT customer_id, balance, initial FROM accounts"
        )
    )
    ledger: dict[str, int] = defaultdict(int)
    for order_id, kind, points in _rows(
        config, "loyalty", "SELECT order_id, kind, points FROM ledger"
    ):
        ledger[order_id] += points if kind == "BURN" else -points
    confirmed = sum(int(d.get("points") or 0) for s, _, d in orders.values() if s == "CONFIRMED")
    held = sum(ledger[o] for o in review)
    balanced = spent == sum(ledger.values()) == confirmed + held
    audit.check("loyalty points balance", balanced,
                f"balances {spent} = ledger {sum(ledger.values())} = {confirmed} + {held} held")  # fmt: skip  # noqa: E501
