"""OpenTelemetry spans of executions: one per execution, per state, per Task attempt.

The execution's span ids are drawn when it starts and journaled with its state
(``ExecutionState.trace``), so every process that runs a part of it (the one that started
it, the one that resumed it after a crash, a worker that took it over) puts its spans in
the same trace under the same execution span. That span is exported by the process that
sees the execution end, with the journaled ids and start time; a state or attempt span is
exported when it ends, by the process that ran it. State spans take their times from the
history events, so they agree with GetExecutionHistory.

Cost: no SDK span is made here. A span is a small record until it ends, then a tuple given
to a :class:`SpanSink`; the server's sink is a separate exporter process
(:mod:`sagaway.observability.span_export`) that builds the SDK's spans and encodes them
under its own GIL. Only a Task attempt's context is an OpenTelemetry one (a non-recording
span), so the handler's own spans and HTTP calls join the attempt.

Attributes: the execution span has the execution ARN, the state machine's name and ARN and
the business key; every other span only the ARN and the business key; state spans add the
state type, attempt spans the resource and retry count. Executions the sampler leaves out (a root's
decision is taken once, at start, and journaled in the flags) cost no span at all.

Marks: ``sagaway.caught`` (the error a Catch handled) on the state that failed,
``sagaway.compensation`` on the states run after a caught failure (the unwinding path),
``sagaway.retry_count`` on each attempt, ``sagaway.redrive_count`` after a redrive,
``sagaway.resumed`` on spans of states entered before a restart.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, StatusCode
from opentelemetry.trace import TraceFlags as Flags

from sagaway.engine.observer import Dispatch, Observer
from sagaway.expressions.jsonpath import compile_path
from sagaway.expressions.jsontext import loads
from sagaway.interpreter.execution import CHILDREN, TASK, TIMER
from sagaway.interpreter.messages import InvokeTask
from sagaway.observability.context import format_traceparent, parse_traceparent
from sagaway.observability.span_export import SpanRecord, readable
from sagaway.store.ports import StepRecord

if TYPE_CHECKING:
    from sagaway.engine.actor import ExecutionActor

FAILURES = ("Failed", "TimedOut", "Aborted")
ENDINGS = ("ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut")
_INTERNAL, _CLIENT = SpanKind.INTERNAL.value, SpanKind.CLIENT.value
_ERROR = StatusCode.ERROR.value


class SpanSink(Protocol):
    """Where finished spans go, as records (:mod:`sagaway.observability.span_export`)."""

    def record(self, span: SpanRecord) -> None: ...


@dataclass(slots=True)
class _Open:
    """A state or attempt span between its start and its end."""

    name: str
    span_id: int
    parent_id: int
    kind: int
    start: int
    attributes: dict[str, Any]


@dataclass(slots=True)
class _Run:
    """What this process traces of one execution."""

    ids: SpanContext  # the execution span's (journaled)
    parent: str  # the caller's traceparent ("" for a root)
    attributes: dict[str, Any]  # the execution span's
    common: dict[str, Any]  # every span's
    states: dict[str, list[_Open]] = field(default_factory=dict)
    attempts: dict[str, _Open] = field(default_factory=dict)
    compensating: bool = False


class ProviderSink:
    """Spans handed to the span processors of an in-process tracer provider (the SDK's
    in-memory exporter, or a process that wants no exporter process)."""

    def __init__(self, provider: TracerProvider) -> None:
        # The provider's composite processor: what its own spans go through when they end.
        self._processor = provider._active_span_processor
        self._resource = provider.resource

    def record(self, span: SpanRecord) -> None:
        self._processor.on_end(readable(span, self._resource))


class Tracing(Observer):
    """Spans of the executions of an engine, sampled by ``provider``'s sampler and recorded
    into ``sink`` (default: ``provider``'s own span processors). ``business_keys``: state
    machine name -> JSONPath into the execution's input whose value tags every span
    (``sagaway.business_key``)."""

    def __init__(
        self,
        provider: TracerProvider,
        business_keys: Mapping[str, str] | None = None,
        sink: SpanSink | None = None,
    ) -> None:
        self.sampler = provider.sampler
        self.sink: SpanSink = sink if sink is not None else ProviderSink(provider)
        self.business_keys = {name: compile_path(path) for name, path in
                              (business_keys or {}).items()}  # fmt: skip
        self._runs: dict[str, _Run] = {}

    def execution_trace(self, arn: str, parent: str) -> dict[str, str]:
        parsed = parse_traceparent(parent)
        # The SDK's own ids are random.getrandbits too: unique, not secret.
        trace_id = parsed[0] if parsed else random.getrandbits(128) or 1
        if parsed:
            flags = parsed[2]
        else:  # a root: the sampler decides once for the whole execution
            decision = self.sampler.should_sample(None, trace_id, "execution")
            flags = int(decision.decision is Decision.RECORD_AND_SAMPLE)
        span_id = random.getrandbits(64) or 1
        return {"traceparent": format_traceparent(trace_id, span_id, flags), "parent": parent}

    def execution_started(self, actor: ExecutionActor, events: Sequence[dict[str, Any]]) -> None:
        run = self._run(actor)
        if not run.ids.trace_flags.sampled:
            return  # not sampled: no span at all, and nothing tracked
        self._runs[actor.arn] = run
        if events:
            self._apply(run, events)
        else:  # resumed here: the states it was in when the journal last heard of it
            for frame in actor.state.frames.values():
                if frame.phase in (TASK, TIMER, CHILDREN):
                    self._enter(run, frame.state, "", frame.entered_at, resumed=True)

    def _run(self, actor: ExecutionActor) -> _Run:
        journaled = actor.state.trace
        own = parse_traceparent(journaled.get("traceparent", ""))
        if own is None or "parent" not in journaled:
            # Started while nothing traced: its spans here hang from a span of their own.
            parent = journaled.get("traceparent", "")
            journaled = self.execution_trace(actor.arn, parent)
            own = parse_traceparent(journaled["traceparent"])
            assert own is not None
        state = actor.state
        parent, span_id = journaled["parent"], own[1]
        redrives = int(state.execution.get("RedriveCount") or 0)
        if redrives:
            # Each redrive is a run of its own under the original execution span; its id is
            # derived, so every process that runs a part of it finds the same one.
            parent = format_traceparent(own[0], own[1], own[2])
            span_id = _redrive_span_id(own[1], redrives)
        ids = SpanContext(own[0], span_id, is_remote=False, trace_flags=Flags(own[2]))
        attributes: dict[str, Any] = {
            "sagaway.execution.arn": actor.arn,
            "sagaway.state_machine": state.state_machine["Name"],
            "aws.step_functions.state_machine.arn": state.state_machine["Id"],
        }
        key = self._business_key(state.state_machine["Name"], state.execution.get("Input"))
        if key is not None:
            attributes["sagaway.business_key"] = key
        common: dict[str, Any] = {"sagaway.execution.arn": actor.arn}
        if key is not None:
            common["sagaway.business_key"] = key
        if redrives:
            attributes["sagaway.redrive_count"] = common["sagaway.redrive_count"] = redrives
        return _Run(ids, parent, attributes, common)

    def _business_key(self, machine: str, value: Any) -> str | None:
        path = self.business_keys.get(machine)
        if path is None:
            return None
        try:
            found = path.get_value(loads(value) if isinstance(value, str) else value)
        except Exception:  # a missing field leaves the span without a key, nothing more
            return None
        return found if isinstance(found, str) else str(found)

    def steps_committed(self, actor: ExecutionActor, records: Sequence[StepRecord]) -> None:
        run = self._runs.get(actor.arn)
        if run is not None:
            for record in records:
                self._apply(run, record.events)

    def _apply(self, run: _Run, events: Sequence[dict[str, Any]]) -> None:
        failures: dict[int, str] = {}
        for event in events:
            kind: str = event["type"]
            if kind.endswith("StateEntered"):
                name = event["stateEnteredEventDetails"]["name"]
                self._enter(run, name, kind[: -len("StateEntered")], event["timestamp"])
            elif kind.endswith("StateExited"):
                error = failures.get(event["previousEventId"])
                self._exit(run, event["stateExitedEventDetails"]["name"], event, error)
            elif kind == "ExecutionRedriven":
                run.compensating = False
            elif kind.endswith(FAILURES) and kind not in ENDINGS:
                details: dict[str, Any] = next(
                    (v for k, v in event.items() if k.endswith("Details")), {}
                )
                failures[event["id"]] = str(details.get("error", kind))

    def _enter(self, run: _Run, name: str, kind: str, at: float, resumed: bool = False) -> None:
        attributes = dict(run.common)
        if kind:
            attributes["sagaway.state.type"] = kind
        if run.compensating:
            attributes["sagaway.compensation"] = True
        if resumed:
            attributes["sagaway.resumed"] = True
        span = _Open(name, _span_id(), run.ids.span_id, _INTERNAL, _nanos(at), attributes)
        run.states.setdefault(name, []).append(span)

    def _exit(self, run: _Run, name: str, event: dict[str, Any], caught: str | None) -> None:
        spans = run.states.get(name)
        if not spans:
            return
        span = spans.pop(0)
        if caught is not None:
            span.attributes["sagaway.caught"] = caught
            run.compensating = True
        self._end(run, span, _nanos(event["timestamp"]))

    def _end(self, run: _Run, span: _Open, end: int, error: str = "") -> None:
        self.sink.record((span.name, run.ids.trace_id, span.span_id, span.parent_id, False,
                          span.kind, span.start, end, span.attributes, _ERROR if error else 0,
                          error))  # fmt: skip

    def dispatch_task(self, actor: ExecutionActor, command: InvokeTask, dispatch: Dispatch) -> None:
        run = self._runs.get(actor.arn)
        if run is None:
            dispatch(actor.arn, command)
            return
        states = run.states.get(command.state_name)
        span = _Open(
            f"{command.state_name} attempt", _span_id(),
            states[-1].span_id if states else run.ids.span_id, _CLIENT, time.time_ns(),
            {**run.common, "sagaway.resource": command.resource,
             "sagaway.retry_count": _retry_count(command)},
        )  # fmt: skip
        run.attempts[command.token] = span
        # The handler's task (and the thread a plain function runs in) copy this context:
        # its own spans and the events it writes join the attempt.
        ids = SpanContext(run.ids.trace_id, span.span_id, False, run.ids.trace_flags)
        token = otel_context.attach(trace.set_span_in_context(NonRecordingSpan(ids)))
        try:
            dispatch(actor.arn, command)
        finally:
            otel_context.detach(token)

    def task_ended(self, arn: str, token: str, outcome: str) -> None:
        run = self._runs.get(arn)
        span = run.attempts.pop(token, None) if run is not None else None
        if run is not None and span is not None:
            span.attributes["sagaway.outcome"] = outcome
            self._end(run, span, time.time_ns(), "" if outcome == "TaskSucceeded" else outcome)

    def execution_ended(self, actor: ExecutionActor) -> None:
        run = self._runs.pop(actor.arn, None)
        if run is None:
            return
        now = time.time_ns()
        for attempt in run.attempts.values():
            self._end(run, attempt, now)
        for spans in run.states.values():
            for span in spans:
                self._end(run, span, now)
        state = actor.state
        attributes = {**run.attributes, "sagaway.status": state.status}
        name = f"execution {state.state_machine['Name']}"
        if "sagaway.redrive_count" in attributes:
            name += f" redrive {attributes['sagaway.redrive_count']}"
        caller = parse_traceparent(run.parent)
        error = "" if state.status == "SUCCEEDED" else f"{state.error}: {state.cause}"
        self.sink.record((name, run.ids.trace_id, run.ids.span_id, caller[1] if caller else 0,
                          True, _INTERNAL, _iso_nanos(state.execution.get("StartTime")) or now,
                          now, attributes, _ERROR if error else 0, error))  # fmt: skip


def _nanos(epoch: float) -> int:
    return int(epoch * 1e9)


def _iso_nanos(text: Any) -> int | None:
    if not isinstance(text, str):
        return None
    return _nanos(datetime.fromisoformat(text).timestamp())


def _retry_count(command: InvokeTask) -> int:
    context = command.context
    if isinstance(context, dict):
        return int(context.get("State", {}).get("RetryCount", 0))
    return 0


def _span_id() -> int:
    # The SDK's own ids are random.getrandbits too: unique, not secret.
    return random.getrandbits(64) or 1


def _redrive_span_id(execution_span_id: int, redrives: int) -> int:
    seed = f"{execution_span_id:016x}/{redrives}".encode()
    return int.from_bytes(hashlib.blake2b(seed, digest_size=8).digest()) or 1
