"""The bus's ledger: what became of every event the bus received, so it can account for all.

One row per event the bus received (``consumer`` empty: was it routed to some rule target?)
and one per (event, rule target) it was routed to, whose outcome moves from ``pending`` to
``delivered`` or ``dead-lettered``. Rows are keyed by event id, so an event handed to the
bus again (a relay that died before removing it, a replay) is counted once, and a
redelivery only moves an outcome forward: ``delivered`` is final, a ``dead-lettered`` event
that a later attempt delivers counts as delivered.

The invariant, once the bus is quiet (no delivery in flight):

- per rule target: ``matched = delivered + dead_lettered``;
- per bus: ``published = matched + unmatched``, where an event is matched when some rule
  target received it, whatever the number of rules and targets that did.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sagaway.messaging.sqlite import connect, transaction

PENDING = "pending"
DELIVERED = "delivered"
DEAD_LETTERED = "dead-lettered"
MATCHED = "matched"
UNMATCHED = "unmatched"

SCHEMA = """
CREATE TABLE IF NOT EXISTS bus_ledger (
    bus TEXT NOT NULL,
    event_id TEXT NOT NULL,
    consumer TEXT NOT NULL,
    outcome TEXT NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (bus, event_id, consumer)
);
"""

# (event id, the rule targets ``rule/target`` it was routed to)
Received = tuple[str, Sequence[str]]
# (event id, rule target, DELIVERED or DEAD_LETTERED)
Outcome = tuple[str, str, str]

# Both dialects: an event routed now that was unmatched when first received (a rule added
# since) becomes matched; a delivered outcome never goes back.
RECORD_EVENT = (
    "INSERT INTO bus_ledger VALUES ({p}, {p}, '', {p}, {p})"
    " ON CONFLICT (bus, event_id, consumer) DO UPDATE SET outcome = 'matched'"
    " WHERE excluded.outcome = 'matched'"
)
RECORD_ROUTE = (
    "INSERT INTO bus_ledger VALUES ({p}, {p}, {p}, 'pending', {p})"
    " ON CONFLICT (bus, event_id, consumer) DO NOTHING"
)
SETTLE = (
    "UPDATE bus_ledger SET outcome = {p}, updated = {p}"
    " WHERE bus = {p} AND event_id = {p} AND consumer = {p} AND outcome <> 'delivered'"
)
COUNTS = "SELECT consumer, outcome, count(*) FROM bus_ledger WHERE bus = {p} GROUP BY 1, 2"
BUSES = "SELECT DISTINCT bus FROM bus_ledger ORDER BY bus"


@dataclass(frozen=True, slots=True)
class TargetAccount:
    """One rule target's share: the events routed to it and what became of them."""

    rule: str
    target: str
    matched: int = 0
    delivered: int = 0
    dead_lettered: int = 0

    @property
    def pending(self) -> int:
        """Routed, not yet delivered nor dead-lettered: in flight, or lost by a crash."""
        return self.matched - self.delivered - self.dead_lettered

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "target": self.target, "matched": self.matched,
                "delivered": self.delivered, "deadLettered": self.dead_lettered,
                "pending": self.pending}  # fmt: skip


@dataclass(frozen=True, slots=True)
class BusAccounting:
    """What a bus did with the events it received (see the module's invariant)."""

    bus: str
    published: int = 0
    matched: int = 0
    unmatched: int = 0
    targets: tuple[TargetAccount, ...] = ()

    @property
    def balanced(self) -> bool:
        """Every event accounted for: each routed one delivered or dead-lettered."""
        return self.published == self.matched + self.unmatched and all(
            t.pending == 0 for t in self.targets
        )

    def rule(self, name: str) -> TargetAccount:
        """The rule's targets added up (target ``*``)."""
        mine = [t for t in self.targets if t.rule == name]
        return TargetAccount(name, "*", sum(t.matched for t in mine),
                             sum(t.delivered for t in mine),
                             sum(t.dead_lettered for t in mine))  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {"bus": self.bus, "published": self.published, "matched": self.matched,
                "unmatched": self.unmatched, "balanced": self.balanced,
                "targets": [t.to_json() for t in self.targets]}  # fmt: skip


def summarize(bus: str, rows: Iterable[tuple[str, str, int]]) -> BusAccounting:
    """The accounting from ``(consumer, outcome, count)`` rows of the ledger."""
    events = {MATCHED: 0, UNMATCHED: 0}
    targets: dict[str, dict[str, int]] = {}
    for consumer, outcome, count in rows:
        if consumer == "":
            events[outcome] = events.get(outcome, 0) + int(count)
        else:
            counts = targets.setdefault(consumer, {})
            counts[outcome] = counts.get(outcome, 0) + int(count)
    accounts = []
    for consumer in sorted(targets):
        counts = targets[consumer]
        rule, _, target = consumer.partition("/")
        accounts.append(TargetAccount(rule, target, sum(counts.values()),
                                      counts.get(DELIVERED, 0),
                                      counts.get(DEAD_LETTERED, 0)))  # fmt: skip
    return BusAccounting(bus, events[MATCHED] + events[UNMATCHED], events[MATCHED],
                         events[UNMATCHED], tuple(accounts))  # fmt: skip


def event_rows(bus: str, received: Sequence[Received], now: float) -> list[tuple[Any, ...]]:
    return [(bus, event_id, MATCHED if routes else UNMATCHED, now) for event_id, routes in received]


def route_rows(bus: str, received: Sequence[Received], now: float) -> list[tuple[Any, ...]]:
    return [(bus, event_id, route, now) for event_id, routes in received for route in routes]


def settle_rows(bus: str, outcomes: Sequence[Outcome], now: float) -> list[tuple[Any, ...]]:
    return [(outcome, now, bus, event_id, consumer) for event_id, consumer, outcome in outcomes]


class Ledger:
    """The ledger in a SQLite file (the bus database)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn = connect(url)
        self._conn.executescript(SCHEMA)
        self._lock = threading.Lock()

    def received(self, bus: str, events: Sequence[Received], *, replay: bool = False) -> None:
        """Record events the bus received and the rule targets each was routed to (before
        delivering them). A replay is no new publication: only its routes are recorded."""
        now = time.time()
        with self._lock, transaction(self._conn) as conn:
            if not replay:
                conn.executemany(RECORD_EVENT.format(p="?"), event_rows(bus, events, now))
            conn.executemany(RECORD_ROUTE.format(p="?"), route_rows(bus, events, now))

    def settled(self, bus: str, outcomes: Sequence[Outcome]) -> None:
        """Record how deliveries ended (delivered, or parked in a dead-letter queue)."""
        with self._lock, transaction(self._conn) as conn:
            conn.executemany(SETTLE.format(p="?"), settle_rows(bus, outcomes, time.time()))

    def accounting(self, bus: str) -> BusAccounting:
        with self._lock:
            rows = self._conn.execute(COUNTS.format(p="?"), (bus,)).fetchall()
        return summarize(bus, rows)

    def buses(self) -> list[str]:
        with self._lock:
            return [bus for (bus,) in self._conn.execute(BUSES).fetchall()]

    def close(self) -> None:
        self._conn.close()
