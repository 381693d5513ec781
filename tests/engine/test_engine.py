"""The durable engine on real SQLite files: timers and retries across restarts, stopping,
name uniqueness, EXPRESS, concurrency of Parallel and Map, definition changes, and where
handlers run."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from typing import Any

import pytest

from sagaway.engine.engine import ExecutionAlreadyExists
from tests.engine.conftest import Node, OffsetClock, definition, event_types, run, task, until

HOUR = 3600


def test_a_wait_due_during_downtime_fires_right_after_restart(node: Node) -> None:
    async def scenario() -> None:
        engine = await node.open()
        machine = engine.create_state_machine(
            "Waits",
            definition(
                {
                    "Nap": {"Type": "Wait", "Seconds": HOUR, "Next": "Woke"},
                    "Woke": {"Type": "Pass", "Result": "awake", "End": True},
                }
            ),
        )
        arn = (await engine.start_execution(machine.arn, "nap", "{}")).arn
        journal = engine.journal
        await until(lambda: "WaitStateEntered" in event_types(node.journal, arn))  # type: ignore[arg-type]
        assert journal.get_execution(arn).status == "RUNNING"  # type: ignore[union-attr]
        await node.close()

        # The hour passed while no process was running.
        engine = await node.open(clock=OffsetClock(HOUR + 1))
        record = await engine.wait(arn)
        assert record is not None and record.status == "SUCCEEDED"
        assert record.output == '"awake"'
        types = event_types(engine.journal, arn)  # type: ignore[arg-type]
        assert types.count("WaitStateEntered") == types.count("WaitStateExited") == 1
        await node.close()

    run(scenario())


def test_a_wait_not_yet_due_after_restart_keeps_waiting(node: Node) -> None:
    async def scenario() -> None:
        engine = await node.open()
        machine = engine.create_state_machine(
            "Waits", definition({"Nap": {"Type": "Wait", "Seconds": HOUR, "End": True}})
        )
        arn = (await engine.start_execution(machine.arn, "nap", "{}")).arn
        await until(lambda: "WaitStateEntered" in event_types(node.journal, arn))  # type: ignore[arg-type]
        await node.close()

        engine = await node.open(clock=OffsetClock(60))  # a minute later: not due yet
        assert len(engine.timers) == 1  # the timer was re-armed from the journal
        assert engine.journal.get_execution(arn).status == "RUNNING"  # type: ignore[union-attr]
        await node.close()

    run(scenario())


def test_a_retry_interval_survives_a_restart(node: Node) -> None:
    keys: list[str] = []

    def flaky(event: Any, context: Any) -> Any:
        keys.append(context.idempotency_key)
        if len(keys) == 1:
            raise ConnectionError("gateway down")
        return {"attempt": len(keys)}

    node.functions["flaky"] = flaky
    retry = [{"ErrorEquals": ["ConnectionError"], "IntervalSeconds": HOUR, "MaxAttempts": 1}]

    async def scenario() -> None:
        engine = await node.open()
        machine = engine.create_state_machine(
            "Retries", definition({"T": task("flaky", Retry=retry)})
        )
        arn = (await engine.start_execution(machine.arn, "r", "{}")).arn
        await until(lambda: "LambdaFunctionFailed" in event_types(node.journal, arn))  # type: ignore[arg-type]
        await node.close()
        assert len(keys) == 1  # the retry waits for its interval, across the restart too

        engine = await node.open(clock=OffsetClock(HOUR + 1))
        record = await engine.wait(arn)
        assert record is not None and record.status == "SUCCEEDED"
        assert record.output == '{"attempt":2}'
        assert keys[0] != keys[1] and keys[1].endswith("#1")  # a new attempt, a new key
        await node.close()

    run(scenario())


def _hold(gate: asyncio.Event, calls: list[Any]) -> Any:
    async def hold(event: Any, context: Any) -> Any:
        calls.append(event)
        await gate.wait()
        return event

    return hold


def test_stop_execution_aborts_a_running_execution(node: Node) -> None:
    calls: list[Any] = []

    async def scenario() -> None:
        node.functions["hold"] = _hold(asyncio.Event(), calls)
        engine = await node.open()
        machine = engine.create_state_machine("Stops", definition({"T": task("hold")}))
        arn = (await engine.start_execution(machine.arn, "s", "{}")).arn
        await until(lambda: bool(calls))
        await engine.stop_execution(arn, "Operator", "changed my mind")
        record = engine.journal.get_execution(arn)
        assert record is not None and record.status == "ABORTED"
        assert (record.error, record.cause) == ("Operator", "changed my mind")
        assert event_types(engine.journal, arn)[-1] == "ExecutionAborted"  # type: ignore[arg-type]
        assert engine.tasks.in_flight == 0  # the handler's call was cancelled
        await node.close()

    run(scenario())


def test_execution_names_are_unique_per_state_machine(node: Node) -> None:
    calls: list[Any] = []

    async def scenario() -> None:
        gate = asyncio.Event()
        node.functions["hold"] = _hold(gate, calls)
        engine = await node.open()
        machine = engine.create_state_machine("Names", definition({"T": task("hold")}))
        first = await engine.start_execution(machine.arn, "order-1", '{"a": 1}')
        # Same name, same input, still running: AWS answers with the running execution.
        again = await engine.start_execution(machine.arn, "order-1", '{ "a" : 1 }')
        assert (again.arn, again.start_date) == (first.arn, first.start_date)
        with pytest.raises(ExecutionAlreadyExists):
            await engine.start_execution(machine.arn, "order-1", '{"a": 2}')
        gate.set()
        assert await engine.wait_status(first.arn) == "SUCCEEDED"
        with pytest.raises(ExecutionAlreadyExists):  # ended: the name stays taken
            await engine.start_execution(machine.arn, "order-1", '{"a": 1}')
        assert len(calls) == 1  # only the first start ran anything
        assert len(engine.journal.list_executions(machine.arn)) == 1  # type: ignore[attr-defined]
        await node.close()

    run(scenario())


def test_express_journals_the_outcome_and_no_history(node: Node) -> None:
    node.functions["double"] = lambda event, context: event * 2

    async def scenario() -> None:
        engine = await node.open()
        machine = engine.create_state_machine(
            "Quick", definition({"T": task("double")}), type="EXPRESS"
        )
        arn = (await engine.start_execution(machine.arn, "q", "21")).arn
        assert await engine.wait_status(arn) == "SUCCEEDED"
        await until(lambda: engine.journal.get_execution(arn) is not None)
        record = engine.journal.get_execution(arn)
        assert record is not None
        assert (record.status, record.output, record.machine_type) == ("SUCCEEDED", "42", "EXPRESS")
        assert engine.journal.history(arn) == []
        await node.close()

    run(scenario())


def test_express_starts_of_one_name_run_concurrently_and_each_outcome_is_journaled(
    node: Node,
) -> None:
    # AWS: "Starting multiple workflows with the same name results in concurrent
    # executions" (Express); each has its own ARN, ending with a generated id.
    gate = Concurrency(2)
    node.functions["held"] = gate.handler

    async def scenario() -> None:
        engine = await node.open()
        machine = engine.create_state_machine(
            "Again", definition({"T": task("held")}), type="EXPRESS"
        )
        first, second = [await engine.start_execution(machine.arn, "same", f"{i}") for i in (1, 2)]
        # Both are in the handler at once: the second start did not wait for the first.
        statuses = await asyncio.gather(*(engine.wait_status(r.arn) for r in (first, second)))
        assert statuses == ["SUCCEEDED", "SUCCEEDED"] and gate.max == 2
        journal = engine.journal
        await until(lambda: all(journal.get_execution(r.arn) for r in (first, second)))
        # Started once those ended and were journaled: a new execution again.
        third = await engine.start_execution(machine.arn, "same", "3")
        assert await engine.wait_status(third.arn) == "SUCCEEDED"
        records = [first, second, third]
        assert len({r.arn for r in records}) == 3
        assert all(r.arn.startswith(f"{machine.arn.replace('stateMachine', 'express')}:same:")
                   for r in records)  # fmt: skip
        await until(lambda: journal.get_execution(third.arn) is not None)
        outputs = [journal.get_execution(r.arn).output for r in records]  # type: ignore[union-attr]
        assert outputs == ["1", "2", "3"]
        found = journal.find_execution(machine.arn, "same")
        assert found is not None and found.arn == third.arn  # the newest of that name
        await node.close()

    run(scenario())


class Concurrency:
    """Counts handler calls in flight; the gate opens once ``expected`` are in flight at the
    same moment, so reaching it proves the overlap and the maximum shows any excess."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.now = self.max = self.calls = 0
        self.gate = asyncio.Event()

    async def handler(self, event: Any, context: Any) -> Any:
        self.now += 1
        self.calls += 1
        self.max = max(self.max, self.now)
        if self.now >= self.expected:
            self.gate.set()
        await self.gate.wait()
        await asyncio.sleep(0)  # let every call that is due start before this one ends
        self.now -= 1
        return event


def _concurrency_run(node: Node, expected: int, states: dict[str, Any], data: Any) -> Concurrency:
    async def scenario() -> Concurrency:
        seen = Concurrency(expected)
        node.functions["work"] = seen.handler
        engine = await node.open()
        machine = engine.create_state_machine("Fan", definition(states))
        arn = (await engine.start_execution(machine.arn, "f", json.dumps(data))).arn
        assert await engine.wait_status(arn) == "SUCCEEDED"
        await node.close()
        return seen

    result: Concurrency = run(scenario())
    return result


def test_parallel_branches_run_at_the_same_time(node: Node) -> None:
    branches = [{"StartAt": "B", "States": {"B": task("work")}} for _ in range(3)]
    seen = _concurrency_run(
        node, 3, {"P": {"Type": "Parallel", "Branches": branches, "End": True}}, {}
    )
    assert (seen.max, seen.calls) == (3, 3)


def test_map_honours_max_concurrency(node: Node) -> None:
    states = {
        "M": {
            "Type": "Map",
            "MaxConcurrency": 2,
            "ItemProcessor": {"StartAt": "W", "States": {"W": task("work")}},
            "End": True,
        }
    }
    seen = _concurrency_run(node, 2, states, list(range(7)))
    assert (seen.max, seen.calls) == (2, 7)


def test_map_without_max_concurrency_runs_every_item_at_once(node: Node) -> None:
    states = {
        "M": {
            "Type": "Map",
            "ItemProcessor": {"StartAt": "W", "States": {"W": task("work")}},
            "End": True,
        }
    }
    seen = _concurrency_run(node, 5, states, list(range(5)))
    assert (seen.max, seen.calls) == (5, 5)


def test_a_changed_definition_applies_to_new_executions_only(node: Node) -> None:
    calls: list[Any] = []
    old = {"T": task("hold", Next="Tag"), "Tag": {"Type": "Pass", "Result": "v1", "End": True}}
    new = {"Tag": {"Type": "Pass", "Result": "v2", "End": True}}

    async def scenario() -> None:
        gate = asyncio.Event()
        node.functions["hold"] = _hold(gate, calls)
        engine = await node.open()
        machine = engine.create_state_machine("Evolving", definition(old))
        running = (await engine.start_execution(machine.arn, "before", "{}")).arn
        await until(lambda: bool(calls))
        engine.update_state_machine(dataclasses.replace(machine, definition=definition(new)))
        fresh = (await engine.start_execution(machine.arn, "after", "{}")).arn
        assert (await engine.wait(fresh)).output == '"v2"'  # type: ignore[union-attr]
        gate.set()
        record = await engine.wait(running)
        assert record is not None and record.output == '"v1"'
        assert record.definition == definition(old)
        await node.close()

    run(scenario())


def test_a_running_execution_keeps_its_definition_across_a_restart(node: Node) -> None:
    old = {"Nap": {"Type": "Wait", "Seconds": HOUR, "Next": "Tag"},
           "Tag": {"Type": "Pass", "Result": "v1", "End": True}}  # fmt: skip
    new = {"Nap": {"Type": "Wait", "Seconds": HOUR, "Next": "Tag"},
           "Tag": {"Type": "Pass", "Result": "v2", "End": True}}  # fmt: skip

    async def scenario() -> None:
        engine = await node.open()
        machine = engine.create_state_machine("Evolving", definition(old))
        arn = (await engine.start_execution(machine.arn, "before", "{}")).arn
        await until(lambda: "WaitStateEntered" in event_types(node.journal, arn))  # type: ignore[arg-type]
        engine.update_state_machine(dataclasses.replace(machine, definition=definition(new)))
        await node.close()
        engine = await node.open(clock=OffsetClock(HOUR + 1))
        assert (await engine.wait(arn)).output == '"v1"'  # type: ignore[union-attr]
        await node.close()

    run(scenario())


def test_sync_handlers_run_in_worker_threads_and_async_ones_on_the_loop(node: Node) -> None:
    where: dict[str, Any] = {}

    def blocking(event: Any, context: Any) -> Any:
        where["sync"] = threading.current_thread()
        return event

    async def cooperative(event: Any, context: Any) -> Any:
        where["async"] = (threading.current_thread(), asyncio.get_running_loop())
        return event

    node.functions.update(blocking=blocking, cooperative=cooperative)

    async def scenario() -> None:
        engine = await node.open()
        states = {"S": task("blocking", Next="A"), "A": task("cooperative")}
        machine = engine.create_state_machine("Where", definition(states))
        arn = (await engine.start_execution(machine.arn, "w", "{}")).arn
        assert await engine.wait_status(arn) == "SUCCEEDED"
        assert where["async"] == (threading.current_thread(), asyncio.get_running_loop())
        await node.close()

    run(scenario())
    assert where["sync"] is not threading.main_thread()
    assert where["sync"].name.startswith("sagaway-task")
