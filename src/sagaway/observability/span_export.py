"""Spans as plain tuples, and the process that builds and exports them.

The engine's tracing hooks (:mod:`sagaway.observability.tracing`) send messages (span_runs:
a finished span, an execution starting or ending, a committed step's history events) to a
:class:`SpanSink`. :class:`ExporterProcess` batches them to a child process, this file run
as a script, which builds the spans of states, branches and iterations from them
(:class:`~sagaway.observability.span_builder.SpanBuilder`) and exports every span as the
standard ``OTEL_*`` variables say, under its own GIL, not the engine's:

- OTLP (the default exporter), over HTTP/protobuf (the default protocol) or gRPC
  (``OTEL_EXPORTER_OTLP[_TRACES]_PROTOCOL=grpc``): the fast path. The records are encoded
  straight into OTLP protobuf (:mod:`sagaway.observability.otlp_wire`, the same bytes as
  the SDK's encoder, about a tenth of its CPU) and sent as the SDK's exporter for the
  protocol does: POSTed (:mod:`sagaway.observability.otlp_http`), or in a unary gRPC call
  (:mod:`sagaway.observability.otlp_grpc`, grpcio imported only then).
- ``console``, or ``SAGAWAY_TRACE_EXPORT=sdk`` (or, over gRPC, one of the SDK's
  ``OTEL_PYTHON_EXPORTER_OTLP_GRPC[_TRACES]_CREDENTIAL_PROVIDER`` entry points, which only
  its exporter loads): the SDK's path. The child builds the SDK's ``ReadableSpan`` of each
  record and hands them to the SDK's exporter (its OTLP/HTTP or OTLP/gRPC
  ``OTLPSpanExporter``, or its ``ConsoleSpanExporter``).

:class:`ProviderSink` builds the spans in-process instead, for an SDK tracer provider's own
span processors (the in-memory exporter of the tests).

The child is background work: by default it runs under Linux's SCHED_IDLE policy, or lowers
its priority by a nice increment (``SAGAWAY_TRACE_EXPORTER_NICE``: ``idle``, or a number; 0
keeps the engine's; see :func:`lower_priority`), so that where the cores are busy the engine
keeps its own and the export catches up when they are not. The messages wait in the pipe
and the engine's queue meanwhile (see :class:`ExporterProcess`).

The child exits when its pipe closes (the engine exits or dies): it exports what it has
first, so the spans of a process killed mid-execution still reach the collector.

This file and the ones it imports as a script use only the standard library, orjson and
OpenTelemetry (and grpcio over gRPC): the child does not import the engine.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import json
import logging
import marshal
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import types
from collections.abc import Callable, Mapping
from typing import IO, TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # the SDK is imported where it is used: the fast path's child does without
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

if not __package__:
    # Run as a script (the exporter process): its sibling modules are imported under their
    # package names, without running the packages' __init__ (which would load the engine).
    _HERE = os.path.dirname(os.path.abspath(__file__))
    for _name, _path in (("sagaway", os.path.dirname(_HERE)), ("sagaway.observability", _HERE)):
        _stub = types.ModuleType(_name)
        _stub.__path__ = [_path]
        sys.modules.setdefault(_name, _stub)

from sagaway.observability.otlp_common import variables
from sagaway.observability.otlp_wire import SpanEncoder, scope_message
from sagaway.observability.span_builder import SpanBuilder
from sagaway.observability.span_runs import FLUSH, SPAN
from sagaway.observability.span_runs import SpanRecord as SpanRecord  # re-exported
from sagaway.pipes import widen_pipe

Message = tuple[Any, ...]  # see span_runs: (SPAN, record), (START, ...), (EVENTS, ...), ...

SCOPE_NAME = "sagaway"  # the instrumentation scope's
HTTP_PROTOBUF, GRPC = "http/protobuf", "grpc"  # the OTLP protocols spoken (the default first)
_PROTOCOLS = (HTTP_PROTOBUF, GRPC)
# The SDK's OTLP/gRPC exporter loads channel credentials from these entry points; the fast
# path does not, so where one is set the SDK's exporter sends the spans.
_GRPC_CREDENTIAL_PROVIDERS = (
    "OTEL_PYTHON_EXPORTER_OTLP_GRPC_TRACES_CREDENTIAL_PROVIDER",
    "OTEL_PYTHON_EXPORTER_OTLP_GRPC_CREDENTIAL_PROVIDER",
)
# The resource's attributes as JSON, worked out by the engine (it has the SDK loaded): the
# fast path's child then starts without importing the SDK (a third of its start-up CPU).
RESOURCE_VARIABLE = "SAGAWAY_TRACE_RESOURCE"
_RESOURCE_SETTINGS = (
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_SERVICE_NAME",
    "OTEL_EXPERIMENTAL_RESOURCE_DETECTORS",
)
_SCRIPT = os.path.abspath(__file__)
_FRAME = struct.Struct("<I")  # the length of each batch sent to the child
_INTERVAL = 0.1  # seconds between batches sent to the child
_MAX_PENDING = 65536  # spans waiting for the child; more are dropped, as the SDK's queue does
_NICE_VARIABLE = "SAGAWAY_TRACE_EXPORTER_NICE"
_SIGNAL_VARIABLE = "SAGAWAY_TRACE_EXPORTER_SIGNAL"  # the fd of the child's signal pipe
_READY, _FLUSHED = b"1", b"f"  # what the child writes on it
_IDLE = "idle"  # the child's default: Linux's SCHED_IDLE policy (see lower_priority)
_NICE = 10  # its niceness increment where SCHED_IDLE is missing: below the engine's priority
_log = logging.getLogger(__name__)


def readable(record: SpanRecord, resource: Resource) -> ReadableSpan:
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

    name, trace_id, span_id, parent_id, remote, kind, start, end, shared, more, code, text = record
    attrs = {**shared, **dict(more)}  # a copy: the shared dict is the engine's
    sampled = TraceFlags(TraceFlags.SAMPLED)
    parent = SpanContext(trace_id, parent_id, remote, sampled) if parent_id else None
    status = Status(StatusCode(code), text or None) if code else Status(StatusCode.UNSET)
    return ReadableSpan(
        name, SpanContext(trace_id, span_id, False, sampled), parent, resource, attrs,
        kind=SpanKind(kind), status=status, start_time=start, end_time=end,
        instrumentation_scope=InstrumentationScope(SCOPE_NAME),
    )  # fmt: skip


class Sender(Protocol):
    """Sends encoded export requests: :class:`~sagaway.observability.otlp_http.OtlpHttpSender`
    or :class:`~sagaway.observability.otlp_grpc.OtlpGrpcSender`."""

    def send(self, body: bytes) -> bool: ...

    def close(self) -> None: ...


class SpanSink(Protocol):
    """Where :class:`sagaway.observability.tracing.Tracing` sends its messages."""

    def send(self, message: Message) -> None: ...


class ProviderSink:
    """Spans built here and handed to the span processors of an in-process tracer provider
    (the SDK's in-memory exporter, or a process that wants no exporter process)."""

    def __init__(self, provider: TracerProvider) -> None:
        # The provider's composite processor: what its own spans go through when they end.
        self._processor = provider._active_span_processor
        self._resource = provider.resource
        self._builder = SpanBuilder(self.record)

    def send(self, message: Message) -> None:
        self._builder.handle(message)

    def record(self, span: SpanRecord) -> None:
        self._processor.on_end(readable(span, self._resource))


def exporter_name(env: Mapping[str, str]) -> str:
    """``otlp`` or ``console``, as OTEL_TRACES_EXPORTER and the OTLP protocol say."""
    name = env.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
    if name not in ("otlp", "console"):
        raise ValueError(f"OTEL_TRACES_EXPORTER={name}: use otlp, console or none")
    if name == "otlp":
        otlp_protocol(env)  # refuses one it does not speak
    return name


def otlp_protocol(env: Mapping[str, str]) -> str:
    """``http/protobuf`` or ``grpc``: ``OTEL_EXPORTER_OTLP_TRACES_PROTOCOL``, else
    ``OTEL_EXPORTER_OTLP_PROTOCOL``, else ``http/protobuf`` (the specification's default).
    ``http/json`` is refused: neither SDK exporter speaks it."""
    for variable in variables("PROTOCOL"):
        given = env.get(variable, "").strip()
        if not given:
            continue
        protocol = given.lower()
        if protocol in _PROTOCOLS:
            return protocol
        why = " (OTLP/JSON is not supported)" if protocol == "http/json" else ""
        raise ValueError(f"{variable}={given}: use http/protobuf (the default) or grpc{why}")
    return HTTP_PROTOBUF


def span_exporter(env: Mapping[str, str]) -> SpanExporter:
    """The SDK's exporter OTEL_TRACES_EXPORTER and the OTLP protocol variables name. Its
    other settings (endpoint, headers, timeout, compression, TLS) it reads itself, as the
    specification says for its protocol (for ``grpc``: the endpoint as given, default
    ``http://localhost:4317``, and ``OTEL_EXPORTER_OTLP[_TRACES]_INSECURE``)."""
    if exporter_name(env) == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if otlp_protocol(env) == GRPC:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as OTLPGrpcSpanExporter,
        )

        return OTLPGrpcSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


class ExporterProcess:
    """The engine's side: :meth:`send` queues a message (:meth:`record`, a finished span); a
    thread sends the queue to the child every ``_INTERVAL`` as one list in ``marshal``'s
    format, after its length: one write per batch (messages are only tuples, lists, dicts,
    bytes, strings and numbers; the child runs the same interpreter, and marshal writes them
    about twice as fast as pickle).
    The child starts with the first span, or at :meth:`start`, with ``env`` (default: this
    process's). If it dies, later spans are dropped: tracing never stops the engine.

    ``OTEL_BSP_SCHEDULE_DELAY`` (ms) and ``OTEL_BSP_MAX_QUEUE_SIZE``, when set, replace
    ``_INTERVAL`` and ``_MAX_PENDING``; the defaults differ from the SDK's (5 s, 2048)
    so that a killed engine loses at most a tenth of a second of spans, and a burst is
    queued rather than dropped."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._env = None if env is None else dict(env)
        settings = os.environ if env is None else env
        delay = settings.get("OTEL_BSP_SCHEDULE_DELAY", "").strip()
        self._interval = max(int(delay), 1) / 1000 if delay.isdigit() else _INTERVAL
        size = settings.get("OTEL_BSP_MAX_QUEUE_SIZE", "").strip()
        self._max_pending = int(size) if size.isdigit() else _MAX_PENDING
        self._queue: collections.deque[Message] = collections.deque()
        self._wake = threading.Event()
        self._stopping = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one writer on the pipe: the thread, or close()
        self._signal = -1  # the read end of the child's signal pipe (ready, flushed)
        self._said_ready = False

    def send(self, message: Message) -> None:
        if self._thread is None:
            self.start()
        if len(self._queue) < self._max_pending:
            self._queue.append(message)

    def record(self, span: SpanRecord) -> None:
        self.send((SPAN, span))

    def start(self, wait: float = 0.0) -> bool:
        """Start the child now rather than with the first span (a server starts it with
        itself, so its first executions do not share the cores with the child's start-up);
        with ``wait``, wait up to that many seconds for it to be ready to export. True when
        it is (or, without ``wait``, when it was started); a second call does nothing more
        than wait."""
        if self._thread is None:
            self._launch()
        if not wait:
            return self._proc is not None
        return self._ready(wait)

    def _launch(self) -> None:
        env = dict(os.environ if self._env is None else self._env)
        if all(env.get(name) == os.environ.get(name) for name in _RESOURCE_SETTINGS):
            # The resource this process would make is the child's: worked out here.
            env.setdefault(RESOURCE_VARIABLE, json.dumps(dict(default_resource().attributes)))
        # The child signals on a pipe of its own (its stdout may be the console exporter's):
        # a byte when it is ready, and one after each flush.
        self._signal, ready = os.pipe()
        env[_SIGNAL_VARIABLE] = str(ready)
        try:
            self._proc = subprocess.Popen([sys.executable, _SCRIPT], stdin=subprocess.PIPE,
                                          env=env, pass_fds=(ready,))  # fmt: skip
        finally:
            os.close(ready)
        assert self._proc.stdin is not None
        widen_pipe(self._proc.stdin)  # a batch is written in one go
        self._thread = threading.Thread(target=self._run, name="span-export", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def _ready(self, timeout: float) -> bool:
        if not self._said_ready:
            self._said_ready = self._signalled(timeout) == _READY
        return self._said_ready and self._proc is not None and self._proc.poll() is None

    def _signalled(self, timeout: float) -> bytes:
        """The next byte the child writes on its signal pipe; b"" when it closed the pipe
        (it exited) or said nothing within ``timeout``."""
        if self._signal < 0:
            return b""
        readable, _, _ = select.select([self._signal], [], [], timeout)
        return os.read(self._signal, 1) if readable else b""

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self._interval)
            self._wake.clear()
            self._send()

    def flush(self, timeout: float) -> bool:
        """Send what is queued now and wait, up to ``timeout`` seconds, until the child has
        exported it (all it was sent before): True when it says so. For measurements that
        keep one child across runs (``sagaway bench --tracing-cost``)."""
        if self._thread is None or not self._ready(timeout):
            return False
        self._queue.append((FLUSH,))
        self._wake.set()
        return self._signalled(timeout) == _FLUSHED

    @property
    def pid(self) -> int | None:
        """The child's process id, once started."""
        return self._proc.pid if self._proc is not None else None

    def _send(self) -> None:
        with self._lock:
            pipe = self._proc.stdin if self._proc is not None else None
            count = len(self._queue)
            if pipe is None or pipe.closed or not count:
                return
            batch = [self._queue.popleft() for _ in range(count)]
            try:
                data = marshal.dumps(batch)
            except ValueError as exc:  # a value marshal cannot write: this batch only is lost
                _log.warning("span messages not sent (%s): %d dropped", exc, count)
                return
            try:
                pipe.write(_FRAME.pack(len(data)))  # buffered; not joined: no copy of data
                pipe.write(data)
                pipe.flush()
            except (OSError, ValueError) as exc:
                _log.warning("span exporter process gone (%s): spans are dropped", exc)
                self._queue.clear()
                self._stopping = True

    def close(self, timeout: float = 10.0) -> None:
        """Send what is queued, close the pipe and let the child export it."""
        self._stopping = True
        self._wake.set()
        if self._signal >= 0:
            os.close(self._signal)
            self._signal = -1
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


Export = Callable[[list[SpanRecord]], None]


def default_resource() -> Resource:
    """The SDK's resource from ``OTEL_RESOURCE_ATTRIBUTES`` and ``OTEL_SERVICE_NAME``, with
    ``service.name`` ``sagaway`` when neither names the service."""
    from opentelemetry.sdk.resources import Resource

    resource = Resource.create({})
    if str(resource.attributes.get("service.name", "unknown_service")).startswith(
        "unknown_service"
    ):
        resource = resource.merge(Resource({"service.name": "sagaway"}))
    return resource


def fast_path_wanted(env: Mapping[str, str]) -> bool:
    """OTLP, over HTTP/protobuf or gRPC, unless ``SAGAWAY_TRACE_EXPORT=sdk`` asks for the
    SDK's exporter (see docs/observability.md#cost), or, over gRPC, an SDK credential
    provider is named (only the SDK's exporter loads one)."""
    choice = env.get("SAGAWAY_TRACE_EXPORT", "").strip().lower()
    if choice not in ("", "fast", "sdk"):
        raise ValueError(f"SAGAWAY_TRACE_EXPORT={choice}: use fast or sdk")
    if exporter_name(env) != "otlp" or choice == "sdk":
        return False
    return otlp_protocol(env) == HTTP_PROTOBUF or not any(
        env.get(name, "").strip() for name in _GRPC_CREDENTIAL_PROVIDERS
    )


def fast_export(
    env: Mapping[str, str], resource: Mapping[str, Any]
) -> tuple[Export, Callable[[], None]]:
    """Encode records as OTLP protobuf here and send them over the OTLP protocol of ``env``:
    (export, close). ``resource``: the resource's attributes."""
    encoder = SpanEncoder(resource, scope_message(SCOPE_NAME))
    sender: Sender
    if otlp_protocol(env) == GRPC:  # grpcio is imported here only
        from sagaway.observability.otlp_grpc import OtlpGrpcSender

        sender = OtlpGrpcSender.from_env(env)
    else:
        from sagaway.observability.otlp_http import OtlpHttpSender

        sender = OtlpHttpSender.from_env(env)

    def export(batch: list[SpanRecord]) -> None:
        sender.send(encoder.request(batch))

    return export, sender.close


def sdk_export(exporter: SpanExporter, resource: Resource) -> tuple[Export, Callable[[], None]]:
    """Build the SDK's ReadableSpans and hand them to its ``exporter``: (export, close)."""

    def export(batch: list[SpanRecord]) -> None:
        exporter.export([readable(record, resource) for record in batch])

    return export, exporter.shutdown


def serve(
    source: IO[bytes], export: Export, chunk: int, flushed: Callable[[], None] = lambda: None
) -> None:
    """The child: read batches of messages until the pipe closes, build their spans and
    export them as they come, ``chunk`` spans per export call. Exporting before reading on
    is the backpressure: while the collector is slow, the batches wait in the pipe and the
    engine's queue, not in a second queue here that would drop them."""
    spans: list[SpanRecord] = []
    builder = SpanBuilder(spans.append)
    while True:
        header = source.read(_FRAME.size)
        if len(header) < _FRAME.size:
            return  # the pipe closed: the engine is gone
        data = source.read(_FRAME.unpack(header)[0])
        try:
            # From bytes: marshal.load on a pipe would call read() for every few bytes.
            messages: list[Message] = marshal.loads(data)
        except (EOFError, ValueError, TypeError):
            return
        flush = False
        for message in messages:
            try:
                if message[0] == FLUSH:
                    flush = True
                else:
                    builder.handle(message)
            except Exception:  # a message it cannot read costs its spans, not the exporter
                _log.exception("span message %r not understood", message[:2])
        batch, spans[:] = spans[:], []
        for start in range(0, len(batch), chunk):
            try:
                export(batch[start : start + chunk])
            except Exception:  # one bad batch must not end the exporter (nor its spans)
                dropped = min(chunk, len(batch) - start)
                _log.exception("span export failed: %d spans dropped", dropped)
        if flush:
            flushed()


def lower_priority(env: Mapping[str, str]) -> None:
    """Make this process background work, as ``SAGAWAY_TRACE_EXPORTER_NICE`` says: ``idle``
    (the default) runs it under Linux's SCHED_IDLE policy, so it gets a core only when no
    other process wants one and yields at once when one does (the engine, the SQLite writer);
    a number lowers its priority by that nice increment instead (0 or less: unchanged); any
    other value is ignored. Where SCHED_IDLE is missing, it falls back to ``_NICE``."""
    given = env.get(_NICE_VARIABLE, "").strip().lower() or _IDLE
    if given == _IDLE:
        policy = getattr(os, "SCHED_IDLE", None)
        if policy is not None:
            with contextlib.suppress(OSError):
                os.sched_setscheduler(0, policy, os.sched_param(0))
                return
        given = str(_NICE)
    increment = int(given) if given.lstrip("-").isdigit() else 0
    if increment > 0:
        with contextlib.suppress(OSError):
            os.nice(increment)


def main(env: Mapping[str, str]) -> None:
    lower_priority(env)
    chunk = max(int(env.get("OTEL_BSP_MAX_EXPORT_BATCH_SIZE") or 512), 1)
    if fast_path_wanted(env):
        given = env.get(RESOURCE_VARIABLE)
        attributes = json.loads(given) if given else dict(default_resource().attributes)
        export, close = fast_export(env, attributes)
    else:
        export, close = sdk_export(span_exporter(env), default_resource())
    signal_fd = env.get(_SIGNAL_VARIABLE, "")
    said(signal_fd, _READY)
    try:
        serve(sys.stdin.buffer, export, chunk, lambda: said(signal_fd, _FLUSHED))
    finally:
        close()


def said(fd: str, what: bytes) -> None:
    """Tell the engine, on the signal pipe (see ExporterProcess.start and flush)."""
    if fd.isdigit():
        with contextlib.suppress(OSError):
            os.write(int(fd), what)


if __name__ == "__main__":
    # A Ctrl-C reaches the whole process group: the child outlives it to export what the
    # engine sends before it exits.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    main(os.environ)
