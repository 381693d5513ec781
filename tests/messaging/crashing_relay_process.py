"""A process that relays a journal's outbox to a bus whose de-duplicating rule's target
kills the process (SIGKILL) as it is handed the first event: the inbox holds the event's
claim, the target never had it, and the journal's outbox rows are not removed.

Usage: python -m tests.messaging.crashing_relay_process JOURNAL_URL BUS_URL
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from typing import Any

from sagaway.messaging import CallableTarget, Rule
from sagaway.messaging.put_events import ServerBus
from sagaway.store.open import open_journal

# The bus hands events to the target concurrently (threads): only the first reports and
# kills, in one write, so two reports can't interleave into one garbled line.
_FIRST = threading.Lock()


def die(event: dict[str, Any]) -> None:
    if not _FIRST.acquire(blocking=False):
        threading.Event().wait()  # the first caller is killing the process
    os.write(sys.stdout.fileno(), f"claimed {event['id']}\n".encode())
    os.kill(os.getpid(), signal.SIGKILL)


async def relay(journal_url: str, bus_url: str) -> None:
    journal = open_journal(journal_url, owner=f"relay-{os.getpid()}")
    bus = ServerBus(bus_url, journal=journal)
    rule = Rule("once", {"source": ["shop.orders"]}, [CallableTarget("collect", die)],
                dedupe=True)  # fmt: skip
    bus.bus.put_rule(rule)
    assert bus.journal_relay is not None
    deadline = time.monotonic() + 20
    while await bus.journal_relay.relay_once() == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)  # another relay leads (on PostgreSQL): wait for the lead
    print("not killed", flush=True)


if __name__ == "__main__":
    asyncio.run(relay(sys.argv[1], sys.argv[2]))
