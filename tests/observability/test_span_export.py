"""The exporter process: span records sent by an engine's side reach a collector, in a
child process, with their ids, parents, attributes and status, and none is lost when the
engine side closes (a real child process, a loopback collector decoding with
opentelemetry-proto). Both paths: our own OTLP encoder (the default) and the SDK's
exporter (``SAGAWAY_TRACE_EXPORT=sdk``)."""

from __future__ import annotations

import json
import os
import time

import pytest

from sagaway.observability.span_export import (
    RESOURCE_VARIABLE,
    ExporterProcess,
    SpanRecord,
    fast_path_wanted,
)
from tests.observability.collector import Collector

TRACE = 0x5759E988BD862E3FE1BE46A994272793
EXECUTION = 0x53995C3F42CD8AD8
SHARED = {"sagaway.execution.arn": "arn:x"}  # every span's: one dict


def record(name: str, span_id: int, parent: int, error: str = "") -> SpanRecord:
    now = time.time_ns()
    more = (("sagaway.retry_count", span_id % 3),)
    return (name, TRACE, span_id, parent, False, 0, now - 1000, now, SHARED, more,
            2 if error else 0, error)  # fmt: skip


def export_through_child(collector: Collector, **env: str) -> None:
    process = ExporterProcess({
        **os.environ, "OTEL_TRACES_EXPORTER": "otlp", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "7",
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
        "OTEL_RESOURCE_ATTRIBUTES": "test.run=export", **env,
    })  # fmt: skip
    for n in range(1, 301):
        process.record(record(f"state {n}", n, EXECUTION, "States.Timeout" if n == 5 else ""))
    process.close()


@pytest.mark.parametrize("path", ["fast", "sdk"])
def test_records_reach_the_collector_through_the_child(path: str) -> None:
    with Collector() as collector:
        export_through_child(collector, SAGAWAY_TRACE_EXPORT=path,
                             OTEL_EXPORTER_OTLP_HEADERS="x-team=saga%20ops,x-key=k1")  # fmt: skip
        spans = collector.received()
    assert len(spans) == 300
    assert {s.run for s in spans} == {"export"}
    assert {s.trace_id for s in spans} == {f"{TRACE:032x}"}
    assert {s.parent_span_id for s in spans} == {f"{EXECUTION:016x}"}
    fifth = next(s for s in spans if s.name == "state 5")
    assert fifth.span_id == f"{5:016x}"
    assert fifth.attributes == {"sagaway.execution.arn": "arn:x", "sagaway.retry_count": 2}
    assert {h["x-team"] for h in collector.headers} == {"saga ops"}
    assert {h["content-type"] for h in collector.headers} == {"application/x-protobuf"}
    assert {s.path for s in spans} == {"/v1/traces"}


def test_fast_path_retries_a_busy_collector_and_honours_the_service_name() -> None:
    with Collector(failures=2) as collector:  # two 503s first, then it takes them
        export_through_child(collector, OTEL_SERVICE_NAME="orders",
                             OTEL_EXPORTER_OTLP_COMPRESSION="gzip")  # fmt: skip
        spans = collector.received()
    assert len(spans) == 300
    assert {s.service for s in spans} == {"orders"}
    assert {h["content-encoding"] for h in collector.headers} == {"gzip"}


def test_the_traces_endpoint_is_used_as_given() -> None:
    with Collector() as collector:
        export_through_child(
            collector,
            OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9",
            OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=collector.url + "/v1/traces",
        )
        spans = collector.received()
    assert len(spans) == 300
    assert {s.path for s in spans} == {"/v1/traces"}


def test_which_path() -> None:
    assert fast_path_wanted({})
    assert fast_path_wanted({"OTEL_TRACES_EXPORTER": "otlp", "SAGAWAY_TRACE_EXPORT": "fast"})
    assert not fast_path_wanted({"SAGAWAY_TRACE_EXPORT": "sdk"})
    assert not fast_path_wanted({"OTEL_TRACES_EXPORTER": "console"})
    assert fast_path_wanted({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})  # our gRPC sender
    assert not fast_path_wanted({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
                                 "SAGAWAY_TRACE_EXPORT": "sdk"})  # fmt: skip
    with pytest.raises(ValueError):
        fast_path_wanted({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"})
    with pytest.raises(ValueError):
        fast_path_wanted({"SAGAWAY_TRACE_EXPORT": "quick"})


def test_batch_settings_bound_the_engines_queue() -> None:
    with Collector() as collector:
        process = ExporterProcess({
            **os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
            "OTEL_BSP_SCHEDULE_DELAY": "60000",  # nothing is sent before close()
            "OTEL_BSP_MAX_QUEUE_SIZE": "10",  # so only the first ten are kept
        })  # fmt: skip
        for n in range(1, 51):
            process.record(record(f"state {n}", n, EXECUTION))
        process.close()
        spans = collector.received()
    assert sorted(s.name for s in spans) == sorted(f"state {n}" for n in range(1, 11))


def test_the_child_has_the_resource_this_process_works_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The same resource settings as this process: the engine works the resource out and
    # hands it over, so the child does not import the SDK for it.
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "test.run=handed,deployment.environment=t")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "payments")
    with Collector() as collector:
        process = ExporterProcess({**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url})
        process.record(record("state 1", 1, EXECUTION))
        process.close()
        spans = collector.received()
    assert [(s.service, s.run) for s in spans] == [("payments", "handed")]


def test_the_child_takes_the_resource_it_is_given() -> None:
    given = json.dumps({"service.name": "given", "test.run": "variable"})
    with Collector() as collector:
        process = ExporterProcess({**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
                                   RESOURCE_VARIABLE: given})  # fmt: skip
        process.record(record("state 1", 1, EXECUTION))
        process.close()
        spans = collector.received()
    assert [(s.service, s.run) for s in spans] == [("given", "variable")]


def priority_after_lowering(env: dict[str, str]) -> tuple[int, int]:
    """The scheduling policy and the niceness (beyond this process's) that lower_priority
    leaves, in a child process (a process cannot raise its priority back)."""
    code = (
        "import json, os, sys\n"
        "from sagaway.observability.span_export import lower_priority\n"
        "lower_priority(json.loads(sys.argv[1]))\n"
        "print(os.sched_getscheduler(0), os.nice(0))\n"
    )
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code, json.dumps(env)],
                          capture_output=True, text=True, check=True)  # fmt: skip
    policy, niceness = done.stdout.split()
    return int(policy), int(niceness) - os.nice(0)


def test_the_exporter_process_runs_below_the_engines_cpu_priority_unless_told() -> None:
    # By default only when no other process wants a core (SCHED_IDLE), niceness unchanged.
    assert priority_after_lowering({}) == (os.SCHED_IDLE, 0)
    assert priority_after_lowering({"SAGAWAY_TRACE_EXPORTER_NICE": "idle"}) == (os.SCHED_IDLE, 0)
    assert priority_after_lowering({"SAGAWAY_TRACE_EXPORTER_NICE": "5"}) == (os.SCHED_OTHER, 5)
    assert priority_after_lowering({"SAGAWAY_TRACE_EXPORTER_NICE": "0"}) == (os.SCHED_OTHER, 0)


def test_start_runs_the_child_before_any_span_and_says_when_it_is_ready() -> None:
    with Collector() as collector:
        process = ExporterProcess({**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url})
        assert process.start(wait=30)  # ready: it exports what comes from now on
        child = process._proc
        assert child is not None and child.poll() is None
        assert process.start(wait=1)  # a second call starts nothing more
        assert process._proc is child
        process.record(record("state 1", 1, EXECUTION))
        process.close()
        spans = collector.received()
    assert [s.name for s in spans] == ["state 1"]
    assert child.returncode == 0


def test_start_says_so_at_once_when_the_child_cannot_export() -> None:
    # The child refuses a protocol it does not speak and exits: no waiting for the timeout.
    process = ExporterProcess({**os.environ, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"})
    started = time.monotonic()
    assert not process.start(wait=30)
    assert time.monotonic() - started < 20
    process.close()


def test_flush_returns_once_the_child_has_exported_what_it_was_sent() -> None:
    with Collector() as collector:
        process = ExporterProcess({
            **os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
            "OTEL_BSP_SCHEDULE_DELAY": "60000",  # only the flush sends before close()
        })  # fmt: skip
        assert process.start(wait=30)
        for n in range(1, 41):
            process.record(record(f"state {n}", n, EXECUTION))
        assert process.flush(timeout=30)
        assert len(collector.received()) == 40  # all there, and the child still runs
        process.record(record("state 41", 41, EXECUTION))
        assert process.flush(timeout=30)  # a second flush: the same again
        assert len(collector.received()) == 41
        child = process._proc
        assert child is not None and child.poll() is None
        process.close()


def test_flush_says_no_when_the_child_is_gone() -> None:
    process = ExporterProcess({**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"})
    assert not process.flush(timeout=1)  # never started
    assert process.start(wait=30)
    assert process._proc is not None
    process._proc.kill()
    process._proc.wait()
    started = time.monotonic()
    assert not process.flush(timeout=30)
    assert time.monotonic() - started < 20  # known at once, not after the timeout
    process.close()


def test_a_message_the_child_cannot_read_costs_only_itself() -> None:
    import io
    import marshal
    import struct

    from sagaway.observability.span_export import serve
    from sagaway.observability.span_runs import FLUSH, SPAN

    batch = [(), ("not a kind",), (SPAN, record("state 1", 1, EXECUTION)), (FLUSH,)]
    data = marshal.dumps(batch)
    exported: list[list[SpanRecord]] = []
    flushes: list[bool] = []
    serve(io.BytesIO(struct.pack("<I", len(data)) + data), exported.append, 512,
          lambda: flushes.append(True))  # fmt: skip
    assert [[r[0] for r in b] for b in exported] == [["state 1"]]
    assert flushes == [True]
