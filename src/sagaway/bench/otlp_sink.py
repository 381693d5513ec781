"""A loopback OTLP/HTTP trace receiver for ``sagaway bench --tracing-cost``: it takes every
POST, decodes it with opentelemetry-proto's classes (so what it counts was valid OTLP),
counts the spans and discards them. ``GET /count`` answers ``{"spans": n, "requests": n,
"bytes": n}``.

Run as a script, in its own process, so its work is not the engine's: it prints its URL on
the first line of stdout and serves until its stdin closes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_COUNTS = {"spans": 0, "requests": 0, "bytes": 0, "rejected": 0}
_LOCK = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a collector does

    def do_POST(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        body = self.rfile.read(int(self.headers["Content-Length"]))
        try:
            request = ExportTraceServiceRequest.FromString(body)
        except Exception:
            with _LOCK:
                _COUNTS["rejected"] += 1
            self._answer(400, b"")
            return
        spans = sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
        with _LOCK:
            _COUNTS["spans"] += spans
            _COUNTS["requests"] += 1
            _COUNTS["bytes"] += len(body)
        self._answer(200, b"", "application/x-protobuf")

    def do_GET(self) -> None:
        with _LOCK:
            body = json.dumps(_COUNTS).encode()
        self._answer(200, body, "application/json")

    def _answer(self, status: int, body: bytes, kind: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class OtlpSink:
    """The receiver in a child process (``with OtlpSink() as sink: sink.url``)."""

    def __enter__(self) -> OtlpSink:
        self._proc = subprocess.Popen(
            [sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        assert self._proc.stdout is not None
        self.url = self._proc.stdout.readline().decode().strip()
        if not self.url:
            raise RuntimeError("the OTLP sink did not start")
        return self

    def counts(self) -> dict[str, int]:
        with urllib.request.urlopen(f"{self.url}/count", timeout=10) as answer:
            counts: dict[str, int] = json.load(answer)
        return counts

    def __exit__(self, *exc: object) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(10)


def _main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    sys.stdin.read()  # until the parent closes the pipe (or dies)
    server.shutdown()


if __name__ == "__main__":
    _main()
