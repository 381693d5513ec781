"""An EventBridge-style bus: rules (an event pattern and targets), archive and replay.

``put_events`` archives each event (when an archive is configured), then hands it to the
targets of every enabled rule whose pattern matches. Delivery is at-least-once: a target that
fails is retried with backoff, and after ``max_attempts`` the event goes to the rule's
dead-letter queue, or the bus's ``dead_letter`` queue when the rule names none, instead of
being lost. Every bus has one: by default in the database of its archive or inbox (in
memory for a bus with neither). Rules with ``dedupe`` see each event id once (inbox), so
redeliveries and replays do not repeat a non-idempotent target.

The bus's ledger (:mod:`sagaway.messaging.ledger`) records each event received, the rule
targets it was routed to, and whether each delivered it or dead-lettered it:
``EventBus.accounting()`` says so for the bus.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace

from sagaway.messaging.ledger import DEAD_LETTERED, DELIVERED, BusAccounting, Outcome
from sagaway.messaging.patterns import matches, validate_pattern
from sagaway.messaging.stores import (
    ArchiveStore,
    DeadLetterStore,
    InboxStore,
    LedgerStore,
    open_dead_letters,
    open_ledger,
)
from sagaway.messaging.targets import Target
from sagaway.observability.context import EVENT_FIELD, remote_context

log = logging.getLogger("sagaway.messaging")
# Where a bus with no archive or inbox keeps its dead letters and ledger.
MEMORY = "sqlite:///:memory:"
tracer = trace.get_tracer("sagaway.messaging")


@dataclass(slots=True)
class Rule:
    name: str
    pattern: dict[str, Any]
    targets: list[Target] = field(default_factory=list)
    enabled: bool = True
    dedupe: bool = False
    max_attempts: int = 5
    dead_letter: DeadLetterStore | None = None


class EventBus:
    def __init__(
        self,
        name: str = "default",
        *,
        archive: ArchiveStore | None = None,
        inbox: InboxStore | None = None,
        retry_base: float = 0.05,
        dead_letter: DeadLetterStore | None = None,
        ledger: LedgerStore | None = None,
    ) -> None:
        """``dead_letter``: where a rule naming no queue parks what it could not deliver;
        ``ledger``: where the bus accounts for its events. Both default to the database of
        the ``archive`` (or ``inbox``), or to memory when the bus has neither; the bus
        closes those it opened (:meth:`close`)."""
        self.name = name
        self.archive = archive
        self.inbox = inbox
        self.retry_base = retry_base
        self.rules: dict[str, Rule] = {}
        self.delivered = 0
        beside = archive.url if archive is not None else inbox.url if inbox is not None else None
        self._opened: list[DeadLetterStore | LedgerStore] = []
        if dead_letter is None:
            dead_letter = open_dead_letters(beside or MEMORY)
            self._opened.append(dead_letter)
        if ledger is None:
            ledger = open_ledger(beside or MEMORY)
            self._opened.append(ledger)
        self.dead_letter: DeadLetterStore = dead_letter
        self.ledger: LedgerStore = ledger

    def put_rule(self, rule: Rule) -> Rule:
        validate_pattern(rule.pattern)
        if rule.dedupe and self.inbox is None:
            raise ValueError(f"rule {rule.name}: de-duplication needs an inbox")
        self.rules[rule.name] = rule
        return rule

    async def put_events(self, events: list[dict[str, Any]], *, replay: str | None = None) -> None:
        """Archive the events (unless replayed), record them in the ledger with the rule
        targets each is routed to, deliver them, and record how each delivery ended. A
        failure to park a dead letter (its database away) raises once the other deliveries
        are done: the caller (a relay) hands the events on again."""
        if self.archive is not None and replay is None:
            await asyncio.to_thread(self.archive.add, events)
        for event in events:
            if EVENT_FIELD in event:
                self._published(event)
        routes = [
            [(rule, target) for rule in self._matching(event) for target in rule.targets]
            for event in events
        ]
        received = [
            (event["id"], [_consumer(rule, target) for rule, target in pairs])
            for event, pairs in zip(events, routes, strict=True)
        ]
        await asyncio.to_thread(self.ledger.received, self.name, received, replay=bool(replay))
        results = await asyncio.gather(
            *(self._deliver(rule, target, event)
              for event, pairs in zip(events, routes, strict=True) for rule, target in pairs),
            return_exceptions=True,
        )  # fmt: skip
        outcomes = [r for r in results if isinstance(r, tuple)]
        if outcomes:
            await asyncio.to_thread(self.ledger.settled, self.name, outcomes)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    def _matching(self, event: dict[str, Any]) -> list[Rule]:
        return [r for r in self.rules.values() if r.enabled and matches(r.pattern, event)]

    def accounting(self) -> BusAccounting:
        """What this bus did with every event it received (blocking: a store read)."""
        return self.ledger.accounting(self.name)

    def close(self) -> None:
        """Close the stores the bus opened itself (its default dead letters and ledger)."""
        for store in self._opened:
            store.close()
        self._opened.clear()

    async def replay(self, since: float, until: float, *, name: str = "replay") -> int:
        """Send the archived events of ``[since, until)`` through the rules again."""
        if self.archive is None:
            raise ValueError("replay needs an archive")
        events = await asyncio.to_thread(self.archive.between, since, until)
        await self.put_events(events, replay=name)
        return len(events)

    def _published(self, event: dict[str, Any]) -> None:
        # A traced event marks its trace when it reaches the bus, matched by a rule or not.
        span = tracer.start_span(f"publish {event.get('detail-type')}",
                                 remote_context(event[EVENT_FIELD]), trace.SpanKind.PRODUCER,
                                 _event_attributes(self.name, event))  # fmt: skip
        span.end()

    async def _deliver(self, rule: Rule, target: Target, event: dict[str, Any]) -> Outcome | None:
        parent = remote_context(event[EVENT_FIELD]) if EVENT_FIELD in event else None
        if parent is None:
            return await self._deliver_with_retries(rule, target, event)
        attributes = {**_event_attributes(self.name, event), "sagaway.rule": rule.name,
                      "sagaway.target": target.name}  # fmt: skip
        with tracer.start_as_current_span(f"deliver {event.get('detail-type')}", parent,
                                          trace.SpanKind.CONSUMER, attributes):  # fmt: skip
            # The target (a StartExecution, a webhook) runs in this span's context.
            return await self._deliver_with_retries(rule, target, event)

    async def _deliver_with_retries(
        self, rule: Rule, target: Target, event: dict[str, Any]
    ) -> Outcome | None:
        """How the delivery ended, or None when the inbox says the target had it already
        (its first delivery was accounted for)."""
        consumer = _consumer(rule, target)
        if rule.dedupe and not await self._first_time(consumer, event["id"]):
            return None
        error: BaseException | None = None
        for attempt in range(rule.max_attempts):
            try:
                await target.deliver(event)
                self.delivered += 1
                return event["id"], consumer, DELIVERED
            except Exception as exc:
                error = exc
                await asyncio.sleep(self.retry_base * 2**attempt)
        log.warning("rule %s: delivery to %s failed, dead-lettered: %r", rule.name,
                    target.name, error)  # fmt: skip
        queue = rule.dead_letter or self.dead_letter
        failure = {"error": type(error).__name__, "cause": str(error)}
        # One message per event and target: two targets (or rules) failing on one event
        # park two messages. Parked before the inbox forgets the event, so a crash in
        # between leaves the event parked rather than neither delivered nor parked.
        message_id = f"{consumer}#{event['id']}"
        await asyncio.to_thread(queue.put, f"{rule.name}-dlq", event, failure, message_id)
        if rule.dedupe and self.inbox is not None:
            await asyncio.to_thread(self.inbox.forget, consumer, event["id"])
        return event["id"], consumer, DEAD_LETTERED

    async def _first_time(self, consumer: str, event_id: str) -> bool:
        assert self.inbox is not None
        return await asyncio.to_thread(self.inbox.first_time, consumer, event_id)


def _consumer(rule: Rule, target: Target) -> str:
    """How the inbox and the ledger name a rule target."""
    return f"{rule.name}/{target.name}"


def _event_attributes(bus: str, event: dict[str, Any]) -> dict[str, str]:
    return {"messaging.system": "sagaway", "messaging.destination.name": bus,
            "messaging.message.id": str(event.get("id")),
            "sagaway.event.detail_type": str(event.get("detail-type"))}  # fmt: skip
