"""Tiny OTLP trace collectors on loopback, over HTTP (:class:`Collector`) and gRPC
(:class:`GrpcCollector`): what a real collector would receive from the OTLP exporters
(protobuf), decoded into plain records for assertions."""

from __future__ import annotations

import gzip
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import (
    TraceServiceServicer,
    add_TraceServiceServicer_to_server,
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
                            str(resource.get("service.name", "")), path,
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


class GrpcCollector(Spans):
    """The OTLP/gRPC trace service (grpcio's server) on ``port`` (0: a free one), insecure;
    :meth:`stop` takes it down (a collector that goes away), and a new one can take the
    same port again."""

    def __init__(self, port: int = 0) -> None:
        super().__init__()
        collector = self

        class Service(TraceServiceServicer):
            def Export(  # the generated service's method name
                self, request: ExportTraceServiceRequest, context: grpc.ServicerContext
            ) -> ExportTraceServiceResponse:
                metadata = {key: str(value) for key, value in context.invocation_metadata()}
                with collector._lock:
                    collector.headers.append(metadata)
                collector._receive(request, GRPC_EXPORT)
                return ExportTraceServiceResponse()

        self.server = grpc.server(ThreadPoolExecutor(max_workers=4))
        add_TraceServiceServicer_to_server(Service(), self.server)
        self.port = self.server.add_insecure_port(f"127.0.0.1:{port}")
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.stop(None).wait()

    def __enter__(self) -> GrpcCollector:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
