"""What the engine tells an observer (metrics, tracing), at a few clear points.

The engine calls these methods unconditionally; the base class does nothing, so an engine
without an observer pays one method call per actor cycle, task attempt and commit batch.
Every method runs on the event loop except ``batch_committed`` (the committer's thread).
Observers read what they are given and must not raise: a broken exporter must not stop
executions (the engine does not guard these calls, to keep the hot path bare).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sagaway.interpreter.messages import InvokeTask
from sagaway.store.ports import StepRecord

if TYPE_CHECKING:
    from sagaway.engine.actor import ExecutionActor
    from sagaway.engine.engine import Engine

Dispatch = Callable[[str, InvokeTask], None]


class Observer:
    """The no-op observer; subclasses override what they need."""

    def attached(self, engine: Engine) -> None:
        """The engine this observer watches (for figures read at scrape time)."""

    def execution_trace(self, arn: str, parent: str) -> dict[str, str]:
        """The trace context journaled with a new execution; ``parent`` is the caller's
        W3C traceparent ("" when none). Kept as given when nothing traces, so a later
        process that traces continues the caller's trace."""
        return {"traceparent": parent} if parent else {}

    def execution_started(self, actor: ExecutionActor, events: Sequence[dict[str, Any]]) -> None:
        """``actor`` runs here from now on: a new execution (``events``: the history of
        its first step), a redriven one (the redrive step's), or one resumed from the
        journal (no events)."""

    def steps_committed(self, actor: ExecutionActor, records: Sequence[StepRecord]) -> None:
        """``records`` are durable (EXPRESS: applied); their commands are about to run."""

    def execution_ended(self, actor: ExecutionActor) -> None:
        """``actor``'s execution reached a final status here."""

    def execution_detached(self, actor: ExecutionActor) -> None:
        """``actor``'s execution no longer runs here, unfinished (another worker took it
        over, or the journal failed and it is resumed later): what was kept of it can go."""

    def dispatch_task(self, actor: ExecutionActor, command: InvokeTask, dispatch: Dispatch) -> None:
        """Start one task attempt by calling ``dispatch``; a tracer makes the attempt's span
        current around the call so the handler's own calls join the trace."""
        dispatch(actor.arn, command)

    def task_ended(self, arn: str, token: str, outcome: str) -> None:
        """The attempt ``token`` answered (``outcome`` is the event class name) or was
        cancelled ("CancelTask")."""

    def batch_committed(self, steps: int, seconds: float) -> None:
        """The group committer wrote ``steps`` step records in one transaction."""


NO_OBSERVER = Observer()


class Observers(Observer):
    """Several observers as one (metrics and tracing together)."""

    def __init__(self, *observers: Observer) -> None:
        self.observers = observers

    def attached(self, engine: Engine) -> None:
        for observer in self.observers:
            observer.attached(engine)

    def execution_trace(self, arn: str, parent: str) -> dict[str, str]:
        trace = {"traceparent": parent} if parent else {}
        for observer in self.observers:
            if type(observer).execution_trace is not Observer.execution_trace:
                trace = observer.execution_trace(arn, parent)
        return trace

    def execution_started(self, actor: ExecutionActor, events: Sequence[dict[str, Any]]) -> None:
        for observer in self.observers:
            observer.execution_started(actor, events)

    def steps_committed(self, actor: ExecutionActor, records: Sequence[StepRecord]) -> None:
        for observer in self.observers:
            observer.steps_committed(actor, records)

    def execution_ended(self, actor: ExecutionActor) -> None:
        for observer in self.observers:
            observer.execution_ended(actor)

    def execution_detached(self, actor: ExecutionActor) -> None:
        for observer in self.observers:
            observer.execution_detached(actor)

    def dispatch_task(self, actor: ExecutionActor, command: InvokeTask, dispatch: Dispatch) -> None:
        def chain(index: int) -> Dispatch:
            if index == len(self.observers):
                return dispatch
            observer = self.observers[index]
            return lambda arn, cmd: observer.dispatch_task(actor, cmd, chain(index + 1))

        chain(0)(actor.arn, command)

    def task_ended(self, arn: str, token: str, outcome: str) -> None:
        for observer in self.observers:
            observer.task_ended(arn, token, outcome)

    def batch_committed(self, steps: int, seconds: float) -> None:
        for observer in self.observers:
            observer.batch_committed(steps, seconds)
