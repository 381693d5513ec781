"""A loopback OTLP/HTTP trace receiver for ``sagaway bench --tracing-cost``, as cheap as a
collector's intake can be while still proving that what arrived was valid OTLP.

It stands in for a collector, which in production runs on another machine: its work must
not be counted against the engine it shares this machine with. So during a run it only
reads each POST's body, keeps it as it came and answers 200; ``GET /count`` then decodes
the bodies kept since the last count with opentelemetry-proto's classes (so what it
counts was valid OTLP: a body that does not decode is counted as ``rejected``, its spans
not at all), counts their spans, drops the bodies and answers ``{"spans": n, "requests":
n, "bytes": n, "rejected": n}``. The bench asks after the exporter has drained, outside
the measured time. The process also runs only when no other wants a core (SCHED_IDLE), as a
machine of its own would leave the engine's cores alone.

Run as a script, in its own process, so its work is not the engine's: it prints its URL on
the first line of stdout and serves until its stdin closes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_COUNTS = {"spans": 0, "requests": 0, "bytes": 0, "rejected": 0}
_BODIES: list[bytes] = []  # received, not yet decoded (GET /count decodes them)
_LOCK = threading.Lock()
_NICE = 10  # the receiver's CPU priority, below the engine's


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a collector does

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with _LOCK:
            _BODIES.append(body)
        self._answer(200, b"", "application/x-protobuf")

    def do_GET(self) -> None:
        with _LOCK:
            bodies = _BODIES[:]
            _BODIES.clear()
            _count(bodies)
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


def _count(bodies: list[bytes]) -> None:
    """Decode each kept request as an ExportTraceServiceRequest and count its spans."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    for body in bodies:
        try:
            request = ExportTraceServiceRequest.FromString(body)
        except Exception:
            _COUNTS["rejected"] += 1
            continue
        spans = sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
        _COUNTS["spans"] += spans
        _COUNTS["requests"] += 1
        _COUNTS["bytes"] += len(body)


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

    @property
    def pid(self) -> int:
        return self._proc.pid

    def counts(self) -> dict[str, int]:
        """Decodes what arrived since the last call (not free: call it outside a measurement)."""
        with urllib.request.urlopen(f"{self.url}/count", timeout=60) as answer:
            counts: dict[str, int] = json.load(answer)
        return counts

    def __exit__(self, *exc: object) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(10)
        if self._proc.stdout is not None:
            self._proc.stdout.close()


def _main() -> None:
    # Only when no other process wants a core, as the exporter (SCHED_IDLE; nice elsewhere).
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        os.nice(_NICE)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    sys.stdin.read()  # until the parent closes the pipe (or dies)
    server.shutdown()


if __name__ == "__main__":
    _main()
