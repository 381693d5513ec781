"""An EventBridge-style bus: rules (an event pattern and targets), archive and replay.

``put_events`` archives each event (when an archive is configured), then hands it to the
targets of every enabled rule whose pattern matches. Delivery is at-least-once: a target that
fails is retried with backoff, and after ``max_attempts`` the event goes to the rule's
dead-letter queue, or the bus's ``dead_letter`` queue when the rule names none, instead of
being lost. Every bus has one: by default in the database of its archive or inbox (in
memory for a bus with neither). Rules with ``dedupe`` see each event id once (inbox), so
redeliveries and replays do not repeat a non-idempotent target.

For such a rule the inbox mark is a claim (this bus's ``owner``, the time, the event),
completed only once the target has the event (or it is parked), after the ledger records
the outcome. A bus killed between claim and delivery leaves the claim open; after
``claim_timeout`` seconds :meth:`EventBus.redeliver_expired` (which the relay loops run)
takes it over and delivers again. A bus killed after the target succeeded and before the
completion delivers again too: targets must be idempotent (keyed by the event id).

The bus's ledger (:mod:`sagaway.messaging.ledger`) records each event received, the rule
targets it was routed to, and whether each delivered it or dead-lettered it:
``EventBus.accounting()`` says so for the bus.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace

from sagaway.messaging.events import refusal
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
        claim_timeout: float = 60.0,
    ) -> None:
        """``dead_letter``: where a rule naming no queue parks what it could not deliver;
        ``ledger``: where the bus accounts for its events. Both default to the database of
        the ``archive`` (or ``inbox``), or to memory when the bus has neither; the bus
        closes those it opened (:meth:`close`). ``claim_timeout``: seconds after which
        another bus may take over an inbox claim left open (longer than a delivery with
        all its retries takes, or a slow delivery is made twice)."""
        self.name = name
        self.claim_timeout = claim_timeout
        # Who holds an inbox claim: says which process to look at when one is left open.
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
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
        are done: the caller (a relay) hands the events on again. ValueError, before
        anything is done, for an event the bus refuses (:func:`~.events.refusal`)."""
        refused = [reason for reason in map(refusal, events) if reason is not None]
        if refused:
            raise ValueError(f"the bus refuses {len(refused)} event(s): {refused[0]}")
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
            *(self._deliver(rule, target, event, claim=rule.dedupe)
              for event, pairs in zip(events, routes, strict=True) for rule, target in pairs),
            return_exceptions=True,
        )  # fmt: skip
        await self._settle(results)

    async def redeliver_expired(self, limit: int = 100) -> int:
        """Deliver again the events whose inbox claim was left open longer than
        ``claim_timeout`` (the bus that claimed them died or hangs), for the rules of this
        bus; claims of rules it does not have are left to a bus that has them. How many
        deliveries it made."""
        if self.inbox is None:
            return 0
        routes = {_consumer(rule, target): (rule, target) for rule in self.rules.values()
                  if rule.enabled and rule.dedupe for target in rule.targets}  # fmt: skip
        if not routes:
            return 0
        # Only this bus's rule targets: claims of others never fill the batch.
        expired = await asyncio.to_thread(
            self.inbox.expired, self.claim_timeout, limit, sorted(routes)
        )
        jobs = []
        for consumer, _, event in expired:
            if consumer in routes and await self._claim(consumer, event):
                rule, target = routes[consumer]
                jobs.append(self._deliver(rule, target, event, claim=False))
        if jobs:
            log.warning("redelivering %d event(s) whose delivery was interrupted", len(jobs))
        await self._settle(await asyncio.gather(*jobs, return_exceptions=True))
        return len(jobs)

    async def _settle(self, results: list[Any]) -> None:
        """Record how the deliveries ended, then complete (or, for a parked event, forget)
        their inbox claims: in this order, so a crash in between leaves a claim to redeliver
        rather than an outcome not recorded. Raises the first delivery's exception."""
        finished = [r for r in results if isinstance(r, _Finished)]
        if finished:
            outcomes = [f.outcome for f in finished]
            await asyncio.to_thread(self.ledger.settled, self.name, outcomes)
        claimed = [f.outcome for f in finished if f.claimed]
        delivered = [(consumer, eid) for eid, consumer, how in claimed if how == DELIVERED]
        if delivered and self.inbox is not None:
            await asyncio.to_thread(self.inbox.complete, delivered)
        for event_id, consumer, how in claimed:
            if how == DEAD_LETTERED and self.inbox is not None:
                # Parked: a later hand-on or redrive of the event is handled again.
                await asyncio.to_thread(self.inbox.forget, consumer, event_id)
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

    async def _deliver(
        self, rule: Rule, target: Target, event: dict[str, Any], *, claim: bool
    ) -> _Finished | None:
        """How the delivery ended, or None when ``claim`` found the event claimed (it was
        delivered, or is being delivered, by this or another bus)."""
        if claim and not await self._claim(_consumer(rule, target), event):
            return None
        outcome = await self._traced(rule, target, event)
        return _Finished(outcome, claimed=rule.dedupe)

    async def _traced(self, rule: Rule, target: Target, event: dict[str, Any]) -> Outcome:
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
    ) -> Outcome:
        consumer = _consumer(rule, target)
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
        # between leaves the event parked (and its claim to redeliver), never neither.
        message_id = f"{consumer}#{event['id']}"
        await asyncio.to_thread(queue.put, f"{rule.name}-dlq", event, failure, message_id)
        return event["id"], consumer, DEAD_LETTERED

    async def _claim(self, consumer: str, event: dict[str, Any]) -> bool:
        assert self.inbox is not None
        return await asyncio.to_thread(
            self.inbox.claim, consumer, event, self.owner, self.claim_timeout
        )


@dataclass(frozen=True, slots=True)
class _Finished:
    """A delivery that ended (``outcome``), and whether it held an inbox claim."""

    outcome: Outcome
    claimed: bool


def _consumer(rule: Rule, target: Target) -> str:
    """How the inbox and the ledger name a rule target."""
    return f"{rule.name}/{target.name}"


def _event_attributes(bus: str, event: dict[str, Any]) -> dict[str, str]:
    return {"messaging.system": "sagaway", "messaging.destination.name": bus,
            "messaging.message.id": str(event.get("id")),
            "sagaway.event.detail_type": str(event.get("detail-type"))}  # fmt: skip
