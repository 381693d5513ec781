"""How many handlers run at once: the thread capacity for synchronous handlers, and each
function's reserved concurrency.

A thread cannot be stopped. A synchronous handler the engine stops waiting for (its Task
timed out, missed a heartbeat or was aborted) goes on running in its thread; if it kept its
place, a handful of hung handlers would leave no thread for any other Task. So capacity
counts the handlers the engine waits for, ``size`` at most: an abandoned handler gives its
place back at once and runs on beside the capacity, in one of at most ``spare`` extra threads
(beyond those, new work queues until abandoned handlers end). The threads are daemons: a
hung handler never holds up the process's exit (``concurrent.futures`` threads would be
joined at exit). Sandbox processes (``--isolation process``) have no such leak: a timed-out
sandbox is killed.

Reserved concurrency counts a function's invocations until they really end, abandoned
threads included: it exists to protect what the handler calls, and an abandoned handler is
still calling it.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")
SPARE_THREADS = 256


class DaemonThreads:
    """A pool of up to ``size`` daemon threads, started as work needs them."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._work: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None]
        self._work = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = self._idle = self._queued = 0

    def submit(self, call: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            self._queued += 1
            start = self._queued > self._idle and self._threads < self._size
            self._threads += start
        self._work.put((future, call))
        if start:
            name = f"sagaway-task-{self._threads}"
            threading.Thread(target=self._serve, name=name, daemon=True).start()
        return future

    def _serve(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            item = self._work.get()
            with self._lock:
                self._idle -= 1
                self._queued -= item is not None
            if item is None:
                return
            future, call = item
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(call())
                except BaseException as exc:  # the caller's future carries it
                    future.set_exception(exc)
            del future, call, item  # a finished call's result is not kept alive

    def close(self) -> None:
        for _ in range(self._threads):
            self._work.put(None)


class HandlerThreads:
    def __init__(self, size: int = 16, spare: int = SPARE_THREADS) -> None:
        self._pool = DaemonThreads(size + spare)
        self._capacity = asyncio.Semaphore(size)
        self._running = 0

    async def run(self, call: Callable[[], T], on_end: Callable[[], None]) -> T:
        """``call()`` in a thread; ``on_end`` runs on the event loop once the call has
        really ended, even when the caller stopped waiting for it."""
        loop = asyncio.get_running_loop()
        async with self._capacity:
            future = self._pool.submit(call)
            self._running += 1

            def ended(_: Future[T]) -> None:
                # In the handler's thread, or here when the call never started.
                with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
                    loop.call_soon_threadsafe(self._ended, on_end)

            future.add_done_callback(ended)
            return await asyncio.wrap_future(future)

    def _ended(self, on_end: Callable[[], None]) -> None:
        self._running -= 1
        on_end()

    @property
    def running(self) -> int:
        """Handlers running in threads, abandoned ones included."""
        return self._running

    def close(self) -> None:
        self._pool.close()


class ReservedConcurrency:
    """In-flight invocations per function, against each function's limit."""

    def __init__(self, limits: Mapping[str, int]) -> None:
        self._limits = limits
        self._in_flight: dict[str, int] = {}

    def acquire(self, name: str) -> bool:
        """Take a place for an invocation of ``name``; False when the function is at its
        reserved concurrency (Lambda throttles that Invoke)."""
        limit = self._limits.get(name)
        count = self._in_flight.get(name, 0)
        if limit is not None and count >= limit:
            return False
        self._in_flight[name] = count + 1
        return True

    def release(self, name: str) -> None:
        count = self._in_flight.get(name, 0) - 1
        if count > 0:
            self._in_flight[name] = count
        else:
            self._in_flight.pop(name, None)

    def in_flight(self, name: str) -> int:
        return self._in_flight.get(name, 0)
