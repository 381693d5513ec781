"""The bench's loopback OTLP receiver keeps what it is sent and decodes it only when asked:
a valid request's spans are counted, a body that is not OTLP is counted as rejected."""

from __future__ import annotations

import urllib.request

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from sagaway.bench.otlp_sink import OtlpSink


def post(url: str, body: bytes) -> int:
    kind = {"Content-Type": "application/x-protobuf"}
    request = urllib.request.Request(f"{url}/v1/traces", body, kind, method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        status: int = answer.status
    return status


def test_the_receiver_counts_decoded_spans_and_rejects_what_is_not_otlp() -> None:
    spans = [Span(trace_id=bytes(16), span_id=bytes([i + 1] * 8), name="s") for i in range(3)]
    valid = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])]
    ).SerializeToString()
    with OtlpSink() as sink:
        assert post(sink.url, valid) == 200
        assert post(sink.url, b"\xff\xff not protobuf") == 200  # judged when counted
        assert sink.counts() == {"spans": 3, "requests": 1, "bytes": len(valid), "rejected": 1}
        assert post(sink.url, valid) == 200
        assert sink.counts()["spans"] == 6  # the first two bodies are not counted twice
