"""Traces over OTLP/gRPC (``OTEL_EXPORTER_OTLP[_TRACES]_PROTOCOL=grpc``): a real execution's
spans leave through the real exporter process, on the fast path (our encoder and
:class:`~sagaway.observability.otlp_grpc.OtlpGrpcSender`) and on the SDK's
(``SAGAWAY_TRACE_EXPORT=sdk``: its OTLP/gRPC exporter), for a loopback gRPC collector
(grpcio's server, decoding with opentelemetry-proto), plaintext or TLS; both paths deliver
the same spans and metadata, gzip arrives as gzip; the traces variable wins over the
general one; a protocol it cannot speak is refused in one line naming the variable; and a
collector that is down, at start-up or from mid-run on, neither stops nor slows the engine,
and gets the spans once it is back."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as OTLPGrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

from sagaway.observability.setup import TracingConfigError, tracer_provider_from_env
from sagaway.observability.span_export import (
    ExporterProcess,
    Message,
    SpanRecord,
    SpanSink,
    fast_path_wanted,
    otlp_protocol,
    span_exporter,
)
from sagaway.observability.span_runs import SPAN
from sagaway.observability.tracing import Tracing
from sagaway.resources.lambda_functions import FunctionRegistry
from tests.api.conftest import free_port
from tests.cli.cli_kit import sagaway
from tests.engine.conftest import definition, task
from tests.observability.certificates import make_certificates
from tests.observability.collector import GRPC_EXPORT, Collector, GrpcCollector, Received, Tls
from tests.observability.conftest import PROVIDER
from tests.observability.test_resume_trace import wait_for
from tests.observability.test_span_export import EXECUTION, TRACE, export_through_child
from tests.observability.test_tracing_children import run_to

TRACE_ID = "5759e988bd862e3fe1be46a994272793"
CALLER = "53995c3f42cd8ad8"  # the caller's span: the execution span's parent
SAGA = definition({
    "Reserve": task("reserve", Next="Charge"), "Charge": task("echo", Next="Ship"),
    "Ship": task("echo"),
})  # fmt: skip
STATES = ("Reserve", "Charge", "Ship")
# The export timeout of the outage tests: the SDK's exporter retries a batch for 15 s
# (1 + 2 + 4 + 8 s of backoff) before it drops it, and an engine that waited for it would
# wait that long; an execution of SAGA takes a fraction of a second.
TIMEOUT = "30"
PROMPT = 5.0
PATHS = ("fast", "sdk")  # SAGAWAY_TRACE_EXPORT: our encoder and sender, or the SDK's exporter
USER_AGENTS = {"fast": "sagaway-otlp-exporter ", "sdk": "OTel-OTLP-Exporter-Python/"}


def grpc_env(endpoint: str, **env: str) -> dict[str, str]:
    return {**os.environ, "OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_RESOURCE_ATTRIBUTES": "test.run=grpc", **env}  # fmt: skip


def traced_run(
    tmp_path: Path, process: SpanSink, name: str, *,
    on_reserve: Callable[[], object] = lambda: None, trace_parent: str = "",
) -> float:  # fmt: skip
    """Runs one execution of SAGA (named ``name``) to SUCCEEDED in an engine of its own, its
    spans sent to ``process``: the seconds it took."""

    def reserve(event: Any, context: Any) -> Any:
        on_reserve()
        return event

    functions = FunctionRegistry()
    functions.register("reserve", reserve)
    functions.register("echo", lambda event, context: event)
    tracing = Tracing(PROVIDER, {name: "$.orderId"}, process)
    tmp_path.mkdir(exist_ok=True)
    started = time.monotonic()
    asyncio.run(run_to("SUCCEEDED", tmp_path, functions, name, SAGA, {"orderId": "o-7"},
                       tracing=tracing, trace_parent=trace_parent))  # fmt: skip
    return time.monotonic() - started


def execution_spans(spans: list[Received], name: str) -> dict[str, Received]:
    """The spans of execution ``name`` by span name, checked to be the whole execution: its
    span, each state's under it, each attempt under its state, in one trace."""
    (execution,) = [s for s in spans if s.name == f"execution {name}"]
    mine = {s.name: s for s in spans if s.trace_id == execution.trace_id}
    assert sorted(mine) == sorted([execution.name, *STATES, *(f"{s} attempt" for s in STATES)])
    assert len([s for s in spans if s.trace_id == execution.trace_id]) == len(mine)
    for state in STATES:
        assert mine[state].parent_span_id == execution.span_id
        assert mine[f"{state} attempt"].parent_span_id == mine[state].span_id
    return mine


@pytest.mark.parametrize("path", PATHS)
def test_an_executions_spans_reach_a_grpc_collector(tmp_path: Path, path: str) -> None:
    with GrpcCollector() as collector:
        env = grpc_env(collector.url, OTEL_EXPORTER_OTLP_HEADERS="x-team=saga%20ops",
                       SAGAWAY_TRACE_EXPORT=path)  # fmt: skip
        process = ExporterProcess(env)
        traced_run(tmp_path, process, "shop", trace_parent=f"00-{TRACE_ID}-{CALLER}-01")
        process.close()
        spans = collector.received()
    mine = execution_spans(spans, "shop")
    assert len(mine) == len(spans)
    assert {s.trace_id for s in spans} == {TRACE_ID}  # the caller's trace
    assert mine["execution shop"].parent_span_id == CALLER
    assert {s.attributes["sagaway.business_key"] for s in spans} == {"o-7"}
    assert {(s.run, s.service, s.path) for s in spans} == {("grpc", "sagaway", GRPC_EXPORT)}
    assert {h["x-team"] for h in collector.headers} == {"saga ops"}  # gRPC metadata
    assert all(h["user-agent"].startswith(USER_AGENTS[path]) for h in collector.headers)
    assert set(collector.encodings) == {"identity"}  # no compression unless asked for


class Recorder:
    """A span sink that keeps the messages, to hand the same ones to both paths."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def send(self, message: Message) -> None:
        self.messages.append(message)


def assorted_records() -> list[SpanRecord]:
    """Spans of every kind, status and attribute type, one under a remote parent."""
    trace, now = 0x0AF7651916CD43DD8448EB211C80319C, time.time_ns()
    shared = {"sagaway.execution.arn": "arn:aws:states:local:0:execution:x:y"}
    more = (("int", -7), ("float", 2.5), ("bool", True), ("list", ("a", "b")),
            ("empty", ""), ("big", 2**62))  # fmt: skip
    return [
        (f"span {kind}", trace, 0x100 + kind, 0xB7AD6B7169203331 if kind != 4 else 0, kind == 2,
         kind, now + kind, now + 1000 * kind + 5, shared, more[: kind + 2], code, text)
        for kind in range(5)
        for code, text in [((0, ""), (1, ""), (2, "States.TaskFailed"))[kind % 3]]
    ]  # fmt: skip


def test_the_fast_and_sdk_paths_deliver_the_same_spans(tmp_path: Path) -> None:
    recorder = Recorder()
    traced_run(tmp_path, recorder, "shop", trace_parent=f"00-{TRACE_ID}-{CALLER}-01")
    messages = recorder.messages + [(SPAN, record) for record in assorted_records()]
    received, metadata = {}, {}
    for path in PATHS:
        with GrpcCollector() as collector:
            process = ExporterProcess(grpc_env(
                collector.url, SAGAWAY_TRACE_EXPORT=path, OTEL_BSP_MAX_EXPORT_BATCH_SIZE="4",
                OTEL_EXPORTER_OTLP_HEADERS="x-team=saga%20ops,x-key=k1",
            ))  # fmt: skip
            for message in messages:
                process.send(message)
            process.close()
        received[path] = sorted(collector.received(), key=lambda s: (s.trace_id, s.span_id))
        metadata[path] = [{k: v for k, v in h.items() if k != "user-agent"}
                          for h in collector.headers]  # fmt: skip
    execution_spans(received["fast"], "shop")
    assert len(received["fast"]) == 7 + 5
    # Names, ids, parents, attributes, resource, kind, status, times and flags, all alike.
    assert received["fast"] == received["sdk"]
    assert {s.kind for s in received["fast"]} == {1, 2, 3, 4, 5}
    assert {s.status for s in received["fast"]} >= {(0, ""), (1, ""), (2, "States.TaskFailed")}
    assert metadata["fast"] == metadata["sdk"]
    assert metadata["fast"][0] == {"x-team": "saga ops", "x-key": "k1"}


@pytest.mark.parametrize("path", PATHS)
def test_gzip_arrives_gzipped(path: str) -> None:
    with GrpcCollector() as collector:
        export_through_child(collector, OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
                             OTEL_EXPORTER_OTLP_TRACES_COMPRESSION="gzip",
                             SAGAWAY_TRACE_EXPORT=path)  # fmt: skip
        spans = collector.received()
    assert len(spans) == 300
    assert collector.encodings and set(collector.encodings) == {"gzip"}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("mutual", [False, True])
def test_spans_reach_a_tls_collector_trusting_the_given_certificate(
    tmp_path: Path, path: str, mutual: bool
) -> None:
    made = make_certificates(tmp_path)
    tls = Tls(made.server.key, made.server.certificate, made.ca_pem if mutual else None)
    client = {"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": str(made.client_certificate),
              "OTEL_EXPORTER_OTLP_CLIENT_KEY": str(made.client_key)} if mutual else {}  # fmt: skip
    with GrpcCollector(tls=tls) as collector:
        assert collector.url.startswith("https://")
        export_through_child(collector, OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
                             OTEL_EXPORTER_OTLP_CERTIFICATE=str(made.ca),
                             SAGAWAY_TRACE_EXPORT=path, **client)  # fmt: skip
        spans = collector.received()
    assert len(spans) == 300
    assert {s.path for s in spans} == {GRPC_EXPORT}


@pytest.mark.parametrize(("general", "traces"), [("http/protobuf", "grpc"),
                                                  ("grpc", "http/protobuf")])  # fmt: skip
def test_the_traces_protocol_overrides_the_general_one(general: str, traces: str) -> None:
    with GrpcCollector() if traces == "grpc" else Collector() as collector:
        export_through_child(collector, OTEL_EXPORTER_OTLP_PROTOCOL=general,
                             OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=traces)  # fmt: skip
        spans = collector.received()
    assert len(spans) == 300
    assert {(s.trace_id, s.parent_span_id) for s in spans} == {(f"{TRACE:032x}",
                                                               f"{EXECUTION:016x}")}  # fmt: skip


def test_which_protocol_and_exporter() -> None:
    grpc = {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    http = {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}
    assert otlp_protocol({}) == "http/protobuf"  # the specification's default
    assert otlp_protocol(grpc) == "grpc"
    assert otlp_protocol({"OTEL_EXPORTER_OTLP_PROTOCOL": " GRPC "}) == "grpc"
    assert otlp_protocol({**grpc, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}) == (
        "http/protobuf")  # fmt: skip
    # Only the variable that counts is read: the general one's value does not matter here.
    assert otlp_protocol({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
                          "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"}) == "grpc"  # fmt: skip
    assert fast_path_wanted(grpc)  # our encoder and gRPC sender
    assert fast_path_wanted({**grpc, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"})
    assert fast_path_wanted({**http, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"})
    assert fast_path_wanted({**grpc, "SAGAWAY_TRACE_EXPORT": "fast"})
    assert not fast_path_wanted({**grpc, "SAGAWAY_TRACE_EXPORT": "sdk"})  # the SDK's exporter
    assert not fast_path_wanted({**grpc, "SAGAWAY_TRACE_EXPORT": " SDK "})
    # A credential provider (an entry point only the SDK's exporter loads) takes the SDK's.
    for provider in ("OTEL_PYTHON_EXPORTER_OTLP_GRPC_CREDENTIAL_PROVIDER",
                     "OTEL_PYTHON_EXPORTER_OTLP_GRPC_TRACES_CREDENTIAL_PROVIDER"):  # fmt: skip
        assert not fast_path_wanted({**grpc, provider: "vault"})
        assert fast_path_wanted({**http, provider: "vault"})  # a gRPC one: not HTTP's business
    with pytest.raises(ValueError):
        fast_path_wanted({**grpc, "SAGAWAY_TRACE_EXPORT": "grpc"})
    exporter = span_exporter({**http, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"})
    assert isinstance(exporter, OTLPGrpcSpanExporter)
    exporter.shutdown()
    assert isinstance(span_exporter(http), OTLPSpanExporter)
    # The console exporter speaks no OTLP: the protocol variables are not its business.
    assert not fast_path_wanted({"OTEL_TRACES_EXPORTER": "console",
                                 "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"})  # fmt: skip


@pytest.mark.parametrize(("variable", "value", "why"), [
    ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", " (OTLP/JSON is not supported)"),
    ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "thrift", ""),
])  # fmt: skip
def test_a_protocol_it_cannot_speak_is_refused_naming_the_variable(
    variable: str, value: str, why: str
) -> None:
    with pytest.raises(TracingConfigError) as refused:
        tracer_provider_from_env({"OTEL_TRACES_EXPORTER": "otlp", variable: value})
    assert str(refused.value) == f"{variable}={value}: use http/protobuf (the default) or grpc{why}"


def test_serve_refuses_json_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
    done = sagaway("serve", "--port", "1")
    assert done.code == 2
    assert done.err.strip() == ("error: OTEL_EXPORTER_OTLP_PROTOCOL=http/json: use http/protobuf "
                                "(the default) or grpc (OTLP/JSON is not supported)")  # fmt: skip


# What either path's exporter says, on the stderr the child shares with the test, when an
# export failed and it will retry: ours, or the SDK's ("Transient error StatusCode...").
RETRYING = re.compile(r"[Tt]ransient error (StatusCode\.)?UNAVAILABLE.*retrying in")


def exporter_retrying(capfd: pytest.CaptureFixture[str], timeout: float = 30) -> None:
    """Waits until the exporter process has met the outage and says it will retry."""
    said, deadline = "", time.monotonic() + timeout
    while not RETRYING.search(said):
        assert time.monotonic() < deadline, f"the exporter never retried: {said}"
        time.sleep(0.05)
        said += capfd.readouterr().err


def ride_out(
    tmp_path: Path, process: ExporterProcess, port: int, capfd: pytest.CaptureFixture[str]
) -> tuple[float, list[Received]]:
    """While the exporter retries a batch the collector on ``port`` did not take, one more
    execution (``stuck``) and the seconds it took; then a collector on ``port`` again, and
    what it has when the spans of ``stuck`` (the last sent) reach it."""
    exporter_retrying(capfd)
    took = traced_run(tmp_path / "stuck", process, "stuck")
    with GrpcCollector(port) as back:  # it comes back, within the export timeout
        wait_for(back, "execution stuck", 30)
        return took, back.received()


@pytest.mark.parametrize("path", PATHS)
def test_a_grpc_collector_down_at_startup_neither_stops_nor_slows_the_engine(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], path: str
) -> None:
    port = free_port()  # nothing listens there yet
    endpoint = f"http://127.0.0.1:{port}"
    process = ExporterProcess(grpc_env(endpoint, OTEL_EXPORTER_OTLP_TIMEOUT=TIMEOUT,
                                       SAGAWAY_TRACE_EXPORT=path))  # fmt: skip
    try:
        traced_run(tmp_path / "early", process, "early")
        took, spans = ride_out(tmp_path, process, port, capfd)
    finally:
        process.close()
    assert took < PROMPT
    execution_spans(spans, "early")  # retried until the collector took them
    execution_spans(spans, "stuck")


@pytest.mark.parametrize("path", PATHS)
def test_a_grpc_collector_stopped_mid_run_neither_stops_nor_slows_the_engine(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], path: str
) -> None:
    with GrpcCollector() as collector:
        process = ExporterProcess(grpc_env(collector.url, OTEL_EXPORTER_OTLP_TIMEOUT=TIMEOUT,
                                           SAGAWAY_TRACE_EXPORT=path))  # fmt: skip
        try:
            traced_run(tmp_path / "before", process, "before")
            wait_for(collector, "execution before", 30)  # connected, and exporting
            # The collector goes away while an execution runs (in its first state).
            traced_run(tmp_path / "during", process, "during", on_reserve=collector.stop)
            took, spans = ride_out(tmp_path, process, collector.port, capfd)
        finally:
            process.close()
    assert took < PROMPT
    execution_spans(collector.received(), "before")
    execution_spans(spans, "during")  # from its first state on: retried until taken
    execution_spans(spans, "stuck")
