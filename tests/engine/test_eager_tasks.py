"""Coroutine handlers start in the turn that dispatches them (``tasks.start_eagerly``): one
that never waits is answered at once, one that waits goes on in a Task that timeouts and
cancellation still reach, and neither leaks what it sets in its context."""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

from sagaway.engine.tasks import TaskRunner
from sagaway.interpreter.messages import Event, InvokeTask, TaskSucceeded, TaskTimedOut
from sagaway.resources.lambda_functions import FunctionRegistry
from tests.engine.conftest import fn, run

ARN = "arn:aws:states:us-east-1:111111111111:execution:m:e"
MARK: contextvars.ContextVar[str] = contextvars.ContextVar("mark", default="unset")


def _runner(**handlers: Any) -> tuple[TaskRunner, list[Event]]:
    registry = FunctionRegistry()
    for name, handler in handlers.items():
        registry.register(name, handler)
    results: list[Event] = []
    return TaskRunner(registry, lambda arn, event: results.append(event)), results


def _invoke(name: str, token: str = "t1", timeout: float | None = None) -> InvokeTask:
    return InvokeTask(token, "T", fn(name), {"n": 1}, timeout_seconds=timeout)


def test_a_coroutine_handler_that_never_waits_is_answered_in_the_dispatch() -> None:
    async def noop(event: Any, context: Any) -> Any:
        MARK.set("handler")  # its own context: the dispatcher's stays as it was
        return {"n": event["n"] + 1}

    runner, results = _runner(noop=noop)

    async def scenario() -> None:
        runner.dispatch(ARN, _invoke("noop"))
        assert results == [TaskSucceeded("t1", {"n": 2})]
        assert runner.in_flight == 0  # no Task was left behind to cancel
        assert MARK.get() == "unset"
        await runner.close()

    run(scenario())


def test_a_coroutine_handler_that_waits_goes_on_in_a_task() -> None:
    release = asyncio.Event()

    async def slow(event: Any, context: Any) -> Any:
        MARK.set("handler")
        await release.wait()
        return MARK.get()  # the same context before and after the wait

    runner, results = _runner(slow=slow)

    async def scenario() -> None:
        runner.dispatch(ARN, _invoke("slow"))
        assert results == [] and runner.in_flight == 1
        release.set()
        while not results:
            await asyncio.sleep(0)
        assert results == [TaskSucceeded("t1", "handler")]
        assert runner.in_flight == 0 and MARK.get() == "unset"
        await runner.close()

    run(scenario())


def test_cancelling_a_started_coroutine_handler_reaches_its_wait() -> None:
    seen: list[str] = []

    async def hang(event: Any, context: Any) -> Any:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    runner, results = _runner(hang=hang)

    async def scenario() -> None:
        runner.dispatch(ARN, _invoke("hang"))
        await asyncio.sleep(0)
        runner.cancel(ARN, "t1")
        while not seen:
            await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert results == [] and runner.in_flight == 0
        await runner.close()

    run(scenario())


def test_a_timeout_still_ends_an_eagerly_started_coroutine_handler() -> None:
    async def hang(event: Any, context: Any) -> Any:
        await asyncio.Event().wait()

    runner, results = _runner(hang=hang)

    async def scenario() -> None:
        runner.dispatch(ARN, _invoke("hang", timeout=0.05))
        while not results:
            await asyncio.sleep(0.01)
        assert results == [TaskTimedOut("t1")]
        await runner.close()

    run(scenario())


def test_a_reserved_place_taken_by_an_eager_handler_is_given_back() -> None:
    async def noop(event: Any, context: Any) -> Any:
        return "done"

    registry = FunctionRegistry(concurrency={"noop": 1})
    registry.register("noop", noop)
    results: list[Event] = []
    runner = TaskRunner(registry, lambda arn, event: results.append(event))

    async def scenario() -> None:
        runner.dispatch(ARN, _invoke("noop", "t1"))
        runner.dispatch(ARN, _invoke("noop", "t2"))  # not throttled: the first one ended
        assert results == [TaskSucceeded("t1", "done"), TaskSucceeded("t2", "done")]
        await runner.close()

    run(scenario())
