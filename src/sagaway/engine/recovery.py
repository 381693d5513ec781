"""Resuming executions without holding up the server: after a restart, after a take-over,
and after the database came back.

A server opens its port first and resumes its RUNNING executions in the background, a
bounded number per turn of the event loop, so API calls are answered while it recovers
(``/readyz`` says not ready until it is done). An execution that cannot be resumed (its
state or definition no longer loads) is failed alone with ``States.Runtime`` instead of
stopping the recovery of the others. An execution whose step could not be journaled (the
database went away, the disk filled up) is resumed from its journal once the database
answers again, with backoff between attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from sagaway.store.ports import ExecutionRecord, StepRecord, StoreError
from sagaway.store.retry import Backoff

if TYPE_CHECKING:
    from sagaway.engine.engine import Engine

log = logging.getLogger("sagaway.engine")

# Executions adopted per turn of the event loop: each re-dispatches its Tasks and timers.
BATCH = 50
UNRESUMABLE = "States.Runtime"
T = TypeVar("T")


class Recovery:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # False until every execution open at start is running again (readiness).
        self.done = False
        self.left: dict[str, ExecutionRecord] = {}  # loaded, not adopted yet
        self.started_here: set[str] = set()  # created while the snapshot is read
        self.orphans: set[str] = set()  # detached by a journal failure
        self.failed = 0  # executions failed because they could not be resumed
        self._orphaned: asyncio.Event | None = None
        self._loaded = asyncio.Event()  # the open executions are read (``left`` is filled)
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, *, resume_all: bool) -> None:
        """Start the background work; ``resume_all``: take every open execution (a single
        server), else the cluster's claims bring them in (and set ``done``)."""
        loop = asyncio.get_running_loop()
        self._orphaned = asyncio.Event()
        self._tasks.append(loop.create_task(self._orphan_loop(), name="sagaway-orphans"))
        if resume_all:
            self._tasks.append(loop.create_task(self._resume_all(), name="sagaway-recovery"))
        else:
            self._loaded.set()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def finished(self) -> None:
        """Wait until every execution open at start runs again (or was failed)."""
        while not self.done:
            await asyncio.sleep(0.01)

    def started(self, arn: str) -> None:
        """``arn`` was just created here: recovery's snapshot may hold it, RUNNING at a
        version it has since left (or ended); resuming that would run it twice."""
        if self._loaded.is_set():
            self.left.pop(arn, None)
        else:
            self.started_here.add(arn)

    def progress(self) -> str:
        """What recovery is doing, for readiness probes."""
        if not self._loaded.is_set():
            return "reading the open executions"
        return f"{len(self.left)} open executions not resumed yet"

    async def _resume_all(self) -> None:
        records = await retrying(self.engine.journal.open_executions, "reading open executions")
        self.left = {r.arn: r for r in records if r.arn not in self.started_here}
        self.started_here.clear()
        self._loaded.set()
        resumed = 0
        while self.left:
            for _ in range(min(BATCH, len(self.left))):
                resumed += self.adopt(self.left.pop(next(iter(self.left))))
            await asyncio.sleep(0)  # let API calls and resumed executions run
        self.done = True
        if resumed:
            log.info("resumed %d open executions from the journal", resumed)

    async def resume_first(self, arn: str) -> None:
        """A call for an execution recovery has not reached yet: resume it now, so that a
        stop, a task answer or a wait finds it running."""
        if not self._loaded.is_set():
            await self._loaded.wait()
        record = self.left.pop(arn, None)
        if record is not None:
            self.adopt(record)

    def adopt(self, record: ExecutionRecord) -> bool:
        """``engine.adopt``, failing the execution alone when it cannot be resumed."""
        try:
            return self.engine.adopt(record)
        except Exception as exc:  # anything: one bad execution must not stop the others
            log.exception("cannot resume %s; failing it", record.arn)
            self.engine.actors.pop(record.arn, None)
            self._fail(record, exc)
            return False

    def _fail(self, record: ExecutionRecord, exc: BaseException) -> None:
        try:
            last = self.engine.journal.history_page(record.arn, 1, reverse=True)
        except Exception as error:
            log.error("cannot read %s's history to fail it: %s", record.arn, error)
            return
        step = unresumable_step(record, last[0]["id"] if last else 0, exc, self.engine.clock.now())
        self.failed += 1
        self.engine.committer.commit([step]).add_done_callback(_log_failure)

    # -- executions detached by a journal failure ------------------------------------------
    def orphaned(self, arn: str) -> None:
        self.orphans.add(arn)
        if self._orphaned is not None:
            self._orphaned.set()

    async def _orphan_loop(self) -> None:
        assert self._orphaned is not None
        backoff = Backoff(first=0.2, cap=5.0)
        while True:
            await self._orphaned.wait()
            await asyncio.sleep(backoff.next())
            arns = sorted(self.orphans)
            try:
                records = await asyncio.to_thread(self._reload, arns)
            except StoreError as exc:
                log.warning("database still unavailable (%s); retrying", exc)
                continue
            self.orphans.difference_update(arns)
            for record in records:
                self.adopt(record)
            if not self.orphans:
                self._orphaned.clear()
                if self.engine.committer.failing is None:
                    backoff.reset()

    def _reload(self, arns: list[str]) -> list[ExecutionRecord]:
        cluster = self.engine.cluster
        if cluster is not None:  # only those this member still owns or may take back
            return cluster.reclaim(arns)
        found = (self.engine.journal.get_execution(arn) for arn in arns)
        return [r for r in found if r is not None and r.status == "RUNNING"]


def unresumable_step(
    record: ExecutionRecord, last_event_id: int, exc: BaseException, now: float
) -> StepRecord:
    """The step that fails an execution which cannot be resumed (its state is kept as it
    was, for an operator to look at)."""
    cause = f"Sagaway could not resume this execution: {type(exc).__name__}: {exc}"[:32768]
    event = {
        "executionFailedEventDetails": {"cause": cause, "error": UNRESUMABLE},
        "id": last_event_id + 1,
        "previousEventId": last_event_id,
        "timestamp": now,
        "type": "ExecutionFailed",
    }
    step = StepRecord(record.arn, record.version, record.state or b"", "FAILED", [event])
    step.error, step.cause, step.stop_date = UNRESUMABLE, cause, now
    return step


async def retrying(read: Callable[[], T], what: str) -> T:
    """``read()`` in a thread, again with backoff for as long as the database is away."""
    backoff = Backoff()
    while True:
        try:
            return await asyncio.to_thread(read)
        except StoreError as exc:
            delay = backoff.next()
            log.warning("%s failed (%s); again in %.1f s", what, exc, delay)
            await asyncio.sleep(delay)


def _log_failure(future: asyncio.Future[Any]) -> None:
    if future.exception() is not None:
        log.error("journal write failed: %s", future.exception())
