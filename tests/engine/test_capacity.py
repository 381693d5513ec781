"""Thread capacity for synchronous handlers and reserved concurrency (engine/capacity.py,
engine/tasks.py)."""

from __future__ import annotations

import asyncio
import threading

from sagaway.engine.capacity import HandlerThreads, ReservedConcurrency
from sagaway.engine.tasks import TaskRunner
from sagaway.interpreter.messages import Event, InvokeTask, TaskSucceeded
from sagaway.resources.lambda_functions import FunctionRegistry


async def _abandon(threads: HandlerThreads, gate: threading.Event, ended: list[str]) -> None:
    call = asyncio.ensure_future(threads.run(gate.wait, lambda: ended.append("hung")))
    await asyncio.sleep(0.05)  # running in its thread
    call.cancel()
    await asyncio.gather(call, return_exceptions=True)


def test_an_abandoned_handler_is_replaced_up_to_the_spare_bound() -> None:
    async def scenario() -> None:
        threads = HandlerThreads(size=1, spare=1)
        gates = [threading.Event(), threading.Event()]
        ended: list[str] = []
        await _abandon(threads, gates[0], ended)
        # The one thread hangs, abandoned: a replacement runs the next call at once.
        assert await asyncio.wait_for(threads.run(lambda: "ran", lambda: None), 2) == "ran"
        await _abandon(threads, gates[1], ended)  # the spare bound is reached: not replaced
        waiting = asyncio.ensure_future(threads.run(lambda: "late", lambda: None))
        await asyncio.sleep(0.1)
        assert not waiting.done() and threads.running == 3
        gates[1].set()  # the unreplaced abandoned handler ends: its thread serves the queue
        assert await asyncio.wait_for(waiting, 2) == "late"
        gates[0].set()
        await asyncio.sleep(0.1)
        assert ended == ["hung", "hung"] and threads.running == 0
        threads.close()

    asyncio.run(scenario())


def test_reserved_concurrency_counts_per_function() -> None:
    reserved = ReservedConcurrency({"pay": 1})
    assert reserved.acquire("pay") and not reserved.acquire("pay")
    assert reserved.acquire("ship") and reserved.acquire("ship")  # no limit
    reserved.release("pay")
    assert reserved.acquire("pay") and reserved.in_flight("pay") == 1


def test_a_task_aborted_before_it_ran_gives_its_reserved_place_back() -> None:
    registry = FunctionRegistry(concurrency={"f": 1})
    registry.register("f", lambda event, context: "done")
    results: list[Event] = []
    runner = TaskRunner(registry, lambda arn, event: results.append(event))
    arn = "arn:aws:states:us-east-1:111111111111:execution:m:e"
    resource = "arn:aws:lambda:us-east-1:111111111111:function:f"

    async def scenario() -> None:
        runner.dispatch(arn, InvokeTask("t1", "T", resource, {}))
        runner.cancel(arn, "t1")  # aborted in the same turn of the loop: never ran
        runner.dispatch(arn, InvokeTask("t2", "T", resource, {}))
        while not results:
            await asyncio.sleep(0.01)
        await runner.close()

    asyncio.run(scenario())
    assert results == [TaskSucceeded("t2", "done")]
