"""How many handlers run at once: the thread capacity for synchronous handlers, and each
function's reserved concurrency.

A thread cannot be stopped. A synchronous handler the engine stops waiting for (its Task
timed out, missed a heartbeat or was aborted) goes on running in its thread; if it kept its
place, a handful of hung handlers would leave no thread for any other Task. So the pool's
size tracks the live threads: ``size`` for the handlers the engine waits for, plus one for
each abandoned handler still running (at most ``spare`` of them; beyond that, new work
queues until abandoned handlers end), and it shrinks back as they end. The threads are
daemons: a hung handler never holds up the process's exit (``concurrent.futures`` threads
are joined at exit). Sandbox processes (``--isolation process``) have no such leak: a
timed-out sandbox is killed.

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
    """A pool of daemon threads, started as work needs them, up to a limit that may move."""

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
        self._work.put((future, call))
        self._start_if_needed()
        return future

    def resize(self, delta: int) -> None:
        with self._lock:
            self._size += delta
        self._start_if_needed()

    def _start_if_needed(self) -> None:
        with self._lock:
            start = self._queued > self._idle and self._threads < self._size
            self._threads += start
        if start:
            threading.Thread(target=self._serve, name="sagaway-task", daemon=True).start()

    def _serve(self) -> None:
        while True:
            with self._lock:
                if self._threads > self._size:  # the pool shrank: this thread is extra
                    self._threads -= 1
                    return
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
    """``size`` threads for the handlers the engine waits for, plus one more for each
    abandoned handler still running (at most ``spare``)."""

    def __init__(self, size: int = 16, spare: int = SPARE_THREADS) -> None:
        self._pool = DaemonThreads(size)
        self._spare = spare
        self._abandoned = 0
        self._running = 0

    async def run(self, call: Callable[[], T], on_end: Callable[[], None]) -> T:
        """``call()`` in a thread; ``on_end`` runs on the event loop once the call has
        really ended, even when the caller stopped waiting for it."""
        future = self._pool.submit(call)
        self._running += 1
        abandoned = False
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            abandoned = not future.done()
            raise
        finally:
            if abandoned:
                self._abandon(future, on_end)
            else:
                self._running -= 1
                on_end()

    def _abandon(self, future: Future[Any], on_end: Callable[[], None]) -> None:
        # It runs on: one more thread replaces it in the pool until it ends (within bounds).
        replaced = self._abandoned < self._spare
        if replaced:
            self._abandoned += 1
            self._pool.resize(+1)
        loop = asyncio.get_running_loop()

        def ended(_: Future[Any]) -> None:  # in the handler's thread
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
                loop.call_soon_threadsafe(self._abandoned_ended, replaced, on_end)

        future.add_done_callback(ended)

    def _abandoned_ended(self, replaced: bool, on_end: Callable[[], None]) -> None:
        self._running -= 1
        if replaced:
            self._abandoned -= 1
            self._pool.resize(-1)
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
