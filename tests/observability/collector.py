"""Tiny OTLP trace collectors on loopback, over HTTP (:class:`Collector`) and gRPC
(:class:`GrpcCollector`, plaintext or TLS): what a real collector would receive from the
OTLP exporters (protobuf), decoded into plain records for assertions."""

from __future__ import annotations

import gzip
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from google.protobuf.duration_pb2 import Duration
from google.rpc.error_details_pb2 import RetryInfo
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


@dataclass(frozen=True)
class Received:
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]
    run: str  # the exporting process (its resource's test.run attribute)
    service: str = ""  # its service.name
    path: str = ""  # the URL path it was POSTed to (over gRPC: the method's)
    kind: int = 0  # OTLP's SpanKind (the SDK's + 1)
    status: tuple[int, str] = (0, "")  # code, message
    start: int = 0  # ns
    end: int = 0
    flags: int = 0


def _value(any_value: Any) -> Any:
    return getattr(any_value, any_value.WhichOneof("value"))


class Spans:
    """What a collector received: the spans, and each request's headers (gRPC: metadata)."""

    def __init__(self) -> None:
        self.spans: list[Received] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()

    def _receive(self, request: ExportTraceServiceRequest, path: str) -> None:
        with self._lock:
            for resource_spans in request.resource_spans:
                resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
                for scope in resource_spans.scope_spans:
                    for span in scope.spans:
                        self.spans.append(Received(
                            span.name, span.trace_id.hex(), span.span_id.hex(),
                            span.parent_span_id.hex(),
                            {a.key: _value(a.value) for a in span.attributes},
                            str(resource.get("test.run", "")),
                            str(resource.get("service.name", "")), path, span.kind,
                            (span.status.code, span.status.message), span.start_time_unix_nano,
                            span.end_time_unix_nano, span.flags,
                        ))  # fmt: skip

    def received(self) -> list[Received]:
        with self._lock:
            return list(self.spans)


class Collector(Spans):
    def __init__(self, failures: int = 0) -> None:
        """``failures``: how many requests to answer 503 first (the exporter retries)."""
        super().__init__()
        self.failures = failures
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if collector._fail():
                    self.send_response(503)
                    self.send_header("Retry-After", "0")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                collector.headers.append({k.lower(): v for k, v in self.headers.items()})
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                collector._receive(ExportTraceServiceRequest.FromString(body), self.path)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _fail(self) -> bool:
        with self._lock:
            self.failures -= 1
            return self.failures >= 0

    def __enter__(self) -> Collector:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


GRPC_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
_GZIP = b"\x1f\x8b"  # a gzip stream's first bytes (a request's own first byte is 0x0A)


@dataclass(frozen=True)
class Tls:
    """A TLS collector's key and certificate chain (PEM), and, for mutual TLS, the CA
    certificates its clients' certificates must chain to."""

    key: bytes
    certificate: bytes
    client_ca: bytes | None = None


class GrpcCollector(Spans):
    """The OTLP/gRPC trace service (grpcio's server) on ``port`` (0: a free one), plaintext
    or, given ``tls``, TLS; :meth:`stop` takes it down (a collector that goes away), and a
    new one can take the same port again.

    It takes each request's bytes as they came, decompression off, so :attr:`encodings`
    says how each arrived (``gzip`` or ``identity``); it decodes them itself. ``failures``:
    how many calls to fail first with ``code`` (with a ``google.rpc.RetryInfo`` asking for
    ``retry_delay`` seconds, if given); ``answer``: the response it sends."""

    def __init__(
        self, port: int = 0, *, tls: Tls | None = None, failures: int = 0,
        code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE, retry_delay: float | None = None,
        answer: ExportTraceServiceResponse | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        self.failures = failures
        self.calls = 0
        self.encodings: list[str] = []
        collector = self
        response = (answer or ExportTraceServiceResponse()).SerializeToString()
        trailing: tuple[tuple[str, bytes], ...] = ()
        if retry_delay is not None:
            delay = Duration(seconds=int(retry_delay), nanos=int(retry_delay % 1 * 1e9))
            trailing = (("google.rpc.retryinfo-bin", RetryInfo(retry_delay=delay)
                         .SerializeToString()),)  # fmt: skip

        def export(body: bytes, context: grpc.ServicerContext) -> bytes:
            with collector._lock:
                collector.calls += 1
                collector.failures -= 1
                failing = collector.failures >= 0
            if failing:
                context.set_trailing_metadata(trailing)
                context.abort(code, "the collector is busy")
            metadata = {key: str(value) for key, value in context.invocation_metadata()}
            gzipped = body[:2] == _GZIP
            with collector._lock:
                collector.headers.append(metadata)
                collector.encodings.append("gzip" if gzipped else "identity")
            body = gzip.decompress(body) if gzipped else body
            collector._receive(ExportTraceServiceRequest.FromString(body), GRPC_EXPORT)
            return response

        service, method = GRPC_EXPORT.strip("/").split("/")
        handler = grpc.method_handlers_generic_handler(
            service, {method: grpc.unary_unary_rpc_method_handler(export)}
        )  # no deserializer: the bytes as they came, decompression off below
        self.server = grpc.server(
            ThreadPoolExecutor(max_workers=4), handlers=[handler],
            options=[("grpc.per_message_decompression", 0)],
        )  # fmt: skip
        address = f"127.0.0.1:{port}"
        if tls is None:
            self.port = self.server.add_insecure_port(address)
        else:
            credentials = grpc.ssl_server_credentials(
                [(tls.key, tls.certificate)], tls.client_ca, tls.client_ca is not None
            )
            self.port = self.server.add_secure_port(address, credentials)
        self.url = f"{'http' if tls is None else 'https'}://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.stop(None).wait()

    def __enter__(self) -> GrpcCollector:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
