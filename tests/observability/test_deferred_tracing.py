"""With the exporter process as its sink, the tracer keeps its span bookkeeping on that
sink's thread (the engine's thread only queues it): the spans are the same as those the
same executions make with the bookkeeping done in place (the in-memory exporter). The real
engine, SQLite, the exporter process and a loopback OTLP collector."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from sagaway.engine.engine import Engine
from sagaway.observability.span_export import ExporterProcess
from sagaway.observability.tracing import Tracing
from sagaway.resources.lambda_functions import FunctionRegistry
from sagaway.store.sqlite import SqliteJournal
from tests.observability.collector import Collector
from tests.observability.conftest import PROVIDER
from tests.observability.test_tracing_children import CAUGHT, MACHINE

Tree = Counter[tuple[str, str, str]]  # (name, parent's name, status mark)


def test_bookkeeping_on_the_exporters_thread_makes_the_same_spans(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    asyncio.run(_both(tmp_path / "in-place", Tracing(PROVIDER)))
    by_id = {s.context.span_id: s.name for s in spans.get_finished_spans()}
    in_place: Tree = Counter(
        (s.name, by_id.get(s.parent.span_id, "") if s.parent else "",
         str(s.attributes.get("sagaway.caught", "")))
        for s in spans.get_finished_spans()
    )  # fmt: skip
    with Collector() as collector:
        sink = ExporterProcess({**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url})
        asyncio.run(_both(tmp_path / "deferred", Tracing(PROVIDER, sink=sink)))
        sink.close()
        received = collector.received()
    names = {int(r.span_id, 16): r.name for r in received}
    deferred: Tree = Counter(
        (r.name, names.get(int(r.parent_span_id, 16), "") if r.parent_span_id else "",
         str(r.attributes.get("sagaway.caught", "")))
        for r in received
    )  # fmt: skip
    assert len(received) > 20 and deferred == in_place


async def _both(tmp_path: Path, tracing: Tracing) -> None:
    functions = FunctionRegistry()
    functions.register("echo", lambda event, context: event)

    async def work(event: Any, context: Any) -> Any:
        await asyncio.sleep(0.01 * (3 - event))  # iterations finish out of order
        if event == 2:
            raise ValueError("item 2 is broken")
        return event

    def broken(event: Any, context: Any) -> Any:
        raise ValueError("this branch always fails")

    functions.register("work", work)
    functions.register("broken", broken)
    tmp_path.mkdir()
    async with Engine(SqliteJournal(f"sqlite:///{tmp_path / 'j.db'}"), functions,
                      observer=tracing) as engine:  # fmt: skip
        fan = engine.create_state_machine("fan", MACHINE)
        caught = engine.create_state_machine("caught", CAUGHT)
        first = await engine.start_execution(fan.arn, "f", '{"items": [1, 2, 3]}')
        second = await engine.start_execution(caught.arn, "c", "{}")
        assert await engine.wait_status(first.arn, 30) == "FAILED"
        assert await engine.wait_status(second.arn, 30) == "SUCCEEDED"
