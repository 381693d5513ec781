"""OpenTelemetry spans of executions: one per execution, per state, per Task attempt, and
per Parallel branch and Map iteration (their states hang under them).

The execution's span ids are drawn when it starts and journaled with its state
(``ExecutionState.trace``), so every process that runs a part of it (the one that started
it, the one that resumed it after a crash, a worker that took it over) puts its spans in
the same trace under the same execution span. That span is exported by the process that
sees the execution end, with the journaled ids and start time; a state or attempt span is
exported when it ends, by the process that ran it.

Cost: these hooks only forward what the engine does. The spans of states, branches and
iterations are built from the history by :class:`~sagaway.observability.span_builder.
SpanBuilder`, which for the server runs in the exporter process
(:mod:`sagaway.observability.span_export`): a committed step's events go there as the JSON
the journal already wrote. A Task attempt's span is made here, since its context must be
current while the handler runs (an OpenTelemetry non-recording span, so the handler's own
spans and HTTP calls join the attempt); its parent is its state's span, whose id both sides
derive from the state's entered event. ``sagaway bench --tracing-cost`` measures what
tracing costs (docs/benchmarks.md#tracing).

Attributes: the execution span has the execution ARN, the state machine's name and ARN and
the business key; every other span only the ARN and the business key; state spans add the
state type, attempt spans the resource, retry count and outcome. Executions the sampler
leaves out (a root's decision is taken once, at start, and journaled in the flags) cost no
span at all. Marks: see span_builder; ``sagaway.retry_count`` on each attempt,
``sagaway.redrive_count`` after a redrive.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.trace import TraceFlags as Flags

from sagaway.engine.observer import Dispatch, Observer
from sagaway.expressions.jsonpath import compile_path
from sagaway.expressions.jsontext import loads
from sagaway.interpreter.execution import CHILDREN, TASK, TIMER, Frame
from sagaway.interpreter.messages import InvokeTask
from sagaway.observability.context import (  # fmt: skip
    AttemptSpan,
    enter_span,
    format_traceparent,
    leave_span,
    parse_traceparent,
)  # fmt: skip
from sagaway.observability.span_builder import attempt_marks, attempt_name, with_outcome
from sagaway.observability.span_export import ProviderSink, SpanSink
from sagaway.observability.span_runs import (  # fmt: skip
    END,
    EVENTS,
    FORGET,
    SPAN,
    START,
    Open,
    Resumed,
    attempt_span_id,
    state_span_id,
)  # fmt: skip
from sagaway.store.ports import StepRecord

if TYPE_CHECKING:
    from sagaway.engine.actor import ExecutionActor

# Ids drawn by execution_trace and kept for the start: past this many (starts that never
# came, a name already taken), all are forgotten and a start parses its traceparent again.
_MAX_DRAWN = 4096
_INTERNAL, _CLIENT = SpanKind.INTERNAL.value, SpanKind.CLIENT.value
_ERROR = StatusCode.ERROR.value


@dataclass(slots=True)
class Traced:
    """What the hooks keep of an execution traced here: its ids, its attributes and its
    Task attempts under way."""

    trace_id: int
    span_id: int  # the execution span's (journaled)
    flags: Flags
    caller: tuple[int, bool]  # the parent span id (0 for a root), and whether it is remote
    attributes: dict[str, Any]  # the execution span's
    common: dict[str, Any]  # every span's
    history: bool = True  # it keeps a history, so its states have spans (not EXPRESS)
    attempts: dict[str, Open] = field(default_factory=dict)  # by token: traced here
    resumed: set[str] = field(default_factory=set)  # tokens of attempts re-issued on resume
    ids: tuple[int, int, Flags] = field(init=False)  # (trace_id, span_id, flags), for attempts

    def __post_init__(self) -> None:
        self.ids = (self.trace_id, self.span_id, self.flags)


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
        # The SDK's default (parent based, every root sampled) needs no call per execution.
        self._sample_all = self.sampler.get_description().startswith(
            ("AlwaysOnSampler", "ParentBased{root:AlwaysOnSampler")
        )
        self.sink: SpanSink = sink if sink is not None else ProviderSink(provider)
        self.business_keys = {name: compile_path(path) for name, path in
                              (business_keys or {}).items()}  # fmt: skip
        self._runs: dict[str, Traced] = {}
        # traceparent -> its (trace id, span id, flags), as execution_trace drew them: the
        # execution's start (execution_started) takes them back without parsing the text.
        self._drawn: dict[str, tuple[int, int, int]] = {}

    def execution_trace(self, arn: str, parent: str) -> dict[str, str]:
        parsed = parse_traceparent(parent) if parent else None
        # The SDK's own ids are random.getrandbits too: unique, not secret.
        trace_id = parsed[0] if parsed else _ids.getrandbits(128) or 1
        if parsed:
            flags = parsed[2]
        elif self._sample_all:
            flags = 1
        else:  # a root: the sampler decides once for the whole execution
            decision = self.sampler.should_sample(None, trace_id, "execution")
            flags = int(decision.decision is Decision.RECORD_AND_SAMPLE)
        span_id = _ids.getrandbits(64) or 1
        traceparent = format_traceparent(trace_id, span_id, flags)
        if len(self._drawn) >= _MAX_DRAWN:  # executions that never started: not kept forever
            self._drawn.clear()
        self._drawn[traceparent] = (trace_id, span_id, flags)
        return {"traceparent": traceparent, "parent": parent}

    def execution_started(self, actor: ExecutionActor, events: Sequence[dict[str, Any]]) -> None:
        run = self._run(actor)
        if not run.flags.sampled:
            return  # not sampled: no span at all, and nothing tracked
        self._runs[actor.arn] = run
        # An execution that keeps no history (EXPRESS) has no state spans: they come from it.
        resumed = _resumed(actor) if run.history and not events else None
        if resumed:  # the attempts under way are re-issued: traced here (see dispatch_task)
            frames = actor.state.frames.values()
            run.resumed = {f.token for f in frames if f.phase == TASK and f.token}
        self.sink.send((START, actor.arn, run.trace_id, run.span_id, run.common, resumed,
                        list(events) if run.history else []))  # fmt: skip

    def _run(self, actor: ExecutionActor) -> Traced:
        journaled = actor.state.trace
        traceparent = journaled.get("traceparent", "")
        own = self._drawn.pop(traceparent, None) or parse_traceparent(traceparent)
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
        caller = parse_traceparent(parent) if parent else None
        # The parent came through the journal (a caller's context, or the execution span a
        # redrive hangs under): remote, as a propagated context is.
        return Traced(own[0], span_id, Flags(own[2]), (caller[1] if caller else 0, bool(caller)),
                      attributes, common, bool(actor.limits.history))  # fmt: skip

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
        if run is not None and run.history:
            send = self.sink.send
            for record in records:
                if record.events:  # as the journal encoded them, when it did: no work here
                    send((EVENTS, actor.arn, record.encoded_events or record.events))

    def _end(self, run: Traced, span: Open, end: int, error: str = "") -> None:
        self.sink.send((SPAN, (span.name, run.trace_id, span.span_id, span.parent_id, False,
                               span.kind, span.start, end, run.common, span.more,
                               _ERROR if error else 0, error)))  # fmt: skip

    def dispatch_task(self, actor: ExecutionActor, command: InvokeTask, dispatch: Dispatch) -> None:
        run = self._runs.get(actor.arn)
        if run is None:
            dispatch(actor.arn, command)
            return
        # A Task's token starts with its frame's id: the frame says which state it is in.
        token = command.token
        frame = actor.state.frames.get(token.partition("@")[0])
        attempt: AttemptSpan
        if frame is not None and run.history and not frame.quiet and token not in run.resumed:
            # The span builder makes this attempt's span from its Scheduled event and its
            # outcome's, with the id derived from the state's entered event and the retry
            # count: nothing is kept here.
            attempt = AttemptSpan(run.ids, frame.entered_id, frame.retry_count)
        else:  # no history (EXPRESS, a Distributed Map's iteration), or re-issued after a
            # resume: no Scheduled event for the builder, so traced here
            attempt = self._attempt(run, command, frame)
        # The handler's task (and the thread a plain function runs in) copy this context:
        # its own spans and the events it writes join the attempt.
        entered = enter_span(attempt)
        try:
            dispatch(actor.arn, command)
        finally:
            leave_span(entered)

    def _attempt(self, run: Traced, command: InvokeTask, frame: Frame | None) -> AttemptSpan:
        """An attempt whose span is made here, ended by task_ended: one with no Scheduled
        event in the history to build it from."""
        parent, span_id = run.span_id, _ids.getrandbits(64) or 1
        retry = frame.retry_count if frame is not None else _retry_count(command)
        if frame is not None and run.history and not frame.quiet:  # as the builder derives
            parent = state_span_id(run.span_id, frame.entered_id)
            span_id = attempt_span_id(run.span_id, frame.entered_id, retry)
            run.resumed.discard(command.token)
        run.attempts[command.token] = Open(
            attempt_name(command.state_name), span_id, parent, _CLIENT, time.time_ns(),
            attempt_marks(command.resource, retry),
        )  # fmt: skip
        return AttemptSpan((run.trace_id, span_id, run.flags))

    def task_ended(self, arn: str, token: str, outcome: str) -> None:
        run = self._runs.get(arn)
        if run is None or not run.attempts:
            return
        span = run.attempts.pop(token, None)
        if span is not None:
            span.more = with_outcome(span.more, outcome)
            self._end(run, span, time.time_ns(), "" if outcome == "TaskSucceeded" else outcome)

    def execution_detached(self, actor: ExecutionActor) -> None:
        if self._runs.pop(actor.arn, None) is not None:
            self.sink.send((FORGET, actor.arn))

    def execution_ended(self, actor: ExecutionActor) -> None:
        run = self._runs.pop(actor.arn, None)
        if run is None:
            return
        now = time.time_ns()
        for attempt in run.attempts.values():
            self._end(run, attempt, now)
        self.sink.send((END, actor.arn, now))  # the states' spans end with it
        state = actor.state
        name = f"execution {state.state_machine['Name']}"
        if "sagaway.redrive_count" in run.attributes:
            name += f" redrive {run.attributes['sagaway.redrive_count']}"
        error = "" if state.status == "SUCCEEDED" else f"{state.error}: {state.cause}"
        parent, remote = run.caller
        self.sink.send((SPAN, (name, run.trace_id, run.span_id, parent, remote, _INTERNAL,
                               _iso_nanos(state.execution.get("StartTime")) or now, now,
                               run.attributes, (("sagaway.status", state.status),),
                               _ERROR if error else 0, error)))  # fmt: skip


# Ids: unique, not secret (the SDK's are random.getrandbits too); a generator of our own,
# seeded from the OS, so a program that seeds the global one does not repeat our ids.
_ids = random.Random()


def _iso_nanos(text: Any) -> int | None:
    if not isinstance(text, str):
        return None
    return int(datetime.fromisoformat(text).timestamp() * 1e9)


def _retry_count(command: InvokeTask) -> int:
    context = command.context
    if isinstance(context, dict):
        return int(context.get("State", {}).get("RetryCount", 0))
    return 0


def _resumed(actor: ExecutionActor) -> list[Resumed]:
    """The frames the execution was in when last journaled (states under way, Map and
    Parallel states included), oldest first, as the span builder takes them."""
    frames = actor.state.frames
    found: list[Resumed] = []
    for frame in sorted(frames.values(), key=lambda f: f.id.count("/")):  # parents first
        if frame.phase not in (TASK, TIMER, CHILDREN):
            continue
        outer = frames.get(frame.parent) if frame.parent is not None else None
        kind = "iteration" if outer is not None and "items" in outer.data else "branch"
        within = outer.entered_id if outer is not None else 0
        found.append((frame.entered_id, frame.state, frame.entered_at, frame.last_id, within,
                      kind, frame.index, frame.parent is None, frame.phase == CHILDREN,
                      frame.retry_count))  # fmt: skip
    return found


def _redrive_span_id(execution_span_id: int, redrives: int) -> int:
    seed = f"{execution_span_id:016x}/{redrives}".encode()
    return int.from_bytes(hashlib.blake2b(seed, digest_size=8).digest()) or 1
