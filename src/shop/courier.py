"""A simulated courier API (book a slot, cancel it), faked on purpose and behaving like one:
bookings carry the shipper's reference and an idempotency key (a retry with the key gets
the same booking), calls fail with 502s and read timeouts before doing anything, and
cancelling by reference is idempotent. ``outage`` is the fraction
of references whose calls always time out (seed 001's launch-day courier outage). Like a
real API it refuses a call without the key it issued, or with another one (401)."""

from __future__ import annotations

import hashlib
import random
import threading
import time
import uuid
from typing import Any

from shop.errors import CourierTimeout, ServiceUnavailable
from shop.gateway import ThirdPartyBehaviour, check_api_key
from shop.sql import SharedDatabase

SCHEMA = """
CREATE TABLE IF NOT EXISTS bookings (
    id TEXT PRIMARY KEY, reference TEXT NOT NULL UNIQUE, key TEXT NOT NULL UNIQUE,
    address TEXT NOT NULL, status TEXT NOT NULL
);
"""


class Courier:
    def __init__(
        self,
        url: str,
        behaviour: ThirdPartyBehaviour | None = None,
        *,
        api_key: str,
        outage: float = 0.0,
    ) -> None:
        self._api_key = api_key  # the key it issued to the shop
        self.behaviour = behaviour or ThirdPartyBehaviour()
        self.outage = outage
        self._rng = random.Random(self.behaviour.seed)
        self._lock = threading.Lock()  # the random draws
        self._db = SharedDatabase(url, SCHEMA)
        self._conn = self._db.conn

    def close(self) -> None:
        self._db.close()

    def in_outage(self, reference: str) -> bool:
        digest = hashlib.blake2b(reference.encode(), digest_size=4).digest()
        return int.from_bytes(digest, "big") / 2**32 < self.outage

    def book(
        self, key: str, reference: str, address: str, *, api_key: str | None
    ) -> dict[str, Any]:
        check_api_key(self._api_key, api_key, "courier book")
        self._weather("book", reference)
        with self._db.transaction() as conn:
            conn.lock(f"courier:{key}")
            row = conn.execute("SELECT id, status FROM bookings WHERE key = ?", (key,)).fetchone()
            if row is None:
                row = (f"bk_{uuid.uuid4().hex[:12]}", "BOOKED")
                conn.execute(
                    "INSERT INTO bookings VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (row[0], reference, key, address, row[1]),
                )
        return {"booking": row[0], "status": row[1]}

    def cancel(self, reference: str, *, api_key: str | None) -> dict[str, Any]:
        check_api_key(self._api_key, api_key, "courier cancel")
        self._weather("cancel", reference, outage=False)
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE bookings SET status = 'CANCELLED' WHERE reference = ?", (reference,)
            )
        return {"reference": reference, "status": "CANCELLED"}

    def _weather(self, op: str, reference: str, *, outage: bool = True) -> None:
        b = self.behaviour
        with self._lock:
            roll, delay = self._rng.random(), self._rng.uniform(*b.latency)
        if delay:
            time.sleep(delay)
        if outage and self.in_outage(reference):
            raise CourierTimeout(f"courier {op} {reference}: read timed out")
        if roll < b.error_rate:
            raise ServiceUnavailable(f"courier {op}: 502 Bad Gateway")
        if roll < b.error_rate + b.timeout_rate:
            raise CourierTimeout(f"courier {op} {reference}: read timed out")
