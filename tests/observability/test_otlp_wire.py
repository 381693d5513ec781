"""The hand-written OTLP encoder writes the bytes the SDK's encoder (``encode_spans`` of
opentelemetry-exporter-otlp-proto-common) writes for the same spans, and what it writes
decodes with opentelemetry-proto's classes into the spans recorded."""

from __future__ import annotations

import random
from typing import Any

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource

from sagaway.observability.otlp_wire import SpanEncoder, scope_message, varint
from sagaway.observability.span_export import SCOPE_NAME, SpanRecord, readable

RESOURCE = Resource({"service.name": "sagaway", "deployment.environment": "test", "n": 3})


def records(count: int) -> list[SpanRecord]:
    rng = random.Random(14)
    spans: list[SpanRecord] = []
    shared: dict[str, Any] = {}
    for n in range(count):
        if n % 5 == 0:  # every span of an execution shares its dict (the same object)
            shared = {
                "sagaway.execution.arn": f"arn:aws:states:us-east-1:1:execution:m:e{n // 5}",
                "sagaway.business_key": f"order-é-{n // 5}",  # not ASCII: lengths in bytes
            }
        more: list[tuple[str, Any]] = [
            ("sagaway.retry_count", n % 3),
            ("sagaway.compensation", n % 2 == 0),
            ("ratio", n / 7),
            ("negative", -n),
            ("big", 2**63 - 1),
            ("list", ["a", str(n)]),
            ("ints", [1, n]),
        ]
        if n % 4 == 0:
            more.append(("sagaway.caught", "States.TaskFailed"))
        name = "x" * 200 if n == 7 else f"state {n % 6}"  # a name past 127 bytes
        spans.append((
            name, rng.getrandbits(128) or 1, rng.getrandbits(64) or 1,
            0 if n % 5 == 0 else rng.getrandbits(64) or 1,  # some roots
            n % 3 == 1,  # some remote parents
            n % 5,  # every SpanKind
            1_700_000_000_000_000_000 + n, 1_700_000_000_000_100_000 + n * 997, shared,
            tuple(more), 2 if n % 6 == 0 else 0, "States.Timeout" if n % 12 == 0 else "",
        ))  # fmt: skip
    return spans


def encoder() -> SpanEncoder:
    return SpanEncoder(RESOURCE.attributes, scope_message(SCOPE_NAME))


def sdk_bytes(spans: list[SpanRecord]) -> bytes:
    return encode_spans([readable(r, RESOURCE) for r in spans]).SerializeToString()


def test_the_same_bytes_as_the_sdk_encoder() -> None:
    spans = records(300)
    ours = encoder()
    assert ours.request(spans) == sdk_bytes(spans)
    # Again, from the attribute cache: still the same.
    assert ours.request(spans[:100]) == sdk_bytes(spans[:100])


def test_one_span_and_a_large_request() -> None:
    spans = records(3000)  # a body of several hundred KiB: multi-byte lengths everywhere
    assert encoder().request(spans[:1]) == sdk_bytes(spans[:1])
    assert encoder().request(spans) == sdk_bytes(spans)


def test_decodes_into_the_recorded_spans() -> None:
    spans = records(20)
    request = ExportTraceServiceRequest.FromString(encoder().request(spans))
    (resource_spans,) = request.resource_spans
    resource = {a.key: a.value for a in resource_spans.resource.attributes}
    assert resource["deployment.environment"].string_value == "test"
    (scope_spans,) = resource_spans.scope_spans
    assert scope_spans.scope.name == "sagaway"
    for record, span in zip(spans, scope_spans.spans, strict=True):
        name, trace_id, span_id, parent_id, remote, kind, start, end, shared, more, code, text = (
            record
        )
        attrs = {**shared, **dict(more)}
        assert span.name == name
        assert span.trace_id == trace_id.to_bytes(16, "big")
        assert span.span_id == span_id.to_bytes(8, "big")
        assert span.parent_span_id == (parent_id.to_bytes(8, "big") if parent_id else b"")
        assert span.kind == kind + 1
        assert (span.start_time_unix_nano, span.end_time_unix_nano) == (start, end)
        assert span.status.code == code and span.status.message == text
        assert span.flags == (0x300 if remote and parent_id else 0x100)
        decoded = {a.key: a.value for a in span.attributes}
        assert decoded["sagaway.business_key"].string_value == attrs["sagaway.business_key"]
        assert decoded["negative"].int_value == attrs["negative"]
        assert decoded["ratio"].double_value == attrs["ratio"]
        assert decoded["sagaway.compensation"].bool_value == attrs["sagaway.compensation"]
        assert [v.string_value for v in decoded["list"].array_value.values] == attrs["list"]


def test_varint() -> None:
    assert varint(0) == b"\x00"
    assert varint(127) == b"\x7f"
    assert varint(128) == b"\x80\x01"
    assert varint(300) == b"\xac\x02"
    assert varint(2**64 - 1) == b"\xff" * 9 + b"\x01"
