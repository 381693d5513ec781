"""The OTLP/gRPC sender reads the SDK's variables as the specification and its exporter do,
retries only what the SDK retries, within the timeout (a delay the collector asks for
honoured), reports a partial success, and leaves grpcio unloaded unless the protocol is
gRPC (a real grpcio server on loopback)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.rpc.error_details_pb2 import RetryInfo
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceResponse,
)

from sagaway.observability.otlp_grpc import (
    OtlpGrpcSender,
    grpc_target,
    plaintext,
    retry_delay,
    retryable_codes,
)
from sagaway.observability.otlp_wire import SpanEncoder, fields, scope_message
from sagaway.observability.span_export import _SCRIPT
from tests.api.conftest import free_port
from tests.observability.collector import GrpcCollector
from tests.observability.test_span_export import EXECUTION, record

BODY = SpanEncoder({"service.name": "sender"}, scope_message("sagaway")).request(
    [record(f"state {n}", n, EXECUTION) for n in range(1, 4)]
)


def test_settings_from_the_environment() -> None:
    sender = OtlpGrpcSender.from_env({})
    assert (sender.endpoint, sender.insecure, sender.timeout) == ("http://localhost:4317", True, 10)
    assert (sender.headers, sender.compression, sender.certificate) == ({}, "", "")
    sender = OtlpGrpcSender.from_env({
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://t:4317",
        "OTEL_EXPORTER_OTLP_HEADERS": "api-key=generic",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "API-Key=a%20b,x-tenant=shop",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "3", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "2.5",
        "OTEL_EXPORTER_OTLP_COMPRESSION": "none", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "GZIP",
        "OTEL_EXPORTER_OTLP_CERTIFICATE": "/ca.pem",
        "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE": "/client.pem",
        "OTEL_EXPORTER_OTLP_CLIENT_KEY": "/client-key.pem",
        "OTEL_EXPORTER_OTLP_INSECURE": "true",  # no say over an https:// endpoint
    })  # fmt: skip
    assert (sender.endpoint, sender.insecure, sender.timeout) == ("https://t:4317", False, 2.5)
    assert sender.headers == {"api-key": "a b", "x-tenant": "shop"}
    assert sender.compression == "gzip"
    assert (sender.certificate, sender.client_certificate, sender.client_key) == (
        "/ca.pem", "/client.pem", "/client-key.pem")  # fmt: skip
    assert OtlpGrpcSender.from_env({"OTEL_EXPORTER_OTLP_COMPRESSION": "none"}).compression == ""
    with pytest.raises(ValueError, match="use gzip or none"):
        OtlpGrpcSender.from_env({"OTEL_EXPORTER_OTLP_COMPRESSION": "deflate"})


def test_plaintext_or_tls_and_the_target() -> None:
    assert plaintext("http://c:4317", {}) and plaintext("HTTP://c:4317", {})
    assert not plaintext("https://c:4317", {"OTEL_EXPORTER_OTLP_TRACES_INSECURE": "true"})
    # Without a scheme: TLS, unless OTEL_EXPORTER_OTLP[_TRACES]_INSECURE=true
    assert not plaintext("c:4317", {})
    assert plaintext("c:4317", {"OTEL_EXPORTER_OTLP_INSECURE": "True"})
    assert not plaintext("c:4317", {"OTEL_EXPORTER_OTLP_INSECURE": "true",
                                    "OTEL_EXPORTER_OTLP_TRACES_INSECURE": "false"})  # fmt: skip
    assert plaintext("10.0.0.7:4317", {"OTEL_EXPORTER_OTLP_TRACES_INSECURE": "true"})
    assert grpc_target("http://c:4317/ignored/path") == "c:4317"
    assert grpc_target("https://[::1]:4317") == "[::1]:4317"
    assert grpc_target("c:4317") == "c:4317"
    assert grpc_target("dns:///c:4317") == "dns:///c:4317"
    assert grpc_target("unix:/run/otel.sock") == "unix:/run/otel.sock"


def test_the_retryable_codes() -> None:
    codes = retryable_codes({})
    assert grpc.StatusCode.UNAVAILABLE in codes and grpc.StatusCode.RESOURCE_EXHAUSTED in codes
    assert grpc.StatusCode.INVALID_ARGUMENT not in codes
    variable = "OTEL_PYTHON_EXPORTER_OTLP_GRPC_RETRYABLE_ERROR_CODES"
    assert retryable_codes({variable: "unavailable, INTERNAL"}) == {
        grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INTERNAL}  # fmt: skip
    with pytest.raises(ValueError, match="no gRPC status code"):
        retryable_codes({variable: "SOMETIMES"})


def test_a_retry_info_is_read_from_the_trailing_metadata() -> None:
    def info(seconds: int, nanos: int) -> tuple[str, bytes]:
        message = RetryInfo(retry_delay=Duration(seconds=seconds, nanos=nanos))
        return "google.rpc.retryinfo-bin", message.SerializeToString()

    assert retry_delay([("other", "x"), info(1, 500_000_000)]) == 1.5
    assert retry_delay([info(0, 0)]) == 0.0
    assert retry_delay([info(-3, 0)]) == 0.0  # never negative
    assert retry_delay([]) is None and retry_delay(None) is None
    assert retry_delay([("google.rpc.retryinfo-bin", b"\x0a\x05\x08")]) is None  # truncated


def test_fields_read_back_what_protobuf_writes() -> None:
    partial = ExportTracePartialSuccess(rejected_spans=-1, error_message="é")
    answer = ExportTraceServiceResponse(partial_success=partial).SerializeToString()
    ((number, inner),) = fields(answer)
    assert number == 1 and isinstance(inner, bytes)
    assert list(fields(inner)) == [(1, 2**64 - 1), (2, "é".encode())]  # int64 -1: ten bytes
    # fixed64 (1) and fixed32 (5) wire types: a span's times, its flags
    assert list(fields(b"\x39" + (7).to_bytes(8, "little") + b"\x85\x01" + b"\x01\0\0\0")) == [
        (7, 7), (16, 1)]  # fmt: skip
    for broken in (b"\x0a\x05ab", b"\x08\xff", b"\x0b"):  # short, unended varint, group
        with pytest.raises(ValueError):
            list(fields(broken))


def sender(url: str, **settings: object) -> OtlpGrpcSender:
    return OtlpGrpcSender(url, **settings)  # type: ignore[arg-type]


def test_a_busy_collector_is_retried_until_it_takes_the_batch() -> None:
    with GrpcCollector(failures=3, retry_delay=0.01) as collector:
        assert sender(collector.url).send(BODY) is True
        assert collector.calls == 4
        assert sorted(s.name for s in collector.received()) == ["state 1", "state 2", "state 3"]


def test_the_plain_backoff_where_the_collector_asks_for_no_delay() -> None:
    with GrpcCollector(failures=1, code=grpc.StatusCode.RESOURCE_EXHAUSTED) as collector:
        started = time.monotonic()
        assert sender(collector.url).send(BODY) is True
        took = time.monotonic() - started
    assert collector.calls == 2
    assert 0.75 < took < 3  # 1 s, ±20%


def test_a_rejected_batch_is_dropped_at_once() -> None:
    with GrpcCollector(failures=1, code=grpc.StatusCode.INVALID_ARGUMENT) as collector:
        assert sender(collector.url).send(BODY) is False
        assert collector.calls == 1 and collector.received() == []


def test_retries_stop_at_six_attempts() -> None:
    with GrpcCollector(failures=100, retry_delay=0) as collector:
        assert sender(collector.url).send(BODY) is False
        assert collector.calls == 6


def test_no_retry_past_the_timeout() -> None:
    with GrpcCollector(failures=1, retry_delay=5) as collector:
        started = time.monotonic()
        assert sender(collector.url, timeout=1.0).send(BODY) is False
        assert time.monotonic() - started < 1
        assert collector.calls == 1


def test_a_collector_that_comes_up_within_the_timeout_gets_the_batch() -> None:
    port = free_port()  # nothing listens there yet
    back: list[GrpcCollector] = []
    # Up after the second attempt (a grpcio server listens from when it is made).
    coming = threading.Timer(1.5, lambda: back.append(GrpcCollector(port).__enter__()))
    coming.start()
    try:
        started = time.monotonic()
        assert sender(f"http://127.0.0.1:{port}", timeout=10.0).send(BODY) is True
        took = time.monotonic() - started
        assert 2.2 < took < 6  # the third attempt, after 1 + 2 s of backoff (±20%)
        assert len(back[0].received()) == 3
    finally:
        coming.join()
        for collector in back:
            collector.stop()


def test_an_endpoint_without_a_scheme_and_insecure() -> None:
    with GrpcCollector() as collector:
        endpoint = collector.url.removeprefix("http://")
        settings = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_EXPORTER_OTLP_INSECURE": "true"}
        plain = OtlpGrpcSender.from_env(settings)
        assert plain.send(BODY) is True
        plain.close()
        assert len(collector.received()) == 3


def test_a_partial_success_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    partial = ExportTracePartialSuccess(rejected_spans=2, error_message="span too old")
    with GrpcCollector(answer=ExportTraceServiceResponse(partial_success=partial)) as collector:
        with caplog.at_level(logging.WARNING, "sagaway.observability.otlp_grpc"):
            assert sender(collector.url).send(BODY) is True  # taken: not retried
        assert collector.calls == 1
    assert f"OTLP collector at {collector.url} rejected 2 spans: span too old" in caplog.messages


# What the exporter process imports for the fast path: it runs span_export as a script.
_IMPORTS = """
import json, runpy, sys
script = runpy.run_path(sys.argv[1], run_name="span_export")
export, close = script["fast_export"](json.loads(sys.argv[2]), {"service.name": "x"})
close()
print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] in
                        ("grpc", "google", "opentelemetry", "sagaway"))))
"""


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_the_exporter_process_loads_grpcio_only_for_grpc(protocol: str) -> None:
    env = json.dumps({"OTEL_EXPORTER_OTLP_PROTOCOL": protocol})
    done = subprocess.run([sys.executable, "-c", _IMPORTS, _SCRIPT, env],
                          capture_output=True, text=True, check=True)  # fmt: skip
    loaded = set(json.loads(done.stdout))
    assert ("grpc" in loaded) == (protocol == "grpc")
    assert ("sagaway.observability.otlp_grpc" in loaded) == (protocol == "grpc")
    # Neither the SDK, nor the protobuf runtime, nor the engine.
    assert not {n for n in loaded if n.startswith(("opentelemetry.sdk", "opentelemetry.proto",
                                                   "google", "sagaway.engine"))}  # fmt: skip
