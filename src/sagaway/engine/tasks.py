"""Carrying out InvokeTask: call the handler, enforce TimeoutSeconds and HeartbeatSeconds,
report the outcome as an interpreter event.

Coroutine handlers are awaited on the event loop (no thread hop); plain functions run in a
thread pool (``engine/capacity.py``); functions isolated in processes run in sandboxes
(``resources/sandbox.py``). Each invocation gets a stable idempotency key (execution ARN +
the interpreter's attempt token), the same after a crash, so services can de-duplicate
repeated calls. An invocation beyond its function's reserved concurrency is throttled.

A handler running in the engine's own process can still end it (``os._exit``), and recovery
would call it again on every start. So when recovery re-issues an in-process invocation of a
function loaded from a module, it first journals that it does so
(:meth:`Journal.resumed_invocations`); an invocation already re-issued once, whose process
died again before it answered, runs next in a sandbox process (quarantine): if the handler
is what ends the process, it now ends only the sandbox and fails its Task as Lambda reports
``Runtime.ExitError``; if it was innocent, it answers as it always would.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import types
from collections.abc import Callable, Coroutine, Generator, Sequence
from typing import Any, Protocol, cast

from sagaway.engine.capacity import HandlerThreads, ReservedConcurrency
from sagaway.interpreter.messages import (
    Command,
    Event,
    InvokeTask,
    TaskFailed,
    TaskSucceeded,
    TaskTimedOut,
)
from sagaway.interpreter.resources import LAMBDA, parse_resource
from sagaway.resources.lambda_functions import (
    PROCESS,
    FunctionRegistry,
    Invocation,
    prepare,
)
from sagaway.resources.sandbox import SandboxPool

ResultCallback = Callable[[str, Event], None]  # (execution arn, event)
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
log = logging.getLogger("sagaway.engine")
# Re-issues after a process death that an invocation gets in-process before quarantine.
RESUMPTIONS = 1


class InvocationLedger(Protocol):
    def resumed_invocations(self, invocations: Sequence[tuple[str, str]]) -> list[int]: ...


# Starts one Task of an execution the caller knows (the engine adds its observer's span).
Dispatch = Callable[[InvokeTask], None]


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
        payload_limit: int | None = 256 * 1024,
        default_timeout: float | None = None,
        ledger: InvocationLedger | None = None,
        route: Callable[[str, InvokeTask], None] | None = None,
    ) -> None:
        """``route``: where a Task that is not a Lambda function goes (the engine's router)."""
        self.registry = registry
        self.on_result = on_result
        self.payload_limit = payload_limit
        self.default_timeout = default_timeout
        self.ledger = ledger
        self.threads = HandlerThreads(threads)
        self.sandboxes = SandboxPool(threads)
        self.reserved = ReservedConcurrency(registry.concurrency)
        self._running: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._resumed: list[tuple[str, InvokeTask, Dispatch]] = []
        self._quarantined: set[str] = set()  # idempotency keys to run in a sandbox
        self.route = route

    def dispatch(self, arn: str, command: InvokeTask) -> None:
        loop = asyncio.get_running_loop()
        if not is_lambda(command.resource):
            if self.route is None:
                failure = TaskFailed(
                    command.token,
                    "States.TaskFailed",
                    f"The resource '{command.resource}' is not supported by this Sagaway server",
                )
                loop.call_soon(self.on_result, arn, failure)
                return
            self.route(arn, command)
            return
        key = idempotency_key(arn, command.token)
        invocation = prepare(self.registry, command, key, self.payload_limit)
        if isinstance(invocation, TaskFailed):
            loop.call_soon(self.on_result, arn, invocation)
            return
        sandboxed = self._sandboxed(invocation)  # asked once per invocation
        if invocation.is_async and not sandboxed:  # runs on the event loop
            # A coroutine handler starts now: one that never waits costs no Task. (Work for
            # threads and sandboxes starts in the Task's first step, as before: a Task
            # cancelled in the turn that dispatched it then never takes their places.)
            if self._unsupervised(command):
                task = start_eagerly(loop, self._run_coroutine(arn, invocation))
            else:
                task = start_eagerly(loop, self._run(arn, invocation, sandboxed))
        else:
            task = loop.create_task(self._run(arn, invocation, sandboxed))
        if task is not None:  # still running: cancel() must reach it
            self._running[(arn, command.token)] = task

    def resume(self, arn: str, commands: list[Command], dispatch: Dispatch) -> list[Command]:
        """The commands recovery should carry out for ``arn`` now. In-process invocations
        that a sandbox could run are held back: on the next turn of the loop, one journal
        transaction counts the resumptions of all of them, and each is then handed to
        ``dispatch`` (the engine's way of starting a Task), in a sandbox when its process
        already died after being re-issued once."""
        if self.ledger is None:
            return commands
        kept: list[Command] = []
        for command in commands:
            if isinstance(command, InvokeTask) and self._quarantinable(command):
                if not self._resumed:
                    asyncio.get_running_loop().call_soon(self._dispatch_resumed)
                self._resumed.append((arn, command, dispatch))
            else:
                kept.append(command)
        return kept

    def _quarantinable(self, command: InvokeTask) -> bool:
        if not is_lambda(command.resource):
            return False
        invocation = prepare(self.registry, command)
        if not isinstance(invocation, Invocation):
            return False
        name = invocation.context.function_name
        # Sandboxed already: its death never takes the engine with it. A handler registered
        # in code, without a module a sandbox could load, stays in-process.
        return self.registry.isolation_of(name) != PROCESS and name in self.registry.sources

    def _dispatch_resumed(self) -> None:
        resumed, self._resumed = self._resumed, []
        assert self.ledger is not None
        keys = [(arn, idempotency_key(arn, command.token)) for arn, command, _ in resumed]
        try:
            counts = self.ledger.resumed_invocations(keys)
        except Exception as exc:  # counting must not stop recovery: invoke, at least once
            log.warning("cannot journal the resumption of %d invocations: %s", len(keys), exc)
            counts = [0] * len(keys)
        for (_, command, dispatch), (_, key), count in zip(resumed, keys, counts, strict=True):
            if count >= RESUMPTIONS:
                log.warning("%s: its process died %d times; it runs in a sandbox", key, count + 1)
                self._quarantined.add(key)
            dispatch(command)

    def cancel(self, arn: str, token: str) -> None:
        task = self._running.pop((arn, token), None)
        if task is not None:
            task.cancel()

    async def close(self) -> None:
        for task in self._running.values():
            task.cancel()
        self.threads.close()
        await self.sandboxes.close()

    @property
    def in_flight(self) -> int:
        return len(self._running)

    async def _run(self, arn: str, invocation: Invocation, sandboxed: bool) -> None:
        command = invocation.command
        # Taken here, in the task's first step: a task cancelled before it ever ran took none.
        slot = _Slot(self.reserved, invocation.context.function_name)
        if not slot.acquire():
            self._running.pop((arn, command.token), None)
            self.on_result(arn, invocation.throttled())
            return
        try:
            if self._unsupervised(command):
                # Nothing to supervise: a heartbeat the handler sends is not awaited either
                # (the context's default heartbeat does nothing).
                event: Event = await self._call(invocation, slot, sandboxed)
            else:
                beats = _Heartbeats()
                invocation.context.heartbeat = beats.beat  # handlers call context.heartbeat()
                event = await self._supervise(invocation, beats, slot, sandboxed)
        except asyncio.CancelledError:
            return  # the interpreter aborted this attempt; nobody waits for its result
        finally:
            self._running.pop((arn, command.token), None)
            if not slot.handed_over:  # the call never started: nothing runs in its place
                slot.release()
        self.on_result(arn, event)

    def _unsupervised(self, command: InvokeTask) -> bool:
        """No timeout and no heartbeat: nothing watches the call while it runs."""
        timeout = command.timeout_seconds or self.default_timeout
        return timeout is None and command.heartbeat_seconds is None

    async def _run_coroutine(self, arn: str, invocation: Invocation) -> None:
        """:meth:`_run` of an unsupervised coroutine handler in the engine's process, in one
        coroutine instead of three (the common case: a Lambda Task with no TimeoutSeconds
        and no HeartbeatSeconds). The same order: a place in the function's reserved
        concurrency, the call, the place given back, then the result."""
        command = invocation.command
        name = invocation.context.function_name
        if not self.reserved.acquire(name):
            self._running.pop((arn, command.token), None)
            self.on_result(arn, invocation.throttled())
            return
        try:
            value = await invocation.handler(invocation.event, invocation.context)
        except asyncio.CancelledError:
            return  # the interpreter aborted this attempt; nobody waits for its result
        except BaseException as exc:  # the handler's exit is its Task's failure
            event: Event = invocation.failed(exc)
        else:
            event = invocation.succeeded(value)
        finally:
            self.reserved.release(name)
            self._running.pop((arn, command.token), None)
        self.on_result(arn, event)

    def _sandboxed(self, invocation: Invocation) -> bool:
        quarantined = invocation.context.idempotency_key in self._quarantined
        return (
            quarantined or self.registry.isolation_of(invocation.context.function_name) == PROCESS
        )

    async def _supervise(
        self, invocation: Invocation, beats: _Heartbeats, slot: _Slot, sandboxed: bool
    ) -> Event:
        command = invocation.command
        work = asyncio.ensure_future(self._call(invocation, slot, sandboxed))
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

    async def _call(
        self, invocation: Invocation, slot: _Slot, sandboxed: bool
    ) -> TaskSucceeded | TaskFailed:
        # From here the call owns the slot: it gives it back when the handler really ends.
        slot.handed_over = True
        name = invocation.context.function_name
        release = slot.release
        if sandboxed:
            self._quarantined.discard(invocation.context.idempotency_key)
            key, source = invocation.context.idempotency_key, self.registry.sources[name]
            beat = invocation.context.heartbeat
            try:
                return await self.sandboxes.run(invocation, source, key, self.payload_limit, beat)
            finally:
                release()
        if invocation.is_async:
            try:
                return await _call_async(invocation)
            finally:
                release()
        # In the handler's thread the outcome (and the error's stack trace) is built, so the
        # trace shows the handler's frames, not the event loop's.
        # The handler's thread sees this task's context (the attempt's trace span).
        call = functools.partial(contextvars.copy_context().run, invocation.call)
        return await self.threads.run(call, release)


async def _call_async(invocation: Invocation) -> TaskSucceeded | TaskFailed:
    try:
        value = await invocation.handler(invocation.event, invocation.context)
    except asyncio.CancelledError:
        raise  # the engine stopped waiting (timeout, abort): not the handler's failure
    except BaseException as exc:  # the handler's exit is its Task's failure
        return invocation.failed(exc)
    return invocation.succeeded(value)


def start_eagerly(
    loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, None]
) -> asyncio.Task[None] | None:
    """Run ``coro`` now, up to its first real wait, as a Task's first step would (in a copy
    of the current context); None when it ended there, else the Task that goes on with it.

    An async handler that never waits (a no-op, an in-memory update) then costs no Task, no
    extra turn of the event loop and no callbacks; its result is delivered at once. A
    handler that waits, and every supervised call (timeouts, heartbeats), goes on in the
    Task exactly as if it had started there."""
    context = contextvars.copy_context()
    try:
        waiting_on = context.run(coro.send, None)
    except StopIteration:
        return None
    except BaseException:  # what a Task would have kept and logged (never expected here)
        log.exception("a task invocation failed outside its handler")
        return None
    # A generator-based coroutine (types.coroutine) is awaitable as a Task's coroutine; the
    # stubs of Python 3.12 and later ask for a Coroutine by type.
    go_on = cast(Coroutine[Any, Any, None], _go_on(coro, waiting_on))
    return loop.create_task(go_on, context=context)


@types.coroutine
def _go_on(coro: Coroutine[Any, Any, None], waiting_on: Any) -> Generator[Any, Any, None]:
    """Drive ``coro`` on from where :func:`start_eagerly` left it: the Task running this
    sees what ``coro`` waits on (its future, or None for a bare yield) and wakes or cancels
    it exactly as it would ``coro`` itself."""
    while True:
        try:
            sent = yield waiting_on
        except BaseException as exc:  # the Task's cancellation, thrown into the handler's wait
            try:
                waiting_on = coro.throw(exc)
            except StopIteration:
                return
            continue
        try:
            waiting_on = coro.send(sent)
        except StopIteration:
            return


def _window(deadline: float | None, now: float, heartbeat: float | None) -> float | None:
    remaining = None if deadline is None else max(deadline - now, 0.0)
    if heartbeat is None:
        return remaining
    return heartbeat if remaining is None else min(heartbeat, remaining)


class _Slot:
    """One invocation's place in its function's reserved concurrency, given back once."""

    def __init__(self, reserved: ReservedConcurrency, name: str) -> None:
        self._reserved = reserved
        self._name = name
        self._held = False
        self.handed_over = False

    def acquire(self) -> bool:
        self._held = self._reserved.acquire(self._name)
        return self._held

    def release(self) -> None:
        if self._held:
            self._held = False
            self._reserved.release(self._name)


class _Heartbeats:
    """Counts heartbeats between two checks; safe to call from a handler's thread."""

    def __init__(self) -> None:
        self._seen = False

    def beat(self) -> None:
        self._seen = True

    def take(self) -> bool:
        seen, self._seen = self._seen, False
        return seen
