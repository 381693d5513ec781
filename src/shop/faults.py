"""Failure injection for the demo: transient failures at every step (before or after the
step's local transaction commits), and "poisoned" order/step pairs that fail on every attempt
of the original execution, so retries run out and the order is dead-lettered. A redriven
execution is not poisoned: the operator fixed the downstream before redriving."""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shop.errors import ServiceUnavailable

Handler = Callable[[Any, Any], Any]


@dataclass(slots=True)
class FaultPlan:
    transient_rate: float = 0.0
    poison_rate: float = 0.0
    seed: int = 0
    outages: tuple[str, ...] = ()
    _rng: random.Random = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def poisoned(self, order_id: str, step: str) -> bool:
        text = f"{self.seed}:{order_id}:{step}".encode()
        digest = hashlib.blake2b(text, digest_size=4).digest()
        return int.from_bytes(digest, "big") / 2**32 < self.poison_rate

    def wrap(self, step: str, handler: Handler) -> Handler:
        if not (self.transient_rate or self.poison_rate or step in self.outages):
            return handler

        def faulty(event: Any, context: Any) -> Any:
            order = event.get("order") or event.get("document", {}).get("order") or {}
            if step in self.outages:
                raise ServiceUnavailable(f"{step}: downstream is down (configured outage)")
            redrive = "-redrive-" in context.idempotency_key
            if not redrive and self.poisoned(str(order.get("orderId")), step):
                raise ServiceUnavailable(f"{step}: downstream is down (injected, persistent)")
            with self._lock:
                roll = self._rng.random()
            if roll < self.transient_rate / 2:
                raise ServiceUnavailable(f"{step}: injected transient failure before commit")
            result = handler(event, context)
            if roll < self.transient_rate:
                raise ServiceUnavailable(f"{step}: injected transient failure after commit")
            return result

        return faulty
