"""An EventBridge-style bus: rules (an event pattern and targets), archive and replay.

``put_events`` archives each event (when an archive is configured), then hands it to the
targets of every enabled rule whose pattern matches. Delivery is at-least-once: a target that
fails is retried with backoff, and after ``max_attempts`` the event goes to the rule's
dead-letter queue, or the bus's ``dead_letter`` queue when the rule names none, instead of
being lost. Rules with ``dedupe`` see each event
id once (inbox), so redeliveries and replays do not repeat a non-idempotent target.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace

from sagaway.messaging.patterns import matches, validate_pattern
from sagaway.messaging.stores import ArchiveStore, DeadLetterStore, InboxStore
from sagaway.messaging.targets import Target
from sagaway.observability.context import EVENT_FIELD, remote_context

log = logging.getLogger("sagaway.messaging")
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
    ) -> None:
        self.name = name
        self.archive = archive
        self.inbox = inbox
        self.dead_letter = dead_letter
        self.retry_base = retry_base
        self.rules: dict[str, Rule] = {}
        self.delivered = 0

    def put_rule(self, rule: Rule) -> Rule:
        validate_pattern(rule.pattern)
        if rule.dedupe and self.inbox is None:
            raise ValueError(f"rule {rule.name}: de-duplication needs an inbox")
        self.rules[rule.name] = rule
        return rule

    async def put_events(self, events: list[dict[str, Any]], *, replay: str | None = None) -> None:
        if self.archive is not None and replay is None:
            await asyncio.to_thread(self.archive.add, events)
        for event in events:
            if EVENT_FIELD in event:
                self._published(event)
        deliveries = [
            self._deliver(rule, target, event)
            for event in events
            for rule in self.rules.values()
            if rule.enabled and matches(rule.pattern, event)
            for target in rule.targets
        ]
        await asyncio.gather(*deliveries)

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

    async def _deliver(self, rule: Rule, target: Target, event: dict[str, Any]) -> None:
        parent = remote_context(event[EVENT_FIELD]) if EVENT_FIELD in event else None
        if parent is None:
            await self._deliver_with_retries(rule, target, event)
            return
        attributes = {**_event_attributes(self.name, event), "sagaway.rule": rule.name,
                      "sagaway.target": target.name}  # fmt: skip
        with tracer.start_as_current_span(f"deliver {event.get('detail-type')}", parent,
                                          trace.SpanKind.CONSUMER, attributes):  # fmt: skip
            # The target (a StartExecution, a webhook) runs in this span's context.
            await self._deliver_with_retries(rule, target, event)

    async def _deliver_with_retries(
        self, rule: Rule, target: Target, event: dict[str, Any]
    ) -> None:
        consumer = f"{rule.name}/{target.name}"
        if rule.dedupe and not await self._first_time(consumer, event["id"]):
            return
        error: BaseException | None = None
        for attempt in range(rule.max_attempts):
            try:
                await target.deliver(event)
                self.delivered += 1
                return
            except Exception as exc:
                error = exc
                await asyncio.sleep(self.retry_base * 2**attempt)
        log.warning("rule %s: delivery to %s failed: %r", rule.name, target.name, error)
        if rule.dedupe and self.inbox is not None:
            await asyncio.to_thread(self.inbox.forget, consumer, event["id"])
        queue = rule.dead_letter or self.dead_letter
        if queue is not None:
            failure = {"error": type(error).__name__, "cause": str(error)}
            await asyncio.to_thread(
                queue.put, f"{rule.name}-dlq", event, failure, json.dumps(event)
            )

    async def _first_time(self, consumer: str, event_id: str) -> bool:
        assert self.inbox is not None
        return await asyncio.to_thread(self.inbox.first_time, consumer, event_id)


def _event_attributes(bus: str, event: dict[str, Any]) -> dict[str, str]:
    return {"messaging.system": "sagaway", "messaging.destination.name": bus,
            "messaging.message.id": str(event.get("id")),
            "sagaway.event.detail_type": str(event.get("detail-type"))}  # fmt: skip
