"""Several workers on one PostgreSQL database: leases, take-over, wake-ups.

Each worker owns the executions it runs (a lease per execution, renewed for all of them by
one statement). Ownership is sticky: steps are journaled without asking who owns what, the
journal's guarded UPDATE refuses a step from a worker that lost the lease. Work nobody owns
(new executions started by a client, a worker that shut down) is announced with NOTIFY; work
whose owner died is found when its lease expires. Calls for an execution another member
runs (SendTaskSuccess, StopExecution, …) are recorded in the journal and announced on a
second channel; each member applies those for the executions it owns (``deliveries``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import uuid
from typing import TYPE_CHECKING

from sagaway.engine.deliveries import Deliveries
from sagaway.store.ports import DELIVERY_CHANNEL, ClusterOperations, ExecutionRecord, StoreError
from sagaway.store.retry import Backoff

if TYPE_CHECKING:
    from sagaway.engine.engine import Engine

log = logging.getLogger("sagaway.cluster")


def member_identity() -> str:
    """A cluster member's default name: host and pid for the operator, and a random suffix
    so a restarted process that reuses a pid is never taken for its predecessor."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Cluster:
    def __init__(self, engine: Engine, journal: ClusterOperations) -> None:
        self.engine = engine
        self.journal = journal
        self.lease = float(journal.lease_seconds)
        self.deliveries = Deliveries(engine, journal)
        self._wake = asyncio.Event()
        self._mail = asyncio.Event()
        self._stop = threading.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._listener: threading.Thread | None = None
        self.claimed = 0

    def start(self) -> None:
        loop = asyncio.get_running_loop()

        def notified(channel: str) -> None:
            wake = self._mail if channel == DELIVERY_CHANNEL else self._wake
            loop.call_soon_threadsafe(wake.set)

        self._listener = threading.Thread(
            target=self.journal.listen, args=(notified, self._stop), daemon=True
        )
        self._listener.start()
        self._tasks = [
            loop.create_task(self._claim_loop(), name="sagaway-claim"),
            loop.create_task(self._renew_loop(), name="sagaway-renew"),
            loop.create_task(self._delivery_loop(), name="sagaway-deliveries"),
        ]

    async def stop(self, release: bool = True) -> None:
        self._stop.set()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if release:
            # Graceful: hand the unfinished executions to the other workers right away.
            await asyncio.to_thread(self.journal.release)
        if self._listener is not None:
            await asyncio.to_thread(self._listener.join, 5)

    async def _claim_loop(self) -> None:
        backoff = Backoff()
        while True:
            # Cleared before claiming, not after: a NOTIFY that arrives while the claim runs
            # must trigger another claim, or its executions wait half a lease for the timer.
            self._wake.clear()
            try:
                await self._claim_all()
            except StoreError as exc:  # the database is away: try again, not too often
                delay = backoff.next()
                log.warning("claiming failed (%s); again in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                continue
            backoff.reset()
            self.engine.recovery.done = True  # the first full pass took what was ours
            # Expired leases announce nothing: look again after half a lease at the latest.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.lease / 2)

    async def _claim_all(self) -> None:
        while True:
            records = await asyncio.to_thread(self.journal.claim)
            for record in records:
                self.engine.recovery.adopt(record)
            self.claimed += len(records)
            if records:
                log.info("claimed %d executions", len(records))
                self._mail.set()  # calls recorded while their owner was dead wait for us
            if len(records) < 500:
                return

    def reclaim(self, arns: list[str]) -> list[ExecutionRecord]:
        """Executions this member stopped running when the database failed under it: those
        it still owns, or nobody does, are its own again (a thread's call)."""
        return self.journal.reclaim(arns)

    async def _renew_loop(self) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                await asyncio.to_thread(self.journal.renew)
            except Exception as exc:
                log.error("lease renewal failed: %s", exc)

    async def _delivery_loop(self) -> None:
        while True:
            self._mail.clear()  # before applying, like the claim loop's wake flag
            unsettled = False
            try:
                unsettled = await self.deliveries.apply_pending()
            except Exception as exc:  # the database may come back: keep the loop alive
                log.error("applying deliveries failed: %s", exc)
            # Applied deliveries are deleted once journaled: look again soon. A missed
            # NOTIFY (listener reconnecting) is caught by the half-lease look.
            timeout = min(0.2, self.lease / 2) if unsettled else self.lease / 2
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._mail.wait(), timeout=timeout)
