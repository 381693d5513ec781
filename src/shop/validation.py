"""Validating a cart at the intake (422 with one entry per problem, 400 for non-JSON)."""

from __future__ import annotations

import json
from typing import Any


class OrderProblem(Exception):
    def __init__(self, status: int, title: str, detail: str, errors: list[str] | None = None):
        super().__init__(detail)
        self.status = status
        self.title = title
        self.errors = errors or []


def parse_order(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise OrderProblem(400, "Bad Request", f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise OrderProblem(400, "Bad Request", "the body must be a JSON object")
    errors = _problems(data)
    if errors:
        raise OrderProblem(422, "Unprocessable Content", "the order is not valid", errors)
    items = [{"sku": i["sku"], "qty": int(i["qty"]), "price": float(i["price"])}
             for i in data["items"]]  # fmt: skip
    total = round(sum(i["qty"] * i["price"] for i in items), 2)
    return {"customerId": data["customerId"], "items": items, "total": total,
            "card": data.get("card", ""), "address": data.get("address", ""),
            "points": int(data.get("points", 0))}  # fmt: skip


def _problems(data: dict[str, Any]) -> list[str]:
    errors = []
    if not isinstance(data.get("customerId"), str) or not data["customerId"]:
        errors.append("/customerId: a non-empty string is required")
    items = data.get("items")
    if not isinstance(items, list) or not items or len(items) > 50:
        errors.append("/items: between 1 and 50 items are required")
        items = []
    for n, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("sku"), str):
            errors.append(f"/items/{n}/sku: a string is required")
            continue
        qty, price = item.get("qty"), item.get("price")
        if not isinstance(qty, int) or isinstance(qty, bool) or not 0 < qty <= 100:
            errors.append(f"/items/{n}/qty: an integer from 1 to 100 is required")
        if not isinstance(price, int | float) or isinstance(price, bool) or price < 0:
            errors.append(f"/items/{n}/price: a non-negative number is required")
    points = data.get("points", 0)
    if not isinstance(points, int) or isinstance(points, bool) or points < 0:
        errors.append("/points: a non-negative integer is required")
    for field in ("card", "address"):
        if not isinstance(data.get(field, ""), str):
            errors.append(f"/{field}: a string is required")
    return errors
