"""The shop's catalog: what each SKU costs. Prices and totals come from here, never from
the client's cart (a cart that says a hoodie costs 0.01 is refused, not believed)."""

from __future__ import annotations

PRICES: dict[str, float] = {"hoodie": 59.0, "tee": 25.0, "cap": 19.5, "socks": 9.0}
