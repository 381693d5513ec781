"""In-memory timer wheel over durable timer rows.

Every timer is also a row in the journal, written in the step that started it, so a timer
due while the process was down fires on restart. In memory one task sleeps until the earliest
deadline; adding an earlier one wakes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
from collections.abc import Callable

from sagaway.engine.clock import Clock

FireCallback = Callable[[str, str], None]  # (execution arn, token)
# Timers of ended executions stay in the heap until they are this many and half of it.
COMPACT_AT = 1024


class TimerWheel:
    def __init__(self, clock: Clock, on_fire: FireCallback) -> None:
        self.clock = clock
        self.on_fire = on_fire
        self._heap: list[tuple[float, int, str, str]] = []
        self._seq = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Timers per execution, and those of executions that ended here (see ``forget``).
        self._pending: dict[str, int] = {}
        self._ended: set[str] = set()
        self._stale = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="sagaway-timers")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def add(self, arn: str, token: str, fire_at: float) -> None:
        self._ended.discard(arn)  # running here again (a redrive): its timers count again
        self._pending[arn] = self._pending.get(arn, 0) + 1
        self._seq += 1
        earliest = self._heap[0][0] if self._heap else None
        heapq.heappush(self._heap, (fire_at, self._seq, arn, token))
        if earliest is None or fire_at < earliest:
            self._wake.set()

    def forget(self, arn: str) -> None:
        """``arn`` ended here: none of its timers can matter any more. Every EXPRESS
        execution arms its 5-minute cap, so at thousands of executions a second the heap
        would otherwise hold the caps of the last five minutes' executions; they are dropped
        in bulk once they are most of it."""
        self._stale += self._pending.pop(arn, 0)
        self._ended.add(arn)
        if self._stale >= COMPACT_AT and self._stale * 2 >= len(self._heap):
            self._heap = [entry for entry in self._heap if entry[2] not in self._ended]
            heapq.heapify(self._heap)
            self._ended.clear()
            self._stale = 0

    def __len__(self) -> int:
        return len(self._heap)

    async def _run(self) -> None:
        while True:
            self._fire_due()
            delay = self._heap[0][0] - self.clock.now() if self._heap else None
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    def _fire_due(self) -> None:
        now = self.clock.now()
        while self._heap and self._heap[0][0] <= now:
            _, _, arn, token = heapq.heappop(self._heap)
            if arn in self._ended:
                self._stale -= 1
                continue
            count = self._pending.get(arn, 0) - 1
            if count > 0:
                self._pending[arn] = count
            else:
                self._pending.pop(arn, None)
            self.on_fire(arn, token)
