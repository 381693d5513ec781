"""Spans of executions on the real engine (SQLite journal, real handlers), exported with the
OpenTelemetry SDK's in-memory exporter."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from sagaway.engine.engine import Engine
from sagaway.engine.redrive import redrive
from sagaway.observability.context import (
    format_traceparent,
    parse_traceparent,
    traceparent_to_xray,
    xray_to_traceparent,
)
from sagaway.observability.tracing import Tracing
from sagaway.resources.lambda_functions import FunctionRegistry
from sagaway.store.sqlite import SqliteJournal
from tests.engine.conftest import definition, task
from tests.observability.conftest import PROVIDER, by_name, parent_of

CALLER = format_traceparent(0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331)
SAGA = definition({
    "Reserve": task("reserve", Next="Pay",
                    Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Release"}]),
    "Pay": task("pay", Next="Done",
                Retry=[{"ErrorEquals": ["Declined"], "IntervalSeconds": 1, "MaxAttempts": 1,
                        "MaxDelaySeconds": 1}],
                Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Release"}]),
    "Release": task("release", Next="Cancelled"),
    "Cancelled": {"Type": "Fail", "Error": "OrderCancelled"},
    "Done": {"Type": "Succeed"},
})  # fmt: skip


class Declined(Exception):
    pass


def registry(seen: list[Any]) -> FunctionRegistry:
    functions = FunctionRegistry()

    def pay(event: dict[str, Any], context: Any) -> Any:
        from opentelemetry import trace

        seen.append(trace.get_current_span().get_span_context())  # the handler's context
        raise Declined("card declined")

    functions.register("reserve", lambda event, context: event)
    functions.register("pay", pay)
    functions.register("release", lambda event, context: event)
    return functions


def test_span_tree_of_a_compensated_order(tmp_path: Path, spans: InMemorySpanExporter) -> None:
    asyncio.run(_compensated_order(tmp_path, spans))


async def _compensated_order(tmp_path: Path, spans: InMemorySpanExporter) -> None:
    seen: list[Any] = []
    journal = SqliteJournal(f"sqlite:///{tmp_path / 'j.db'}")
    tracing = Tracing(PROVIDER, {"shop": "$.order.id"})
    async with Engine(journal, registry(seen), observer=tracing) as engine:
        machine = engine.create_state_machine("shop", SAGA)
        record = await engine.start_execution(
            machine.arn, "o-1", json.dumps({"order": {"id": "o-1"}}), trace_parent=CALLER
        )
        assert await engine.wait_status(record.arn, 30) == "FAILED"
    finished = spans.get_finished_spans()
    (execution,) = by_name(finished, "execution shop")
    assert execution.context.trace_id == 0x0AF7651916CD43DD8448EB211C80319C
    assert parent_of(execution) == 0xB7AD6B7169203331  # the caller's span
    assert execution.status.status_code is StatusCode.ERROR
    assert {span.context.trace_id for span in finished} == {execution.context.trace_id}
    states = {span.name: span for span in finished if "sagaway.state.type" in span.attributes}
    assert set(states) == {"Reserve", "Pay", "Release", "Cancelled"}
    assert all(parent_of(span) == execution.context.span_id for span in states.values())
    assert states["Pay"].attributes["sagaway.caught"] == "Declined"
    assert states["Release"].attributes["sagaway.compensation"] is True
    assert "sagaway.compensation" not in states["Reserve"].attributes
    attempts = sorted(by_name(finished, "Pay attempt"), key=lambda s: s.start_time or 0)
    assert [a.attributes["sagaway.retry_count"] for a in attempts] == [0, 1]  # own spans
    assert all(parent_of(a) == states["Pay"].context.span_id for a in attempts)
    assert all(a.status.status_code is StatusCode.ERROR for a in attempts)
    assert [c.span_id for c in seen] == [a.context.span_id for a in attempts]
    assert {span.attributes["sagaway.business_key"] for span in finished} == {"o-1"}
    assert {span.attributes["sagaway.execution.arn"] for span in finished} == {record.arn}
    assert execution.attributes["sagaway.state_machine"] == "shop"


def test_an_engine_without_tracing_journals_the_callers_context(tmp_path: Path) -> None:
    asyncio.run(_untraced(tmp_path))


async def _untraced(tmp_path: Path) -> None:
    journal = SqliteJournal(f"sqlite:///{tmp_path / 'j.db'}")
    async with Engine(journal, registry([])) as engine:
        machine = engine.create_state_machine("shop", SAGA)
        record = await engine.start_execution(machine.arn, "o-1", "{}", trace_parent=CALLER)
        await engine.wait_status(record.arn, 30)
    stored = journal.get_execution(record.arn)
    assert stored is not None and stored.state is not None
    assert json.loads(stored.state)["trace"] == {"traceparent": CALLER}


def test_xray_trace_header_and_traceparent_convert_both_ways() -> None:
    header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    traceparent = xray_to_traceparent(header)
    assert traceparent == "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"
    assert traceparent_to_xray(traceparent) == header
    # No Parent: the trace alone; not sampled is kept.
    assert xray_to_traceparent("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0") == (
        "00-5759e988bd862e3fe1be46a994272793-0000000000000000-00"
    )
    assert xray_to_traceparent("Root=garbage") == ""
    assert parse_traceparent("00-" + "0" * 32 + "-53995c3f42cd8ad8-01") is None


def test_a_redrive_is_a_run_of_its_own_in_the_same_trace(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    asyncio.run(_redriven(tmp_path, spans))


async def _redriven(tmp_path: Path, spans: InMemorySpanExporter) -> None:
    calls: list[int] = []

    def once_broken(event: Any, context: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("broken until the operator fixes it")
        return event

    functions = FunctionRegistry()
    functions.register("reserve", once_broken)
    journal = SqliteJournal(f"sqlite:///{tmp_path / 'j.db'}")
    async with Engine(journal, functions, observer=Tracing(PROVIDER)) as engine:
        machine = engine.create_state_machine("m", definition({"Reserve": task("reserve")}))
        record = await engine.start_execution(machine.arn, "e", "{}", trace_parent=CALLER)
        assert await engine.wait_status(record.arn, 30) == "FAILED"
        failed = journal.get_execution(record.arn)
        assert failed is not None
        assert await redrive(engine, failed) == 1
        assert await engine.wait_status(record.arn, 30) == "SUCCEEDED"
    finished = spans.get_finished_spans()
    (first,) = by_name(finished, "execution m")
    (again,) = by_name(finished, "execution m redrive 1")
    assert parent_of(again) == first.context.span_id
    assert {s.context.trace_id for s in finished} == {first.context.trace_id}
    reserves = sorted(by_name(finished, "Reserve"), key=lambda s: s.start_time or 0)
    assert [parent_of(s) for s in reserves] == [first.context.span_id, again.context.span_id]
    assert reserves[1].attributes["sagaway.redrive_count"] == 1


@pytest.mark.parametrize("runtime", ["contextvar", "api"])
@pytest.mark.parametrize("baggage_set", [True, False], ids=["baggage", "empty context"])
def test_enter_span_makes_a_span_current_and_leave_span_restores_the_context(
    runtime: str, baggage_set: bool
) -> None:
    from opentelemetry import baggage, trace
    from opentelemetry import context as otel_context
    from opentelemetry.context import Context
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    from sagaway.observability import context as ours

    if runtime == "api":  # another runtime context than the default: the API's own calls
        enter, leave = ours._attach, ours._detach
    else:
        assert ours.RUNTIME_VARIABLE is not None  # the default runtime context was found
        enter, leave = ours.enter_span, ours.leave_span
        assert enter is not ours._attach
    outer = otel_context.attach(baggage.set_baggage("order", "o-1") if baggage_set else Context())
    expected = "o-1" if baggage_set else None
    before = otel_context.get_current()
    try:
        span = NonRecordingSpan(SpanContext(7, 9, False, TraceFlags(1)))
        entered = enter(span)
        assert trace.get_current_span() is span
        assert baggage.get_baggage("order") == expected  # what was current is kept
        leave(entered)
        assert trace.get_current_span() is trace.INVALID_SPAN
        assert baggage.get_baggage("order") == expected
        assert otel_context.get_current() is before  # the very context that was current
    finally:
        otel_context.detach(outer)


def test_ids_drawn_for_starts_that_never_come_are_not_kept_forever() -> None:
    from sagaway.observability import tracing as module

    tracing = Tracing(PROVIDER)
    drawn = [tracing.execution_trace(f"arn:{i}", "")["traceparent"]
             for i in range(module._MAX_DRAWN * 2 + 1)]  # fmt: skip
    assert len(tracing._drawn) <= module._MAX_DRAWN
    # What is still kept is what execution_trace returned, parsed
    for traceparent, ids in tracing._drawn.items():
        assert parse_traceparent(traceparent) == ids
    assert drawn[-1] in tracing._drawn
