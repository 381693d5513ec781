"""The relay from the journal's outbox to the bus.

A step that publishes (a putEvents Task) commits its events as outbox rows in the step's own
transaction; this relay hands them to the bus in order, then removes them. A process that dies
after the commit leaves the rows for the next relay on the same journal (any member of a
cluster: one relays at a time, see ``Journal.leads_relay``), and one that dies between handing
rows on and removing them hands them on again: at-least-once, which the stable event ids and
the rules' inbox turn into once per rule.

A row the bus cannot take (not JSON, or an event it refuses) is parked with the reason
(``park``: the bus's dead-letter queue ``outbox-dlq``, message id ``outbox#<row id>``)
before the rows are removed, so it never holds back the rows after it. The loop also
runs ``sweep`` (the bus's ``redeliver_expired``) every ``sweep_every`` seconds.
"""

from __future__ import annotations

import asyncio
import logging

from sagaway.messaging.outbox import (
    PARKED_QUEUE,
    Park,
    Publish,
    RelayLoop,
    Sweep,
    parked_letter,
    sort_rows,
)
from sagaway.store.ports import Journal

log = logging.getLogger("sagaway.messaging")


class JournalRelay(RelayLoop):
    def __init__(self, journal: Journal, publish: Publish, *, batch: int = 200,
                 idle: float = 0.05, park: Park | None = None,
                 sweep: Sweep | None = None) -> None:  # fmt: skip
        """Without ``park``, a row the bus cannot take stays in the outbox (and holds
        the rows after it back) until someone removes it: give one."""
        self.journal = journal
        self.publish = publish
        self.park = park
        self.sweep = sweep
        self.batch = batch
        self.idle = idle
        self._task: asyncio.Task[None] | None = None

    async def relay_once(self) -> int:
        if not await asyncio.to_thread(self.journal.leads_relay):
            return 0  # another member of the cluster relays
        rows = await asyncio.to_thread(self.journal.pending_outbox, self.batch)
        if not rows:
            return 0
        events, refused = sort_rows((row_id, body) for row_id, _, body in rows)
        if refused and self.park is None:
            raise ValueError(f"outbox row {refused[0][0]}: {refused[0][3]} (nowhere to park it)")
        for row in refused:
            log.error("%s parks row %d in %s: %s", self, row[0], PARKED_QUEUE, row[3])
            assert self.park is not None
            await asyncio.to_thread(self.park, PARKED_QUEUE, *parked_letter("outbox", row))
        if events:
            await self.publish(events)
        await asyncio.to_thread(self.journal.remove_outbox, [row_id for row_id, _, _ in rows])
        return len(rows)

    def __str__(self) -> str:
        return "relay of the journal's outbox"

    async def stop(self) -> None:
        await self._cancel()
