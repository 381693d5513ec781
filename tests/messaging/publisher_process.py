"""A process that runs a putEvents state machine to the end and then dies (SIGKILL) before
its bus relay ever runs: the step that published is committed, the events are not relayed.

Usage: python -m tests.messaging.publisher_process JOURNAL_URL BUS_URL EXECUTIONS
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

from sagaway.engine.engine import Engine
from sagaway.engine.integrations import ResourceRouter
from sagaway.messaging.put_events import ServerBus
from sagaway.store.open import open_journal

ENTRY = {"Source": "shop.orders", "DetailType": "OrderConfirmed", "Detail": {"orderId.$": "$.id"}}
DEFINITION = json.dumps({"StartAt": "Publish", "States": {"Publish": {
    "Type": "Task", "Resource": "arn:aws:states:::events:putEvents",
    "Parameters": {"Entries": [ENTRY]}, "End": True}}})  # fmt: skip


async def publish(journal_url: str, bus_url: str, executions: int) -> None:
    journal = open_journal(journal_url, owner=f"publisher-{os.getpid()}")
    bus = ServerBus(bus_url, journal=journal)  # never started: its relay does not run
    engine = Engine(journal, router=ResourceRouter(bus=bus))
    await engine.start()
    machine = engine.create_state_machine("publisher", DEFINITION)
    for n in range(executions):
        record = await engine.start_execution(machine.arn, f"o-{n}", json.dumps({"id": n}))
        assert await engine.wait_status(record.arn, 10) == "SUCCEEDED"
    print("committed", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    asyncio.run(publish(sys.argv[1], sys.argv[2], int(sys.argv[3])))
