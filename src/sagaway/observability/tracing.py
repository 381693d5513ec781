"""OpenTelemetry spans of executions: one per execution, per state, per Task attempt, and
per Parallel branch and Map iteration (their states hang under them).

The execution's span ids are drawn when it starts and journaled with its state
(``ExecutionState.trace``), so every process that runs a part of it (the one that started
it, the one that resumed it after a crash, a worker that took it over) puts its spans in
the same trace under the same execution span. That span is exported by the process that
sees the execution end, with the journaled ids and start time; a state or attempt span is
exported when it ends, by the process that ran it. State spans take their times from the
history events, so they agree with GetExecutionHistory.

Cost: no SDK span is made here. A span is a small record until it ends, then a tuple given
to a :class:`SpanSink`; the server's sink is a separate exporter process
(:mod:`sagaway.observability.span_export`) that encodes them as OTLP under its own GIL.
Only a Task attempt's context is an OpenTelemetry one (a non-recording span), so the
handler's own spans and HTTP calls join the attempt. ``sagaway bench --tracing-cost``
measures what these hooks cost (docs/benchmarks.md#tracing).

Attributes: the execution span has the execution ARN, the state machine's name and ARN and
the business key; every other span only the ARN and the business key; state spans add the
state type, attempt spans the resource and retry count. Executions the sampler leaves out
(a root's decision is taken once, at start, and journaled in the flags) cost no span at all.

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
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.trace import TraceFlags as Flags

from sagaway.engine.observer import Dispatch, Observer
from sagaway.expressions.jsonpath import compile_path
from sagaway.expressions.jsontext import loads
from sagaway.interpreter.execution import CHILDREN, TASK, TIMER, Frame
from sagaway.interpreter.messages import InvokeTask
from sagaway.observability.context import AttemptSpan, format_traceparent, parse_traceparent
from sagaway.observability.span_export import ProviderSink, SpanSink
from sagaway.observability.span_runs import (  # fmt: skip
    ABORT,
    ACTIONS,
    ENTER,
    EXIT,
    FAIL,
    FORK,
    ITERATION,
    ITERATION_END,
    OTHER,
    REDRIVE,
    Open,
    Run,
    classify,
    state_marks,
    up,
)  # fmt: skip
from sagaway.store.ports import StepRecord

if TYPE_CHECKING:
    from sagaway.engine.actor import ExecutionActor

_INTERNAL, _CLIENT = SpanKind.INTERNAL.value, SpanKind.CLIENT.value
_ERROR = StatusCode.ERROR.value


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
        self._runs: dict[str, Run] = {}

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
        return {"traceparent": format_traceparent(trace_id, span_id, flags), "parent": parent}

    def execution_started(self, actor: ExecutionActor, events: Sequence[dict[str, Any]]) -> None:
        run = self._run(actor)
        if not run.flags.sampled:
            return  # not sampled: no span at all, and nothing tracked
        self._runs[actor.arn] = run
        if events:
            self._apply(run, events)
        elif actor.limits.history:  # resumed here: the states it was in when last journaled
            self._resume(run, actor)
        # else an execution that keeps no history (EXPRESS): no state spans, which come from it

    def _resume(self, run: Run, actor: ExecutionActor) -> None:
        frames = actor.state.frames
        for frame in sorted(frames.values(), key=lambda f: f.id.count("/")):  # parents first
            if frame.phase not in (TASK, TIMER, CHILDREN):
                continue
            parent = frames.get(frame.parent) if frame.parent is not None else None
            scope = run.span_id
            if parent is not None and parent.entered_id in run.open:
                # In a branch or iteration of the Map or Parallel its parent frame is in: a
                # span for that branch or iteration, under the state's (as when it started).
                scope = self._resumed_child(run, parent, frame)
            self._enter(run, frame.entered_id, frame.state, "", frame.entered_at, scope, True)
            run.chain[frame.last_id] = (scope, frame.entered_id)
            if frame.parent is None:
                run.current = frame.entered_id
            if frame.phase == CHILDREN:
                run.fanouts.add(frame.entered_id)

    def _resumed_child(self, run: Run, parent: Frame, frame: Frame) -> int:
        """The span of the branch or iteration ``frame`` runs in, after a resume: made once
        for all its states, kept with the state's other children (a Map iteration's end and
        the state's exit end it) and marked resumed."""
        children = run.children.setdefault(parent.entered_id, {})
        span = children.get(frame.index)
        if span is None:
            state = run.open[parent.entered_id]
            kind = "iteration" if "items" in parent.data else "branch"  # a Map keeps its items
            more = ((f"sagaway.{kind}.index", frame.index), ("sagaway.resumed", True))
            span = Open(f"{state.name} {kind} {frame.index}", _span_id(), state.span_id,
                        _INTERNAL, _nanos(frame.entered_at), more)  # fmt: skip
            children[frame.index] = span
            run.nested[span.span_id] = (state.parent_id, parent.entered_id)
        return span.span_id

    def _run(self, actor: ExecutionActor) -> Run:
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
        return Run(own[0], span_id, Flags(own[2]), (caller[1] if caller else 0, bool(caller)),
                   attributes, common)  # fmt: skip

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

    def _apply(self, run: Run, events: Sequence[dict[str, Any]]) -> None:
        chain, root = run.chain, (run.span_id, 0)
        failures: dict[int, str] = {}
        for event in events:
            kind: str = event["type"]
            action, state_type, outer = ACTIONS.get(kind) or classify(kind)
            if not run.fanouts:  # one frame so far: no chain to follow (the common case)
                if action == OTHER:
                    continue
                scope, owner = run.span_id, run.current
                event_id, previous = event["id"], event["previousEventId"]
            else:
                event_id, previous = event["id"], event["previousEventId"]
                scope, owner = chain.get(previous, root)
                if outer and run.nested:  # a Map's or Parallel's own event after a child's
                    scope, owner = up(run, scope, owner)
            if action == ENTER:
                fork = run.forks.get(previous)
                if fork is not None:  # the first state of a Map iteration or Parallel branch
                    parent = (scope, owner)
                    scope = fork or self._branch(run, owner, event["timestamp"])
                    run.nested[scope] = parent
                owner = event_id
                if state_type in ("Map", "Parallel"):
                    run.fanouts.add(owner)
                name = event["stateEnteredEventDetails"]["name"]
                self._enter(run, owner, name, state_type, event["timestamp"], scope)
            elif action == EXIT:
                name = event["stateExitedEventDetails"]["name"]
                if run.nested:  # a Map or Parallel exits after its last child's event
                    scope, owner = up(run, scope, owner, name)
                self._exit(run, owner, _nanos(event["timestamp"]), failures.get(previous))
                owner = 0
            elif action == ABORT:
                self._exit(run, owner, _nanos(event["timestamp"]), None, kind)
                owner = 0
                if previous in failures:  # a branch's failure ends its Parallel: carried on
                    failures[event_id] = failures[previous]
            elif action == FORK:  # ParallelStateStarted: each branch's first state follows it
                run.forks[event_id] = 0  # a branch span of its own for each
            elif action == ITERATION:
                run.forks[event_id] = self._iteration(run, owner, event)
            elif action == ITERATION_END:
                self._iteration_end(run, owner, event, kind)
            elif action == FAIL:
                details: dict[str, Any] = next(
                    (v for k, v in event.items() if k.endswith("Details")), {}
                )
                failures[event_id] = str(details.get("error", kind))
            elif action == REDRIVE:
                run.compensating = False
            if run.fanouts:
                chain[event_id] = (scope, owner)
            else:
                run.current = owner

    def _enter(self, run: Run, entered: int, name: str, kind: str, at: float, parent: int,
               resumed: bool = False) -> None:  # fmt: skip
        more = state_marks(kind, run.compensating, resumed)
        # _span_id() and _nanos(at), inline: this runs for every state entered
        run.open[entered] = Open(name, _ids.getrandbits(64) or 1, parent, _INTERNAL,
                                 int(at * 1e9), more)  # fmt: skip

    def _exit(self, run: Run, entered: int, end: int, caught: str | None,
              aborted: str = "") -> None:  # fmt: skip
        span = run.open.pop(entered, None)
        if span is None:
            return
        children = run.children.pop(entered, None) if run.children else None
        for child in children.values() if children else ():  # branches, iterations
            self._end(run, child, end)
        if caught is not None:
            span.more += (("sagaway.caught", caught),)
            run.compensating = True
        self._end(run, span, end, aborted)

    def _branch(self, run: Run, parallel: int, at: float) -> int:
        """A new branch of the Parallel state entered at event ``parallel``, starting when its
        first state is entered (``at``): its span's id."""
        state = run.open.get(parallel)
        if state is None:
            return run.span_id
        branches = run.children.setdefault(parallel, {})
        span = Open(f"{state.name} branch {len(branches)}", _span_id(), state.span_id,
                     _INTERNAL, _nanos(at), (("sagaway.branch.index", len(branches)),))  # fmt: skip
        branches[len(branches)] = span
        return span.span_id

    def _iteration(self, run: Run, owner: int, event: dict[str, Any]) -> int:
        """A Map iteration starts: its span (under the Map state's) and its span's id."""
        state = run.open.get(owner)
        if state is None:
            return run.span_id
        index = event["mapIterationStartedEventDetails"]["index"]
        span = Open(f"{state.name} iteration {index}", _span_id(), state.span_id, _INTERNAL,
                     _nanos(event["timestamp"]), (("sagaway.iteration.index", index),))  # fmt: skip
        run.children.setdefault(owner, {})[index] = span
        return span.span_id

    def _iteration_end(self, run: Run, owner: int, event: dict[str, Any], kind: str) -> None:
        details: dict[str, Any] = next((v for k, v in event.items() if k.endswith("Details")), {})
        span = run.children.get(owner, {}).pop(details.get("index"), None)
        if span is not None:
            failed = "" if kind == "MapIterationSucceeded" else kind
            self._end(run, span, _nanos(event["timestamp"]), failed)

    def _end(self, run: Run, span: Open, end: int, error: str = "") -> None:
        self.sink.record((span.name, run.trace_id, span.span_id, span.parent_id, False,
                          span.kind, span.start, end, run.common, span.more,
                          _ERROR if error else 0, error))  # fmt: skip

    def dispatch_task(self, actor: ExecutionActor, command: InvokeTask, dispatch: Dispatch) -> None:
        run = self._runs.get(actor.arn)
        if run is None:
            dispatch(actor.arn, command)
            return
        # A Task's token starts with its frame's id: the frame says which state span it is.
        token = command.token
        frame = actor.state.frames.get(token.partition("@")[0])
        state = run.open.get(frame.entered_id) if frame is not None else None
        span_id = _ids.getrandbits(64) or 1
        run.attempts[token] = Open(
            _attempt_name(command.state_name), span_id,
            state.span_id if state is not None else run.span_id, _CLIENT, time.time_ns(),
            _attempt_marks(command.resource, _retry_count(command)),
        )  # fmt: skip
        # The handler's task (and the thread a plain function runs in) copy this context:
        # its own spans and the events it writes join the attempt.
        attempt = AttemptSpan(run.trace_id, span_id, run.flags)
        attached = otel_context.attach(trace.set_span_in_context(attempt))
        try:
            dispatch(actor.arn, command)
        finally:
            otel_context.detach(attached)

    def task_ended(self, arn: str, token: str, outcome: str) -> None:
        run = self._runs.get(arn)
        span = run.attempts.pop(token, None) if run is not None else None
        if run is not None and span is not None:
            span.more = _with_outcome(span.more, outcome)
            self._end(run, span, time.time_ns(), "" if outcome == "TaskSucceeded" else outcome)

    def execution_ended(self, actor: ExecutionActor) -> None:
        run = self._runs.pop(actor.arn, None)
        if run is None:
            return
        now = time.time_ns()
        for attempt in run.attempts.values():
            self._end(run, attempt, now)
        for children in run.children.values():
            for child in children.values():
                self._end(run, child, now)
        for span in run.open.values():
            self._end(run, span, now)
        state = actor.state
        name = f"execution {state.state_machine['Name']}"
        if "sagaway.redrive_count" in run.attributes:
            name += f" redrive {run.attributes['sagaway.redrive_count']}"
        error = "" if state.status == "SUCCEEDED" else f"{state.error}: {state.cause}"
        parent, remote = run.caller
        self.sink.record((name, run.trace_id, run.span_id, parent, remote, _INTERNAL,
                          _iso_nanos(state.execution.get("StartTime")) or now, now,
                          run.attributes, (("sagaway.status", state.status),),
                          _ERROR if error else 0, error))  # fmt: skip


# Ids: unique, not secret (the SDK's are random.getrandbits too); a generator of our own,
# seeded from the OS, so a program that seeds the global one does not repeat our ids.
_ids = random.Random()


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


# An attempt's name and own attributes, shared by every attempt of the same state (resource,
# retry count, outcome): the states of the machines run are a bounded set, so these caches
# are too, and a span adds no string or tuple of its own for them (marshal then writes each
# once a batch).
_ATTEMPT_NAMES: dict[str, str] = {}
_ATTEMPT_MARKS: dict[tuple[str, int], tuple[tuple[str, Any], ...]] = {}
_OUTCOME_MARKS: dict[tuple[tuple[tuple[str, Any], ...], str], tuple[tuple[str, Any], ...]] = {}
_CACHED = 4096  # entries per cache, at most: past that, a span makes its own
_K = TypeVar("_K")
_V = TypeVar("_V")


def _attempt_name(state: str) -> str:
    return _ATTEMPT_NAMES.get(state) or _remember(_ATTEMPT_NAMES, state, f"{state} attempt")


def _attempt_marks(resource: str, retry_count: int) -> tuple[tuple[str, Any], ...]:
    key = (resource, retry_count)
    return _ATTEMPT_MARKS.get(key) or _remember(
        _ATTEMPT_MARKS, key, (("sagaway.resource", resource), ("sagaway.retry_count", retry_count))
    )


def _with_outcome(more: tuple[tuple[str, Any], ...], outcome: str) -> tuple[tuple[str, Any], ...]:
    key = (more, outcome)
    return _OUTCOME_MARKS.get(key) or _remember(
        _OUTCOME_MARKS, key, (*more, ("sagaway.outcome", outcome))
    )


def _remember(cache: dict[_K, _V], key: _K, value: _V) -> _V:
    """``value``, kept in ``cache`` under ``key`` while the cache is under its bound."""
    if len(cache) < _CACHED:
        cache[key] = value
    return value


def _span_id() -> int:
    return _ids.getrandbits(64) or 1


def _redrive_span_id(execution_span_id: int, redrives: int) -> int:
    seed = f"{execution_span_id:016x}/{redrives}".encode()
    return int.from_bytes(hashlib.blake2b(seed, digest_size=8).digest()) or 1
