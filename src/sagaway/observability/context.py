"""Trace context in the two spellings callers use: W3C ``traceparent``
(``00-<trace id>-<parent span id>-<flags>``) and AWS X-Ray's ``X-Amzn-Trace-Id``
(``Root=1-<8 hex epoch>-<24 hex>;Parent=<16 hex>;Sampled=<0|1>``, what StartExecution's
``traceHeader`` carries). An X-Ray root is a 128-bit trace id written in two parts, so the two
convert both ways without loss.

Events carry the context of the span that wrote them in a ``traceparent`` field of their
envelope: the outbox row, the archive and every delivery keep it.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from sagaway.observability.span_runs import attempt_span_id

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_XRAY_ROOT = re.compile(r"^1-([0-9a-f]{8})-([0-9a-f]{24})$")
EVENT_FIELD = "traceparent"


def parse_traceparent(text: str) -> tuple[int, int, int] | None:
    """(trace id, span id, flags), or None when ``text`` is not a valid traceparent. A span
    id of 0 means "this trace, no parent span" (an X-Ray header without ``Parent``)."""
    match = _TRACEPARENT.match(text.strip().lower())
    if match is None or int(match[1], 16) == 0:
        return None
    return int(match[1], 16), int(match[2], 16), int(match[3], 16)


def format_traceparent(trace_id: int, span_id: int, flags: int = 1) -> str:
    return f"00-{trace_id:032x}-{span_id:016x}-{flags:02x}"


def xray_to_traceparent(header: str) -> str:
    """The traceparent for an X-Ray trace header; "" when it names no valid root."""
    fields = dict(
        part.strip().split("=", 1) for part in header.split(";") if "=" in part
    )  # fmt: skip
    match = _XRAY_ROOT.match(fields.get("Root", "").lower())
    if match is None:
        return ""
    parent = fields.get("Parent", "0" * 16).lower()
    if not re.fullmatch(r"[0-9a-f]{16}", parent):
        parent = "0" * 16
    sampled = "00" if fields.get("Sampled") == "0" else "01"
    return f"00-{match[1]}{match[2]}-{parent}-{sampled}"


def traceparent_to_xray(traceparent: str) -> str:
    parsed = parse_traceparent(traceparent)
    if parsed is None:
        return ""
    trace_id, span_id, flags = parsed
    hex_id = f"{trace_id:032x}"
    header = f"Root=1-{hex_id[:8]}-{hex_id[8:]}"
    if span_id:
        header += f";Parent={span_id:016x}"
    return header + f";Sampled={flags & 1}"


def current_traceparent() -> str:
    """The traceparent of the current span; "" when nothing is being traced."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return ""
    return format_traceparent(context.trace_id, context.span_id, int(context.trace_flags))


def remote_context(traceparent: str) -> Context | None:
    """An OpenTelemetry context whose parent is the remote span ``traceparent`` names."""
    parsed = parse_traceparent(traceparent)
    if parsed is None or parsed[1] == 0:
        return None
    trace_id, span_id, flags = parsed
    parent = SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(flags))
    return trace.set_span_in_context(NonRecordingSpan(parent))


def stamp_event(event: dict[str, Any]) -> dict[str, Any]:
    """``event`` with the current span's context in its envelope (unchanged when nothing is
    traced, or when it already carries one: a relayed event keeps its writer's)."""
    if EVENT_FIELD in event:
        return event
    traceparent = current_traceparent()
    return {**event, EVENT_FIELD: traceparent} if traceparent else event


# The key OpenTelemetry's context keeps the current span under (found with its public API).
SPAN_KEY = next(iter(trace.set_span_in_context(trace.INVALID_SPAN, Context())))


def _runtime_variable() -> ContextVar[Context] | None:
    """The ContextVar OpenTelemetry's default runtime context keeps the current context in;
    None where another runtime context is configured (``OTEL_PYTHON_CONTEXT``) or its
    internals differ from what this module knows."""
    runtime = getattr(otel_context, "_RUNTIME_CONTEXT", None)
    variable = getattr(runtime, "_current_context", None)
    return variable if isinstance(variable, ContextVar) else None


RUNTIME_VARIABLE = _runtime_variable()


def _attach(span: trace.Span) -> object:
    return otel_context.attach(trace.set_span_in_context(span))


def _detach(token: object) -> None:
    otel_context.detach(token)  # type: ignore[arg-type]


if RUNTIME_VARIABLE is not None:
    _get, _set, _reset = RUNTIME_VARIABLE.get, RUNTIME_VARIABLE.set, RUNTIME_VARIABLE.reset

    def enter_span(span: trace.Span) -> object:
        """Make ``span`` the current span; the token :func:`leave_span` takes. What
        ``context.attach(trace.set_span_in_context(span))`` does, in two C calls on the
        runtime context's ContextVar: this runs at every Task dispatch of a traced
        execution, and the API's layers of calls were most of its cost."""
        return _set(Context({**_get(), SPAN_KEY: span}))

    def leave_span(token: object) -> None:
        """Back to the context before :func:`enter_span` returned ``token``."""
        _reset(token)  # type: ignore[arg-type]

else:  # another runtime context is configured: the API's own calls
    enter_span, leave_span = _attach, _detach


class AttemptSpan(NonRecordingSpan):
    """A Task attempt's span in the handler's context: its SpanContext is built when
    something asks for it (a handler's own span, an outgoing traceparent), not at every
    dispatch, since most handlers never do (it was a fifth of the hooks' CPU). ``ids``:
    (trace id, span id, flags); with ``entered_id`` (the state's entered event id, never 0)
    and ``retry_count``, the span id is the execution span's and the attempt's is derived
    from the three (as the span builder derives it: span_runs.attempt_span_id)."""

    def __init__(
        self, ids: tuple[int, int, TraceFlags], entered_id: int = 0, retry_count: int = 0
    ) -> None:
        self._ids = ids
        self._attempt = (entered_id, retry_count)
        self._context: SpanContext | None = None  # type: ignore[assignment]

    def get_span_context(self) -> SpanContext:
        if self._context is None:
            trace_id, span_id, flags = self._ids
            if self._attempt[0]:
                span_id = attempt_span_id(span_id, *self._attempt)
            self._context = SpanContext(trace_id, span_id, False, flags)
        return self._context

    def __repr__(self) -> str:
        return f"NonRecordingSpan({self.get_span_context()!r})"
