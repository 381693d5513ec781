"""Spans of an execution resumed while inside a Parallel and a Map: its running states hang
under their branch's and iteration's spans again, as they did before the restart. Two
engines, one after the other, on the same SQLite journal; the SDK's in-memory exporter."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from sagaway.engine.engine import Engine
from sagaway.observability.tracing import Tracing
from sagaway.resources.lambda_functions import FunctionRegistry
from sagaway.store.sqlite import SqliteJournal
from tests.engine.conftest import definition, task
from tests.observability.conftest import PROVIDER, by_name, parent_of

MACHINE = definition({
    "Both": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "Each", "States": {"Each": {
            "Type": "Map", "ItemsPath": "$.items", "End": True,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Work",
                              "States": {"Work": task("work")}}}}},
        {"StartAt": "Hold", "States": {"Hold": task("work")}},
    ]},
})  # fmt: skip


def test_states_resumed_in_a_branch_or_iteration_hang_under_its_span(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    asyncio.run(_run(tmp_path))
    finished = spans.get_finished_spans()
    (both,), (each,) = by_name(finished, "Both"), by_name(finished, "Each")
    branches = {s.name: s for s in finished if s.name.startswith("Both branch")}
    assert sorted(branches) == ["Both branch 0", "Both branch 1"]
    assert {parent_of(s) for s in branches.values()} == {both.context.span_id}
    assert parent_of(each) == branches["Both branch 0"].context.span_id
    (hold,) = by_name(finished, "Hold")
    assert parent_of(hold) == branches["Both branch 1"].context.span_id
    iterations = {s.attributes["sagaway.iteration.index"]: s for s in finished
                  if s.name.startswith("Each iteration")}  # fmt: skip
    assert sorted(iterations) == [0, 1]
    assert {parent_of(s) for s in iterations.values()} == {each.context.span_id}
    assert all(s.attributes["sagaway.resumed"] is True for s in iterations.values())
    works = by_name(finished, "Work")
    assert {parent_of(s) for s in works} == {s.context.span_id for s in iterations.values()}
    assert len({s.context.trace_id for s in finished}) == 1


async def _run(tmp_path: Path) -> None:
    started = asyncio.Event()
    calls: list[Any] = []

    async def blocked(event: Any, context: Any) -> Any:
        calls.append(event)
        if len(calls) == 3:  # both iterations and the other branch are in their Task
            started.set()
        await asyncio.Event().wait()  # until the engine stops

    first = FunctionRegistry()
    first.register("work", blocked)
    path = f"sqlite:///{tmp_path / 'j.db'}"
    async with Engine(SqliteJournal(path), first) as engine:  # traces nothing
        machine = engine.create_state_machine("resumed", MACHINE)
        record = await engine.start_execution(machine.arn, "r", json.dumps({"items": [1, 2]}))
        await asyncio.wait_for(started.wait(), 30)
    second = FunctionRegistry()
    second.register("work", lambda event, context: event)
    async with Engine(SqliteJournal(path), second, observer=Tracing(PROVIDER)) as engine:
        assert await engine.wait_status(record.arn, 30) == "SUCCEEDED"
