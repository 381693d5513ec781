"""Spans of Parallel branches and Map iterations (each branch and each iteration is a span
under its state's span, the states it runs hang under it, each attempt under its own
state), and of EXPRESS executions (no state spans). The real engine, SQLite journal, the
SDK's in-memory exporter."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from sagaway.engine.engine import Engine
from sagaway.observability.tracing import Tracing
from sagaway.resources.lambda_functions import FunctionRegistry
from sagaway.store.sqlite import SqliteJournal
from tests.engine.conftest import definition, task
from tests.observability.conftest import PROVIDER, by_name, parent_of


def branch(name: str, handler: str) -> dict[str, Any]:
    return {"StartAt": name, "States": {name: task(handler)}}


MACHINE = definition({
    "Both": {"Type": "Parallel", "Next": "Each",
             "Branches": [branch("Left", "echo"), branch("Right", "echo")]},
    "Each": {"Type": "Map", "ItemsPath": "$$.Execution.Input.items", "End": True,
             "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Work",
                               "States": {"Work": task("work", Next="Check"),
                                          "Check": {"Type": "Pass", "End": True}}}},
})  # fmt: skip


def test_branches_and_iterations_are_spans_of_their_own(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    asyncio.run(_run(tmp_path))
    finished = spans.get_finished_spans()
    (execution,) = by_name(finished, "execution fan")
    (both,) = by_name(finished, "Both")
    (each,) = by_name(finished, "Each")
    assert parent_of(both) == parent_of(each) == execution.context.span_id
    branches = sorted(
        (s for s in finished if s.name.startswith("Both branch")), key=lambda s: s.name
    )
    assert [s.name for s in branches] == ["Both branch 0", "Both branch 1"]
    assert all(parent_of(s) == both.context.span_id for s in branches)
    (left,), (right,) = by_name(finished, "Left"), by_name(finished, "Right")
    assert {parent_of(left), parent_of(right)} == {s.context.span_id for s in branches}
    assert parent_of(only(finished, "Left attempt")) == left.context.span_id
    iterations = {s.attributes["sagaway.iteration.index"]: s for s in finished
                  if s.name.startswith("Each iteration")}  # fmt: skip
    assert sorted(iterations) == [0, 1, 2]
    assert all(parent_of(s) == each.context.span_id for s in iterations.values())
    # Item 3 is done first, item 2 fails, and the Map aborts item 1's iteration.
    assert [iterations[i].status.status_code for i in (0, 1, 2)] == [
        StatusCode.ERROR, StatusCode.ERROR, StatusCode.UNSET,
    ]  # fmt: skip
    works, (check,) = by_name(finished, "Work"), by_name(finished, "Check")
    assert len(works) == 3 and parent_of(check) == iterations[2].context.span_id
    iteration_ids = {s.context.span_id for s in iterations.values()}
    assert {parent_of(s) for s in works} == iteration_ids
    for work in works:  # each attempt under its own iteration's Work, not another's
        (attempt,) = [a for a in by_name(finished, "Work attempt")
                      if parent_of(a) == work.context.span_id]  # fmt: skip
        assert attempt.start_time is not None and work.start_time is not None
        assert work.start_time <= attempt.start_time
    assert {s.context.trace_id for s in finished} == {execution.context.trace_id}


def only(spans: tuple[ReadableSpan, ...], name: str) -> ReadableSpan:
    (span,) = by_name(spans, name)
    return span


async def _run(tmp_path: Path) -> None:
    functions = FunctionRegistry()
    functions.register("echo", lambda event, context: event)

    async def work(event: Any, context: Any) -> Any:
        # Iterations finish out of order, with margins a loaded machine keeps: item 3 at
        # once, item 2 fails well after, and item 1 would run until the Map aborts it.
        await asyncio.sleep({3: 0, 2: 0.3, 1: 60}[event])
        if event == 2:
            raise ValueError("item 2 is broken")
        return event

    functions.register("work", work)
    await run_to("FAILED", tmp_path, functions, "fan", MACHINE, {"items": [1, 2, 3]})


async def run_to(
    status: str, tmp_path: Path, functions: FunctionRegistry, name: str, machine: str,
    given: Any, type: str = "STANDARD", *, tracing: Tracing | None = None,
    trace_parent: str = "",
) -> None:  # fmt: skip
    """Runs one execution of ``machine``, traced by ``tracing`` (default: into the tests'
    provider), to ``status``; ``trace_parent``: the caller's W3C traceparent."""
    journal = SqliteJournal(f"sqlite:///{tmp_path / 'j.db'}")
    async with Engine(journal, functions, observer=tracing or Tracing(PROVIDER)) as engine:
        created = engine.create_state_machine(name, machine, type=type)
        record = await engine.start_execution(created.arn, name[0], json.dumps(given),
                                              trace_parent=trace_parent)  # fmt: skip
        assert await engine.wait_status(record.arn, 30) == status


CAUGHT = definition({
    "Both": {"Type": "Parallel", "Next": "Done",
             "Branches": [branch("Fine", "echo"), branch("Broken", "broken")],
             "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recover"}]},
    "Recover": {"Type": "Pass", "Next": "Done"},
    "Done": {"Type": "Succeed"},
})  # fmt: skip


def test_a_caught_branch_failure_ends_the_parallel_and_the_next_state_is_the_executions(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    asyncio.run(_caught(tmp_path))
    finished = spans.get_finished_spans()
    (execution,) = by_name(finished, "execution caught")
    (both,), (recover,) = by_name(finished, "Both"), by_name(finished, "Recover")
    assert parent_of(both) == parent_of(recover) == execution.context.span_id
    assert both.attributes["sagaway.caught"] == "ValueError"  # the branch's error
    assert recover.attributes["sagaway.compensation"] is True
    (broken,) = by_name(finished, "Broken")
    assert broken.parent is not None and broken.parent.span_id != execution.context.span_id
    assert {s.name for s in finished if parent_of(s) == both.context.span_id} == {
        "Both branch 0", "Both branch 1",
    }  # fmt: skip


async def _caught(tmp_path: Path) -> None:
    functions = FunctionRegistry()
    functions.register("echo", lambda event, context: event)

    def broken(event: Any, context: Any) -> Any:
        raise ValueError("this branch always fails")

    functions.register("broken", broken)
    await run_to("SUCCEEDED", tmp_path, functions, "caught", CAUGHT, {})


def test_an_express_execution_has_its_span_and_its_attempts_only(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    asyncio.run(_express(tmp_path))
    finished = spans.get_finished_spans()
    (execution,) = by_name(finished, "execution quick")
    attempts = [s for s in finished if s.name.endswith(" attempt")]
    assert sorted(s.name for s in attempts) == ["First attempt", "Second attempt"]
    assert all(parent_of(s) == execution.context.span_id for s in attempts)
    assert len(finished) == 3  # no state spans: they come from the history it does not keep


async def _express(tmp_path: Path) -> None:
    functions = FunctionRegistry()
    functions.register("echo", lambda event, context: event)
    quick = definition({"First": task("echo", Next="Second"), "Second": task("echo")})
    await run_to("SUCCEEDED", tmp_path, functions, "quick", quick, {}, type="EXPRESS")


DISTRIBUTED = definition({
    "Fan": {"Type": "Map", "ItemsPath": "$.items", "End": True,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED",
                                                  "ExecutionType": "STANDARD"},
                              "StartAt": "Work", "States": {"Work": task("seen")}}},
})  # fmt: skip


def test_a_distributed_maps_attempts_are_traced_though_their_events_are_elsewhere(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    seen = asyncio.run(_distributed(tmp_path))
    attempts = by_name(spans.get_finished_spans(), "Work attempt")
    # The iterations' events are not in this history: the engine traces their attempts, and
    # each handler ran in its own attempt's context.
    assert len(attempts) == 3 and all(a.status.status_code is StatusCode.UNSET for a in attempts)
    assert sorted(seen) == sorted(a.context.span_id for a in attempts)


async def _distributed(tmp_path: Path) -> list[int]:
    from opentelemetry import trace

    seen: list[int] = []

    def work(event: Any, context: Any) -> Any:
        seen.append(trace.get_current_span().get_span_context().span_id)
        return event

    functions = FunctionRegistry()
    functions.register("seen", work)
    await run_to("SUCCEEDED", tmp_path, functions, "spread", DISTRIBUTED, {"items": [1, 2, 3]})
    return seen


def test_an_execution_that_leaves_this_engine_unfinished_is_forgotten(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    tracing = Tracing(PROVIDER)
    asyncio.run(_detached(tmp_path, tracing))
    # Nothing kept of it, here or in the span builder, and none of its spans ended here:
    # the worker that takes it over traces it from where it is (as after a crash).
    assert not tracing._runs and not tracing.sink._builder._runs  # type: ignore[attr-defined]
    assert spans.get_finished_spans() == ()


async def _detached(tmp_path: Path, tracing: Tracing) -> None:
    journal = SqliteJournal(f"sqlite:///{tmp_path / 'j.db'}")
    waiting = definition({"Hold": {"Type": "Wait", "Seconds": 3600, "End": True}})
    async with Engine(journal, FunctionRegistry(), observer=tracing) as engine:
        machine = engine.create_state_machine("held", waiting)
        record = await engine.start_execution(machine.arn, "h", "{}")
        assert tracing._runs  # traced while it runs here
        engine.detach(engine.actors[record.arn])
