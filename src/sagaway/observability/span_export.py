"""Finished spans as plain tuples, and the process that turns them into OpenTelemetry spans.

The engine records a span as a :data:`SpanRecord` (a few µs) instead of an SDK span (tens of
µs to create, as much again to encode as OTLP). :class:`ExporterProcess` batches the records
to a child process, this file run as a script, which builds the SDK's ``ReadableSpan`` of
each and exports them through the exporter the standard ``OTEL_*`` variables name: the
encoding and the HTTP calls run under the child's GIL, not the engine's.

The child exits when its pipe closes (the engine exits or dies): it exports what it has
first, so the spans of a process killed mid-execution still reach the collector.

This file imports only the standard library and OpenTelemetry (it runs as a script).
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import logging
import marshal
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from typing import IO, Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

# (name, trace_id, span_id, parent span id (0: a root), parent is remote, SpanKind value,
#  start ns, end ns, attributes, status: 0 unset / 2 error, status description)
SpanRecord = tuple[str, int, int, int, bool, int, int, int, dict[str, Any], int, str]

SCOPE = InstrumentationScope("sagaway")
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_UNSET = Status(StatusCode.UNSET)
_SCRIPT = os.path.abspath(__file__)
_INTERVAL = 0.1  # seconds between batches sent to the child
_MAX_PENDING = 65536  # spans waiting for the child; more are dropped, as the SDK's queue does
_log = logging.getLogger(__name__)


def readable(record: SpanRecord, resource: Resource) -> ReadableSpan:
    name, trace_id, span_id, parent_id, remote, kind, start, end, attrs, code, text = record
    parent = SpanContext(trace_id, parent_id, remote, _SAMPLED) if parent_id else None
    status = Status(StatusCode(code), text or None) if code else _UNSET
    return ReadableSpan(
        name, SpanContext(trace_id, span_id, False, _SAMPLED), parent, resource, attrs,
        kind=SpanKind(kind), status=status, start_time=start, end_time=end,
        instrumentation_scope=SCOPE,
    )  # fmt: skip


def span_exporter(env: Mapping[str, str]) -> SpanExporter:
    """The exporter OTEL_TRACES_EXPORTER and the OTLP protocol variables name."""
    name = env.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
    if name == "console":
        return ConsoleSpanExporter()
    if name != "otlp":
        raise ValueError(f"OTEL_TRACES_EXPORTER={name}: use otlp, console or none")
    protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get(
        "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
    )
    if protocol != "http/protobuf":
        raise ValueError(f"OTLP protocol {protocol}: only http/protobuf is supported")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


class ExporterProcess:
    """The engine's side: :meth:`record` queues a span; a thread sends the queue to the
    child every ``_INTERVAL`` as one list in ``marshal``'s format (records are only
    tuples, dicts, strings and numbers; the child runs the same interpreter, and marshal
    writes them about twice as fast as pickle).
    The child starts with the first span, with ``env`` (default: this process's). If it
    dies, later spans are dropped: tracing never stops the engine."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._env = None if env is None else dict(env)
        self._queue: collections.deque[SpanRecord] = collections.deque()
        self._wake = threading.Event()
        self._stopping = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one writer on the pipe: the thread, or close()

    def record(self, span: SpanRecord) -> None:
        if self._thread is None:
            self._start()
        if len(self._queue) < _MAX_PENDING:
            self._queue.append(span)

    def _start(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, _SCRIPT], stdin=subprocess.PIPE, env=self._env
        )
        self._thread = threading.Thread(target=self._run, name="span-export", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(_INTERVAL)
            self._send()

    def _send(self) -> None:
        with self._lock:
            pipe = self._proc.stdin if self._proc is not None else None
            count = len(self._queue)
            if pipe is None or pipe.closed or not count:
                return
            batch = [self._queue.popleft() for _ in range(count)]
            try:
                marshal.dump(batch, pipe)
                pipe.flush()
            except (OSError, ValueError) as exc:
                _log.warning("span exporter process gone (%s): spans are dropped", exc)
                self._queue.clear()
                self._stopping = True

    def close(self, timeout: float = 10.0) -> None:
        """Send what is queued, close the pipe and let the child export it."""
        self._stopping = True
        self._wake.set()
        if self._proc is None:
            return
        self._send()
        with self._lock:
            if self._proc.stdin is not None and not self._proc.stdin.closed:
                with contextlib.suppress(OSError):
                    self._proc.stdin.close()
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()


def serve(source: IO[bytes], exporter: SpanExporter, chunk: int) -> None:
    """The child: read batches until the pipe closes, exporting each as it comes, ``chunk``
    spans per export call. Exporting before reading on is the backpressure: while the
    collector is slow, the batches wait in the pipe and the engine's queue, not in a
    second queue here that would drop them."""
    resource = Resource.create({"service.name": "sagaway"})
    try:
        while True:
            try:
                batch: list[SpanRecord] = marshal.load(source)
            except (EOFError, ValueError, TypeError):
                return
            spans = [readable(record, resource) for record in batch]
            for start in range(0, len(spans), chunk):
                exporter.export(spans[start : start + chunk])
    finally:
        exporter.shutdown()


if __name__ == "__main__":
    # A Ctrl-C reaches the whole process group: the child outlives it to export what the
    # engine sends before it exits.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    chunk = int(os.environ.get("OTEL_BSP_MAX_EXPORT_BATCH_SIZE") or 512)
    serve(sys.stdin.buffer, span_exporter(os.environ), max(chunk, 1))
