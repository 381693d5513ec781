"""Carrying out InvokeTask: call the handler, enforce TimeoutSeconds and HeartbeatSeconds,
report the outcome as an interpreter event.

Coroutine handlers are awaited on the event loop (no thread hop); plain functions run in a
thread pool. Each invocation gets a stable idempotency key (execution ARN + the interpreter's
attempt token), the same after a crash, so services can de-duplicate repeated calls.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sagaway.interpreter.messages import (
    Event,
    InvokeTask,
    TaskFailed,
    TaskSucceeded,
    TaskTimedOut,
)
from sagaway.interpreter.resources import LAMBDA, parse_resource
from sagaway.resources.lambda_functions import FunctionRegistry, Invocation, prepare

ResultCallback = Callable[[str, Event], None]  # (execution arn, event)
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"


def idempotency_key(execution_arn: str, token: str) -> str:
    return f"{execution_arn}#{token}"


def is_lambda(resource: str) -> bool:
    ref = parse_resource(resource)
    return ref.family == LAMBDA or (ref.resource_type == "lambda" and ref.resource == "invoke")


class TaskRunner:
    def __init__(
        self,
        registry: FunctionRegistry,
        on_result: ResultCallback,
        *,
        threads: int = 16,
        payload_limit: int = 256 * 1024,
        default_timeout: float | None = None,
    ) -> None:
        self.registry = registry
        self.on_result = on_result
        self.payload_limit = payload_limit
        self.default_timeout = default_timeout
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sagaway-task")
        self._running: dict[tuple[str, str], asyncio.Task[None]] = {}
        # Integrations other than Lambda register here by resourceType (issue-level extension).
        self.integrations: dict[str, Callable[[str, InvokeTask], Any]] = {}

    def dispatch(self, arn: str, command: InvokeTask) -> None:
        loop = asyncio.get_running_loop()
        if not is_lambda(command.resource):
            integration = self.integrations.get(parse_resource(command.resource).resource_type)
            if integration is None:
                failure = TaskFailed(
                    command.token,
                    "States.TaskFailed",
                    f"The resource '{command.resource}' is not supported by this Sagaway server",
                )
                loop.call_soon(self.on_result, arn, failure)
                return
            integration(arn, command)
            return
        key = idempotency_key(arn, command.token)
        invocation = prepare(self.registry, command, key, self.payload_limit)
        if isinstance(invocation, TaskFailed):
            loop.call_soon(self.on_result, arn, invocation)
            return
        task = loop.create_task(self._run(arn, invocation))
        self._running[(arn, command.token)] = task

    def cancel(self, arn: str, token: str) -> None:
        task = self._running.pop((arn, token), None)
        if task is not None:
            task.cancel()

    def close(self) -> None:
        for task in self._running.values():
            task.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)

    @property
    def in_flight(self) -> int:
        return len(self._running)

    async def _run(self, arn: str, invocation: Invocation) -> None:
        command = invocation.command
        beats = _Heartbeats()
        invocation.context.heartbeat = beats.beat  # handlers call context.heartbeat()
        unbounded = (command.timeout_seconds or self.default_timeout) is None
        try:
            if unbounded and command.heartbeat_seconds is None:
                event: Event = await self._call(invocation)  # nothing to supervise
            else:
                event = await self._supervise(invocation, beats)
        except asyncio.CancelledError:
            return  # the interpreter aborted this attempt; nobody waits for its result
        finally:
            self._running.pop((arn, command.token), None)
        self.on_result(arn, event)

    async def _supervise(self, invocation: Invocation, beats: _Heartbeats) -> Event:
        command = invocation.command
        work = asyncio.ensure_future(self._call(invocation))
        timeout = command.timeout_seconds or self.default_timeout
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            window = _window(deadline, loop.time(), command.heartbeat_seconds)
            done, _ = await asyncio.wait({work}, timeout=window)
            if done:
                return work.result()
            if deadline is not None and loop.time() >= deadline:
                work.cancel()
                return TaskTimedOut(command.token)
            if command.heartbeat_seconds is not None and not beats.take():
                work.cancel()
                return TaskTimedOut(command.token, HEARTBEAT_TIMEOUT)

    async def _call(self, invocation: Invocation) -> TaskSucceeded | TaskFailed:
        if invocation.is_async:
            try:
                value = await invocation.handler(invocation.event, invocation.context)
            except Exception as exc:
                return invocation.failed(exc)
            return invocation.succeeded(value)
        loop = asyncio.get_running_loop()
        # The handler's thread sees this task's context (the attempt's trace span).
        run = contextvars.copy_context().run
        return await loop.run_in_executor(self._pool, run, _call_sync, invocation)


def _call_sync(invocation: Invocation) -> TaskSucceeded | TaskFailed:
    # In the worker thread: the outcome (and the error's stack trace) is built here, so the
    # trace shows the handler's frames, not the event loop's.
    try:
        value = invocation.handler(invocation.event, invocation.context)
    except Exception as exc:
        return invocation.failed(exc)
    return invocation.succeeded(value)


def _window(deadline: float | None, now: float, heartbeat: float | None) -> float | None:
    remaining = None if deadline is None else max(deadline - now, 0.0)
    if heartbeat is None:
        return remaining
    return heartbeat if remaining is None else min(heartbeat, remaining)


class _Heartbeats:
    """Counts heartbeats between two checks; safe to call from a handler's thread."""

    def __init__(self) -> None:
        self._seen = False

    def beat(self) -> None:
        self._seen = True

    def take(self) -> bool:
        seen, self._seen = self._seen, False
        return seen
