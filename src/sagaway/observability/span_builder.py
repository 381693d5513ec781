"""State spans built from the history: one span per state entered, per Parallel branch and
per Map iteration (their states hang under them), with the times of the history events, so
they agree with GetExecutionHistory.

The engine's hooks (:mod:`sagaway.observability.tracing`) only forward what they see (an
execution starting, each committed step's history events as the journal encoded them, the
end) as messages; this builder turns them into span records. It runs wherever the spans
go: in the exporter process for the server (so that following the history through its
frames costs the engine nothing), or in-process beside an SDK tracer provider. A Task
attempt's span is the engine's own (it must be current while the handler runs); its parent,
the state's span, has an id both sides derive from the state's entered event
(:func:`state_span_id`).

Marks: ``sagaway.caught`` (the error a Catch handled) on the state that failed,
``sagaway.compensation`` on the states run after a caught failure (the unwinding path),
``sagaway.resumed`` on spans of states entered before a restart.

Only the standard library, orjson and span_runs are imported here: the exporter process
imports this module without the rest of the package (see span_export.py).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import orjson

from sagaway.observability.span_runs import (  # fmt: skip
    ABORT,
    ACTIONS,
    DONE,
    END,
    ENTER,
    EVENTS,
    EXIT,
    FAIL,
    FORGET,
    FORK,
    ITERATION,
    ITERATION_END,
    OTHER,
    REDRIVE,
    SCHEDULED,
    SPAN,
    START,
    Open,
    Resumed,
    Run,
    SpanRecord,
    attempt_span_id,
    classify,
    state_marks,
    state_span_id,
    up,
)  # fmt: skip

_INTERNAL, _CLIENT = 0, 2  # SpanKind.INTERNAL's and SpanKind.CLIENT's values
_ERROR = 2  # StatusCode.ERROR's value
# Branch and iteration span ids: unique, not secret (the SDK's are random.getrandbits too).
_ids = random.Random()


class SpanBuilder:
    """Turns the engine's tracing messages (span_runs: SPAN, START, EVENTS, END) into span
    records handed to ``emit``."""

    def __init__(self, emit: Callable[[SpanRecord], None]) -> None:
        self.emit = emit
        self._runs: dict[str, Run] = {}

    def handle(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == SPAN:
            self.emit(message[1])
        elif kind == EVENTS:
            run = self._runs.get(message[1])
            if run is not None:
                events = message[2]
                self._apply(run, orjson.loads(events) if isinstance(events, bytes) else events)
        elif kind == START:
            self._start(*message[1:])
        elif kind == END:
            self._end_run(message[1], message[2])
        elif kind == FORGET:
            self._runs.pop(message[1], None)

    def _start(
        self,
        arn: str,
        trace_id: int,
        span_id: int,
        common: dict[str, Any],
        resumed: Sequence[Resumed] | None,
        events: Sequence[dict[str, Any]],
    ) -> None:
        run = self._runs[arn] = Run(trace_id, span_id, common)
        if events:
            self._apply(run, events)
        elif resumed:
            self._resume(run, resumed)

    def _end_run(self, arn: str, end: int) -> None:
        run = self._runs.pop(arn, None)
        if run is None:
            return
        for attempt in run.attempts.values():
            self._end(run, attempt, end)
        for children in run.children.values():
            for child in children.values():
                self._end(run, child, end)
        for span in run.open.values():
            self._end(run, span, end)

    def _resume(self, run: Run, frames: Sequence[Resumed]) -> None:
        """Spans of the states the execution was in when it was last journaled."""
        for entered, state, at, last, outer, kind, index, own, fanout, retries in frames:
            scope = run.span_id
            if outer and outer in run.open:
                # In a branch or iteration of the Map or Parallel its parent frame is in: a
                # span for that branch or iteration, under the state's (as when it started).
                scope = self._resumed_child(run, outer, kind, index, at)
            self._enter(run, entered, state, "", at, scope, True)
            run.chain[last] = (scope, entered)
            if own:
                run.current = entered
            if fanout:
                run.fanouts.add(entered)
            # The attempt under way is re-issued by the engine, which traces it (it has no
            # new Scheduled event); the ones after it are this builder's.
            run.retries[entered] = retries + 1

    def _resumed_child(self, run: Run, outer: int, kind: str, index: int, at: float) -> int:
        """The span of a branch or iteration after a resume: made once for all its states,
        kept with the state's other children (a Map iteration's end and the state's exit
        end it) and marked resumed."""
        children = run.children.setdefault(outer, {})
        span = children.get(index)
        if span is None:
            state = run.open[outer]
            more = ((f"sagaway.{kind}.index", index), ("sagaway.resumed", True))
            span = Open(f"{state.name} {kind} {index}", _span_id(), state.span_id,
                        _INTERNAL, _nanos(at), more)  # fmt: skip
            children[index] = span
            run.nested[span.span_id] = (state.parent_id, outer)
        return span.span_id

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
            elif action == SCHEDULED:
                self._attempt(run, owner, event)
            elif action == DONE:
                self._attempt_end(run, owner, _nanos(event["timestamp"]), "TaskSucceeded")
            elif action == FAIL:
                failures[event_id] = str(_details(event).get("error", kind))
                if owner in run.attempts:
                    outcome = "TaskTimedOut" if kind.endswith("TimedOut") else "TaskFailed"
                    self._attempt_end(run, owner, _nanos(event["timestamp"]), outcome)
            elif action == REDRIVE:
                run.compensating = False
            if run.fanouts:
                chain[event_id] = (scope, owner)
            else:
                run.current = owner

    def _enter(self, run: Run, entered: int, name: str, kind: str, at: float, parent: int,
               resumed: bool = False) -> None:  # fmt: skip
        more = state_marks(kind, run.compensating, resumed)
        run.open[entered] = Open(name, state_span_id(run.span_id, entered), parent, _INTERNAL,
                                 int(at * 1e9), more)  # fmt: skip

    def _exit(self, run: Run, entered: int, end: int, caught: str | None,
              aborted: str = "") -> None:  # fmt: skip
        span = run.open.pop(entered, None)
        if span is None:
            return
        run.retries.pop(entered, None)
        if entered in run.attempts:  # an attempt the state's end cut short (an abort)
            self._attempt_end(run, entered, end, "CancelTask")
        children = run.children.pop(entered, None) if run.children else None
        for child in children.values() if children else ():  # branches, iterations
            self._end(run, child, end)
        if caught is not None:
            span.more += (("sagaway.caught", caught),)
            run.compensating = True
        self._end(run, span, end, aborted)

    def _attempt(self, run: Run, owner: int, event: dict[str, Any]) -> None:
        """A Task attempt starts (its Scheduled event): its span, under its state's, with
        the id the engine gave the handler's context (span_runs.attempt_span_id)."""
        state = run.open.get(owner)
        if state is None:
            return
        retry = run.retries.get(owner, 0)
        run.retries[owner] = retry + 1
        span_id = attempt_span_id(run.span_id, owner, retry)
        marks = attempt_marks(_resource(event), retry)
        run.attempts[owner] = Open(attempt_name(state.name), span_id, state.span_id, _CLIENT,
                                   _nanos(event["timestamp"]), marks)  # fmt: skip

    def _attempt_end(self, run: Run, owner: int, end: int, outcome: str) -> None:
        span = run.attempts.pop(owner, None)
        if span is not None:
            span.more = with_outcome(span.more, outcome)
            self._end(run, span, end, "" if outcome == "TaskSucceeded" else outcome)

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
        span = run.children.get(owner, {}).pop(_details(event).get("index"), None)
        if span is not None:
            failed = "" if kind == "MapIterationSucceeded" else kind
            self._end(run, span, _nanos(event["timestamp"]), failed)

    def _end(self, run: Run, span: Open, end: int, error: str = "") -> None:
        code = _ERROR if error else 0
        self.emit((span.name, run.trace_id, span.span_id, span.parent_id, False, span.kind,
                   span.start, end, run.common, span.more, code, error))  # fmt: skip


def _resource(event: dict[str, Any]) -> str:
    """The Task's resource as its state names it, from its Scheduled event."""
    details = _details(event)
    resource = str(details.get("resource", ""))
    kind = details.get("resourceType")
    return f"arn:aws:states:::{kind}:{resource}" if kind else resource


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


def attempt_name(state: str) -> str:
    return _ATTEMPT_NAMES.get(state) or _remember(_ATTEMPT_NAMES, state, f"{state} attempt")


def attempt_marks(resource: str, retry_count: int) -> tuple[tuple[str, Any], ...]:
    key = (resource, retry_count)
    return _ATTEMPT_MARKS.get(key) or _remember(
        _ATTEMPT_MARKS, key, (("sagaway.resource", resource), ("sagaway.retry_count", retry_count))
    )


def with_outcome(more: tuple[tuple[str, Any], ...], outcome: str) -> tuple[tuple[str, Any], ...]:
    key = (more, outcome)
    return _OUTCOME_MARKS.get(key) or _remember(
        _OUTCOME_MARKS, key, (*more, ("sagaway.outcome", outcome))
    )


def _remember(cache: dict[_K, _V], key: _K, value: _V) -> _V:
    """``value``, kept in ``cache`` under ``key`` while the cache is under its bound."""
    if len(cache) < _CACHED:
        cache[key] = value
    return value


def _details(event: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = next((v for k, v in event.items() if k.endswith("Details")), {})
    return found


def _nanos(epoch: float) -> int:
    return int(epoch * 1e9)


def _span_id() -> int:
    return _ids.getrandbits(64) or 1
