"""The operator's redrive of parked orders, seen through to the end.

Redriving a dead letter marks it and writes ``DeadLetterRedriven`` to the orders outbox in
one transaction (:meth:`shop.outbox.DeadLetters.redrive`); the engine's rule then starts the
execution that resumes the saga at the parked step. If an engine process is running on the
working directory (the demo's worker, ``--serve``) it does that and we only wait; if none is,
we run the shop's runtime here, with the injected faults off, until the resumed sagas end.
On PostgreSQL the runtime here joins the cluster for that time (running workers, if any,
share the work: the execution's name starts each resumed saga once).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sagaway import Journal, open_journal
from shop.config import ShopConfig
from shop.lock import EngineBusy
from shop.outbox import DeadLetters
from shop.saga import STATE_MACHINE_ARN, resume_name
from shop.services.orders import OrdersService
from shop.system import ShopRuntime


@dataclass(frozen=True, slots=True)
class Redriven:
    letter_id: int
    queue: str
    order_id: str
    execution: str
    execution_status: str = "RUNNING"
    order_status: str = ""


async def redrive(
    config: ShopConfig, letter_ids: Sequence[int] | None, *, timeout: float = 120.0
) -> list[Redriven]:
    """Redrive the given dead letters (None: every waiting one) and wait for their resumed
    sagas to end. Raises KeyError/ValueError for an unknown or already redriven letter."""
    marked = _mark(config, letter_ids)
    runtime = ShopRuntime(config.without_faults())
    try:
        await runtime.start()
        own = True
    except EngineBusy:
        own = False  # the running engine's rule resumes them
    try:
        return await _wait(config, marked, timeout)
    finally:
        if own:
            await runtime.stop()
        runtime.shop.close()


def _mark(config: ShopConfig, letter_ids: Sequence[int] | None) -> list[Redriven]:
    dlq = DeadLetters(config.url("orders"))
    try:
        ids = [letter.id for letter in dlq.list()] if letter_ids is None else list(letter_ids)
        marked = []
        for letter_id in ids:
            letter = dlq.redrive(letter_id)
            order_id = str(letter.body["document"]["order"]["orderId"])
            marked.append(Redriven(letter.id, letter.queue, order_id, resume_name(letter.body)))
        return marked
    finally:
        dlq.close()


async def _wait(config: ShopConfig, marked: list[Redriven], timeout: float) -> list[Redriven]:
    journal = open_journal(config.journal_url)
    orders = OrdersService(config.url("orders"))
    deadline = time.monotonic() + timeout
    try:
        while True:
            done = [_status(journal, orders, r) for r in marked]
            finished = all(r.execution_status != "RUNNING" for r in done)
            if finished or time.monotonic() > deadline:
                return done
            await asyncio.sleep(0.1)
    finally:
        journal.close()
        orders.db.close()


def _status(journal: Journal, orders: OrdersService, item: Redriven) -> Redriven:
    record = journal.find_execution(STATE_MACHINE_ARN, item.execution)
    execution = "RUNNING" if record is None else record.status
    order = orders.get(item.order_id)
    status = "" if order is None else str(order["status"])
    return Redriven(item.letter_id, item.queue, item.order_id, item.execution, execution, status)
