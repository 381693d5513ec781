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


class TimerWheel:
    def __init__(self, clock: Clock, on_fire: FireCallback) -> None:
        self.clock = clock
        self.on_fire = on_fire
        self._heap: list[tuple[float, int, str, str]] = []
        self._seq = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="sagaway-timers")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def add(self, arn: str, token: str, fire_at: float) -> None:
        self._seq += 1
        earliest = self._heap[0][0] if self._heap else None
        heapq.heappush(self._heap, (fire_at, self._seq, arn, token))
        if earliest is None or fire_at < earliest:
            self._wake.set()

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
            self.on_fire(arn, token)
