"""What an EXPRESS execution journals when it ends: its record (input, output, status) and
a state snapshot without frames, input or output, which nothing reads of an ended EXPRESS
execution and which would only serialize its payloads again."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

from sagaway.engine.faults import outcome_record
from sagaway.expressions.jsontext import loads
from sagaway.interpreter.codec import load_state
from sagaway.interpreter.execution import new_execution
from tests.engine.conftest import Node, definition, run, task, until


def test_an_express_outcome_keeps_its_payloads_in_the_record_only(node: Node) -> None:
    node.functions["tag"] = lambda event, context: {"seen": len(event["blob"])}
    blob = "é" * (60 * 1024)

    async def scenario() -> None:
        engine = await node.open()
        machine = engine.create_state_machine(
            "Quick", definition({"T": task("tag", ResultPath="$.tag")}), type="EXPRESS"
        )
        text = json.dumps({"blob": blob})
        arn = (await engine.start_execution(machine.arn, "q", text)).arn
        assert await engine.wait_status(arn) == "SUCCEEDED"
        await until(lambda: engine.journal.get_execution(arn) is not None)
        record = engine.journal.get_execution(arn)
        assert record is not None and record.state is not None
        assert record.input == text
        assert loads(record.output or "") == {"blob": blob, "tag": {"seen": len(blob)}}
        state = load_state(record.state)
        assert (state.status, state.frames, state.output) == ("SUCCEEDED", {}, None)
        assert "Input" not in state.execution and state.execution["Id"] == arn
        assert len(record.state) < 1024  # no payload in it
        await node.close()

    run(scenario())


def test_an_express_failure_keeps_error_and_cause(node: Node) -> None:
    def boom(event: Any, context: Any) -> Any:
        raise ValueError("no")

    node.functions["boom"] = boom

    async def scenario() -> None:
        engine = await node.open()
        machine = engine.create_state_machine(
            "Fails", definition({"T": task("boom")}), type="EXPRESS"
        )
        arn = (await engine.start_execution(machine.arn, "f", "{}")).arn
        assert await engine.wait_status(arn) == "FAILED"
        await until(lambda: engine.journal.get_execution(arn) is not None)
        record = engine.journal.get_execution(arn)
        assert record is not None and record.state is not None
        assert record.error == "ValueError" and "no" in (record.cause or "")
        assert record.output is None
        state = load_state(record.state)
        assert (state.error, state.frames) == ("ValueError", {})
        await node.close()

    run(scenario())


def test_the_outcome_snapshot_keeps_every_other_field() -> None:
    state = new_execution(execution_arn="arn:e", name="e", state_machine_arn="arn:m",
                          state_machine_name="m", express=True, token_key="k")  # fmt: skip
    state.execution["Input"] = {"big": "x"}
    state.output, state.error, state.cause, state.seed = {"o": 1}, "E", "C", 7
    state.tokens, state.timers, state.map_runs = {"t": "root"}, {"t": 1.0}, {"r": {}}
    state.trace = {"traceparent": "00-x"}
    snapshot = load_state(outcome_record("arn:e", state, 1.0).state or b"")
    execution = {k: v for k, v in state.execution.items() if k != "Input"}
    expected = replace(state, frames={}, output=None, execution=execution)
    assert snapshot == expected


def test_an_outcome_the_journal_cannot_hold_is_recorded_failed() -> None:
    state = new_execution(execution_arn="arn:e", name="e", state_machine_arn="arn:m",
                          state_machine_name="m", express=True)  # fmt: skip
    # A lone surrogate (from a handler's error message) is no UTF-8: no snapshot holds it.
    state.status, state.error, state.cause = "FAILED", "Boom", "bad \ud800 text"
    record = outcome_record("arn:e", state, 1.0)
    assert (record.status, record.output, record.error) == ("FAILED", None, "States.Runtime")
    assert "The execution failed while recording a step" in (record.cause or "")


def test_wait_gives_an_express_outcome_once_it_is_journaled(node: Node) -> None:
    # An EXPRESS outcome is journaled after the end; Engine.wait reads the journal, so it
    # must wake only once that row is written (it used to answer None, now and then, and
    # startExecution.sync of an EXPRESS child and `sagaway run` then failed an assertion).
    async def quick(event: Any, context: Any) -> Any:
        return {"n": event["n"]}

    node.functions["quick"] = quick

    async def scenario() -> None:
        engine = await node.open()
        machine = engine.create_state_machine(
            "Quick", definition({"T": task("quick", ResultPath="$.r")}), type="EXPRESS"
        )
        for round_ in range(5):
            starts = [
                engine.start_execution(machine.arn, f"w{round_}-{i}", json.dumps({"n": i}))
                for i in range(40)
            ]
            arns = [record.arn for record in await asyncio.gather(*starts)]
            ended = await asyncio.gather(*(engine.wait(arn) for arn in arns))
            for i, record in enumerate(ended):
                assert record is not None and record.status == "SUCCEEDED"
                assert loads(record.output or "") == {"n": i, "r": {"n": i}}
            assert all(not actor.journal_waiters for actor in engine.actors.values())
        await node.close()

    run(scenario())
