"""What :mod:`sagaway.observability.span_builder` keeps of an execution while it runs (its
open spans, and how its history events thread through its frames), what each history event
type means to the spans, and what the builder and the engine's tracing hooks share: the span
record, the messages between them and the derived ids of state spans.

A frame (the execution, a Parallel branch, a Map iteration) is followed through the
``previousEventId`` of its events. A child frame's first event points at the event that
started it (``ParallelStateStarted``, ``MapIterationStarted``); the Map's or Parallel's own
events after its children point at a child's last event, so they are walked back out
(:func:`up`) to the frame that is in the Map or Parallel state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# This file only imports the standard library: the exporter process imports it as a script's
# sibling, without the sagaway package (see span_export.py).

# A finished span: (name, trace_id, span_id, parent span id (0: a root), parent is remote,
# SpanKind value, start ns, end ns, attributes, more attributes, status: 0 unset / 2 error,
# description). The attributes dict is shared by every span of an execution and never
# changed once recorded (marshal then writes it once a batch, the encoder encodes it once a
# request); a span's own attributes come after it as (key, value) pairs, often shared
# constants.
SpanRecord = tuple[
    str, int, int, int, bool, int, int, int, dict[str, Any], tuple[tuple[str, Any], ...], int, str
]

# What the engine's hooks (sagaway.observability.tracing) send the span builder, as tuples
# that marshal writes (their first item says which):
# (SPAN, record): a finished span (a Task attempt's, an execution's);
# (START, arn, trace id, execution span id, common attributes, resumed frames or None,
#  events): an execution runs here from now on (events: its first step's, if new);
# (EVENTS, arn, events): a committed step's history events, as a list or as the JSON the
#  journal wrote (store.rows.history_rows);
# (END, arn, end ns): the execution ended here; its states' spans end with it;
# (FORGET, arn): it no longer runs here, unfinished: its open spans are dropped (the process
#  that goes on with it makes its own, as after a crash);
# (FLUSH,): say when everything sent before it is exported (the exporter process answers on
#  its signal pipe; it never reaches the span builder).
SPAN, START, EVENTS, END, FORGET, FLUSH = range(6)
# A frame an execution was in when it was resumed here, oldest frames first: (its state's
# entered event id, state name, entered at (epoch s), the frame's last event id, the entered
# event id of the Map or Parallel state it runs in (0: none), "iteration" or "branch", its
# index, whether it is the execution's own frame, whether it is in a Map or Parallel state,
# its retry count).
Resumed = tuple[int, str, float, int, int, str, int, bool, bool, int]

_MASK = (1 << 64) - 1


def state_span_id(execution_span_id: int, entered_id: int) -> int:
    """The span id of the state entered at event ``entered_id``: derived, so that the engine
    (a Task attempt's parent) and the span builder (the state's span) agree without telling
    each other. A bijection of ``entered_id`` for a given execution span (splitmix64's
    finalizer): no two states of an execution share an id."""
    x = (execution_span_id ^ (entered_id * 0x9E3779B97F4A7C15)) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return (x ^ (x >> 31)) or 1


def attempt_span_id(execution_span_id: int, entered_id: int, retry_count: int) -> int:
    """The span id of attempt ``retry_count`` (0: the first) of the Task state entered at
    event ``entered_id``: derived as the state's is, from values no state's id is derived
    from (the top bit set; retry counts past 2**27 share one id), so the handler's context
    (made by the engine) and the attempt's span (built from the history) agree."""
    key = (1 << 63) | (entered_id << 27) | min(retry_count, (1 << 27) - 1)
    return state_span_id(execution_span_id, key)


FAILURES = ("Failed", "TimedOut", "Aborted")
ENDINGS = ("ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut")
# What a history event means to the spans, by its type (see classify).
OTHER, ENTER, EXIT, ABORT, FAIL, REDRIVE, FORK, ITERATION, ITERATION_END, SCHEDULED, DONE = range(
    11
)
_TASKS = ("LambdaFunction", "Task", "Activity")  # how the event types of Task attempts start


@dataclass(slots=True)
class Open:
    """A span between its start and its end."""

    name: str
    span_id: int
    parent_id: int
    kind: int
    start: int
    # the span's own attributes, after its execution's (Run.common): (key, value) pairs
    more: tuple[tuple[str, Any], ...]


@dataclass(slots=True)
class Run:
    """What the span builder keeps of one execution. Spans of states are keyed by the id of
    their ``*StateEntered`` event; ``chain`` follows each frame (the execution, a Parallel
    branch, a Map iteration) through ``previousEventId``: event id -> (the span its states
    hang under, the entered event id of the state it is in, 0 between states). Until a Map
    or Parallel state is entered there is one frame, and ``current`` is enough."""

    trace_id: int
    span_id: int  # the execution span's (journaled)
    common: dict[str, Any]  # every span's
    open: dict[int, Open] = field(default_factory=dict)
    current: int = 0  # the state the execution's own frame is in, while it is the only one
    chain: dict[int, tuple[int, int]] = field(default_factory=dict)
    # Map/Parallel event id -> the span the next state entered after it hangs under (an
    # iteration's), or 0: a new branch span (ParallelStateStarted)
    forks: dict[int, int] = field(default_factory=dict)
    # a branch's or iteration's span id -> (scope, owner) of its Map or Parallel state
    nested: dict[int, tuple[int, int]] = field(default_factory=dict)
    fanouts: set[int] = field(default_factory=set)  # entered ids of Map and Parallel states
    children: dict[int, dict[Any, Open]] = field(default_factory=dict)  # branches, iterations
    attempts: dict[int, Open] = field(default_factory=dict)  # entered id -> its attempt
    retries: dict[int, int] = field(default_factory=dict)  # entered id -> attempts so far
    compensating: bool = False


def classify(kind: str) -> tuple[int, str, bool]:
    """What an event type means to the spans, the state type of a StateEntered, and whether
    it is a Map's or Parallel's own event (it may follow a child's event); worked out once
    per type: the types are the history's, a bounded set."""
    outer = kind.startswith(("Map", "Parallel"))
    if kind.endswith("StateEntered"):
        found = (ENTER, kind[: -len("StateEntered")], False)
    elif kind.endswith("StateExited"):
        found = (EXIT, "", False)
    elif kind.endswith("StateAborted"):
        found = (ABORT, "", outer)
    elif kind == "ParallelStateStarted":
        found = (FORK, "", outer)
    elif kind == "MapIterationStarted":
        found = (ITERATION, "", outer)
    elif kind.startswith("MapIteration"):
        found = (ITERATION_END, "", outer)
    elif kind == "ExecutionRedriven":
        found = (REDRIVE, "", False)
    elif kind.startswith(_TASKS) and kind.endswith("Scheduled"):
        found = (SCHEDULED, "", False)
    elif kind.startswith(_TASKS) and kind.endswith("Succeeded"):
        found = (DONE, "", False)
    elif kind.endswith(FAILURES) and kind not in ENDINGS:
        found = (FAIL, "", outer)
    else:
        found = (OTHER, "", outer)
    ACTIONS[kind] = found
    return found


def up(run: Run, scope: int, owner: int, name: str = "") -> tuple[int, int]:
    """From a child frame's (scope, owner) out to the frame that is in a Map or Parallel
    state (named ``name`` when given)."""
    while scope in run.nested and not _found(run, owner, name):
        scope, owner = run.nested[scope]
    return scope, owner


def _found(run: Run, owner: int, name: str) -> bool:
    if not name:
        return owner in run.fanouts
    span = run.open.get(owner)
    return span is not None and span.name == name


ACTIONS: dict[str, tuple[int, str, bool]] = {}


_MARKS: dict[tuple[str, bool, bool], tuple[tuple[str, Any], ...]] = {}


def state_marks(kind: str, compensating: bool, resumed: bool) -> tuple[tuple[str, Any], ...]:
    """A state span's own attributes: one shared tuple for each combination (the state types
    are a bounded set), so a span adds no object of its own for them."""
    key = (kind, compensating, resumed)
    marks = _MARKS.get(key)
    if marks is None:
        pairs: list[tuple[str, Any]] = [("sagaway.state.type", kind)] if kind else []
        if compensating:
            pairs.append(("sagaway.compensation", True))
        if resumed:
            pairs.append(("sagaway.resumed", True))
        marks = _MARKS[key] = tuple(pairs)
    return marks
