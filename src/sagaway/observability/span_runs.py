"""What :mod:`sagaway.observability.tracing` keeps of an execution while it runs (its open
spans, and how its history events thread through its frames), and what each history event
type means to the spans.

A frame (the execution, a Parallel branch, a Map iteration) is followed through the
``previousEventId`` of its events. A child frame's first event points at the event that
started it (``ParallelStateStarted``, ``MapIterationStarted``); the Map's or Parallel's own
events after its children point at a child's last event, so they are walked back out
(:func:`up`) to the frame that is in the Map or Parallel state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opentelemetry.trace import TraceFlags as Flags

FAILURES = ("Failed", "TimedOut", "Aborted")
ENDINGS = ("ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut")
# What a history event means to the spans, by its type (see classify).
OTHER, ENTER, EXIT, ABORT, FAIL, REDRIVE, FORK, ITERATION, ITERATION_END = range(9)


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
    """What this process traces of one execution. Spans of states are keyed by the id of
    their ``*StateEntered`` event; ``chain`` follows each frame (the execution, a Parallel
    branch, a Map iteration) through ``previousEventId``: event id -> (the span its states
    hang under, the entered event id of the state it is in, 0 between states). Until a Map
    or Parallel state is entered there is one frame, and ``current`` is enough."""

    trace_id: int
    span_id: int  # the execution span's (journaled)
    flags: Flags
    caller: tuple[int, bool]  # the parent span id (0 for a root), and whether it is remote
    attributes: dict[str, Any]  # the execution span's
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
    attempts: dict[str, Open] = field(default_factory=dict)
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


_ACTIONS: dict[str, tuple[int, str, bool]] = {}
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
