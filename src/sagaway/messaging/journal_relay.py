"""The relay from the journal's outbox to the bus.

A step that publishes (a putEvents Task) commits its events as outbox rows in the step's own
transaction; this relay hands them to the bus in order, then removes them. A process that dies
after the commit leaves the rows for the next relay on the same journal (any member of a
cluster: one relays at a time, see ``Journal.leads_relay``), and one that dies between handing
rows on and removing them hands them on again: at-least-once, which the stable event ids and
the rules' inbox turn into once per rule.
"""

from __future__ import annotations

import asyncio
import json
import logging

from sagaway.messaging.outbox import Publish, RelayLoop
from sagaway.store.ports import Journal

log = logging.getLogger("sagaway.messaging")


class JournalRelay(RelayLoop):
    def __init__(self, journal: Journal, publish: Publish, *, batch: int = 200,
                 idle: float = 0.05) -> None:  # fmt: skip
        self.journal = journal
        self.publish = publish
        self.batch = batch
        self.idle = idle
        self._task: asyncio.Task[None] | None = None

    async def relay_once(self) -> int:
        if not await asyncio.to_thread(self.journal.leads_relay):
            return 0  # another member of the cluster relays
        rows = await asyncio.to_thread(self.journal.pending_outbox, self.batch)
        if not rows:
            return 0
        await self.publish([json.loads(body) for _, _, body in rows])
        await asyncio.to_thread(self.journal.remove_outbox, [row_id for row_id, _, _ in rows])
        return len(rows)

    def __str__(self) -> str:
        return "relay of the journal's outbox"

    async def stop(self) -> None:
        await self._cancel()
