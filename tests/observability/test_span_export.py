"""The exporter process: span records sent by an engine's side come out of the SDK's OTLP
exporter, in a child process, with their ids, parents, attributes and status, and none is
lost when the engine side closes (a real child process, a loopback collector)."""

from __future__ import annotations

import os
import time

from sagaway.observability.span_export import ExporterProcess, SpanRecord
from tests.observability.collector import Collector

TRACE = 0x5759E988BD862E3FE1BE46A994272793
EXECUTION = 0x53995C3F42CD8AD8


def record(name: str, span_id: int, parent: int, error: str = "") -> SpanRecord:
    now = time.time_ns()
    attributes = {"sagaway.execution.arn": "arn:x", "sagaway.retry_count": span_id % 3}
    return (name, TRACE, span_id, parent, False, 0, now - 1000, now, attributes,
            2 if error else 0, error)  # fmt: skip


def test_records_reach_the_collector_through_the_child() -> None:
    with Collector() as collector:
        env = {**os.environ, "OTEL_TRACES_EXPORTER": "otlp", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "7",
               "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
               "OTEL_RESOURCE_ATTRIBUTES": "test.run=export"}  # fmt: skip
        process = ExporterProcess(env)
        for n in range(1, 301):
            process.record(record(f"state {n}", n, EXECUTION, "States.Timeout" if n == 5 else ""))
        process.close()
        spans = collector.received()
    assert len(spans) == 300
    assert {s.run for s in spans} == {"export"}
    assert {s.trace_id for s in spans} == {f"{TRACE:032x}"}
    assert {s.parent_span_id for s in spans} == {f"{EXECUTION:016x}"}
    fifth = next(s for s in spans if s.name == "state 5")
    assert fifth.span_id == f"{5:016x}"
    assert fifth.attributes == {"sagaway.execution.arn": "arn:x", "sagaway.retry_count": 2}
