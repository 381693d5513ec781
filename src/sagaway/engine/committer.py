"""Group commit: many executions' steps in one transaction, one fsync for all of them.

Steps are queued from the event loop; a writer thread takes everything queued so far, writes
it in one transaction and resolves each step's future. While the thread waits on the disk
the event loop goes on interpreting other executions, which fills the next batch. (A SQLite
file journal hands the batch on to its writer process, so the thread mostly waits on a pipe,
without the GIL: see ``sagaway.store.sqlite_process``.)
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sagaway.store.ports import Journal, StepRecord, StoreError

if TYPE_CHECKING:
    from sagaway.engine.observer import Observer

log = logging.getLogger("sagaway.engine")
MAX_BATCH = 2000

Outcome = tuple["asyncio.Future[list[bool]]", list[bool]]  # a step batch and its flags


@dataclass(slots=True)
class _Pending:
    steps: list[StepRecord]
    # None: nobody awaits the outcome (see commit_unawaited); a failure is logged.
    future: asyncio.Future[list[bool]] | None
    loop: asyncio.AbstractEventLoop | None


_STOP = None  # queued by close()


class GroupCommitter:
    def __init__(self, journal: Journal, observer: Observer | None = None) -> None:
        self.journal = journal
        self.observer = observer
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="sagaway-commit", daemon=True)
        self._thread.start()
        self.batches = 0
        self.steps = 0
        # Why the last batch could not be written (None once a batch is written): readiness.
        self.failing: str | None = None

    def commit(self, steps: Sequence[StepRecord]) -> asyncio.Future[list[bool]]:
        """Queue ``steps`` (one execution's, in order); the future gives per-step success."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[bool]] = loop.create_future()
        self._queue.put(_Pending(list(steps), future, loop))
        return future

    def commit_unawaited(self, steps: Sequence[StepRecord]) -> None:
        """Queue ``steps`` that nothing waits for (an EXPRESS outcome): no future, no wake-up
        of the event loop; a failure to write them is logged by the writer thread."""
        self._queue.put(_Pending(list(steps), None, None))

    def close(self) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            while len(batch) < MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    self._write(batch)
                    return
                batch.append(more)
            self._write(batch)

    def _write(self, batch: list[_Pending]) -> None:
        steps = [step for pending in batch for step in pending.steps]
        started = time.perf_counter()
        try:
            flags = self.journal.commit(steps)
            error: BaseException | None = None
        except StoreError as exc:
            flags, error = [], exc
        except Exception as exc:
            # Never let the writer thread die: every queued step would wait forever. The
            # steps are not journaled; their executions detach and resume on restart.
            flags, error = [], StoreError(f"journal write failed: {exc!r}")
        self.failing = None if error is None else str(error)
        self.batches += 1
        self.steps += len(steps)
        if error is None and self.observer is not None and steps:  # not a barrier alone
            self.observer.batch_committed(len(steps), time.perf_counter() - started)
        # One wake-up of the event loop per batch, not per execution.
        outcomes: dict[asyncio.AbstractEventLoop, list[Outcome]] = {}
        position = 0
        for pending in batch:
            count = len(pending.steps)
            result = flags[position : position + count]
            position += count
            if pending.future is None or pending.loop is None:
                _log_unawaited(pending.steps, result, error)
                continue
            outcomes.setdefault(pending.loop, []).append((pending.future, result))
        for loop, pairs in outcomes.items():
            loop.call_soon_threadsafe(_resolve, pairs, error)


def _log_unawaited(
    steps: list[StepRecord], flags: list[bool], error: BaseException | None
) -> None:
    if error is not None:
        log.error("journal write failed: %s", error)
    elif not all(flags):
        arns = [step.execution_arn for step, ok in zip(steps, flags, strict=True) if not ok]
        log.error("journal refused the outcome of %s", ", ".join(arns))


def _resolve(pairs: list[Outcome], error: BaseException | None) -> None:
    for future, result in pairs:
        if future.done():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
