"""Validating a cart at the intake (422 with one entry per problem, 400 for non-JSON).

What the intake believes: the customer is the token's subject, prices are the catalog's,
numbers are finite and of sane size. A card number is checked for shape here and handed to
the gateway's vault by the intake; only its token and last four digits go further."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

# An integer longer than this is no quantity or point count; refusing it early also keeps
# Python's quadratic int parsing out of reach.
MAX_INT_DIGITS = 15


class OrderProblem(Exception):
    def __init__(self, status: int, title: str, detail: str, errors: list[str] | None = None):
        super().__init__(detail)
        self.status = status
        self.title = title
        self.errors = errors or []


def _unprocessable(detail: str) -> OrderProblem:
    return OrderProblem(422, "Unprocessable Content", detail, [detail])


def _constant(name: str) -> Any:
    raise _unprocessable(f"{name} is not a number an order can hold")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _unprocessable(f"{text} is out of range")
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _unprocessable(f"an integer of {len(text.lstrip('-'))} digits is out of range")
    return int(text)


def load_json(body: bytes) -> Any:
    """JSON without NaN, Infinity, out-of-range floats or huge integers (422)."""
    try:
        return json.loads(body, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except ValueError as exc:
        raise OrderProblem(400, "Bad Request", f"the body is not JSON: {exc}") from None


def parse_order(body: bytes, customer: str, prices: Mapping[str, float]) -> dict[str, Any]:
    data = load_json(body)
    if not isinstance(data, dict):
        raise OrderProblem(400, "Bad Request", "the body must be a JSON object")
    if data.get("customerId", customer) != customer:
        raise OrderProblem(403, "Forbidden", "customerId must be the token's subject")
    errors = _problems(data, prices)
    if errors:
        raise OrderProblem(422, "Unprocessable Content", "the order is not valid", errors)
    items = [{"sku": i["sku"], "qty": i["qty"], "price": prices[i["sku"]]} for i in data["items"]]
    total = round(sum(i["qty"] * i["price"] for i in items), 2)
    return {"customerId": customer, "items": items, "total": total,
            "card": data.get("card", ""), "address": data.get("address", ""),
            "points": data.get("points", 0)}  # fmt: skip


def _problems(data: dict[str, Any], prices: Mapping[str, float]) -> list[str]:
    errors = []
    items = data.get("items")
    if not isinstance(items, list) or not items or len(items) > 50:
        errors.append("/items: between 1 and 50 items are required")
        items = []
    for n, item in enumerate(items):
        errors += _item_problems(n, item, prices)
    points = data.get("points", 0)
    if not isinstance(points, int) or isinstance(points, bool) or not 0 <= points <= 10**9:
        errors.append("/points: an integer from 0 to 1000000000 is required")
    for field in ("card", "address"):
        if not isinstance(data.get(field, ""), str):
            errors.append(f"/{field}: a string is required")
    card = data.get("card", "")
    if isinstance(card, str) and card and not (card.isdigit() and 12 <= len(card) <= 19):
        errors.append("/card: 12 to 19 digits are required")
    return errors


def _item_problems(n: int, item: Any, prices: Mapping[str, float]) -> list[str]:
    if not isinstance(item, dict) or not isinstance(item.get("sku"), str):
        return [f"/items/{n}/sku: a string is required"]
    if item["sku"] not in prices:
        return [f"/items/{n}/sku: {item['sku']!r} is not in the catalog"]
    errors = []
    qty, price = item.get("qty"), item.get("price")
    if not isinstance(qty, int) or isinstance(qty, bool) or not 0 < qty <= 100:
        errors.append(f"/items/{n}/qty: an integer from 1 to 100 is required")
    if price is not None and price != prices[item["sku"]]:
        errors.append(f"/items/{n}/price: the catalog price of {item['sku']} is "
                      f"{prices[item['sku']]}")  # fmt: skip
    return errors
