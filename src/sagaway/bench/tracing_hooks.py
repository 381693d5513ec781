"""What tracing's hooks cost the engine, without the engine around them: record every call
the engine makes to its tracing observer during a short run (the actor's state copied at
each call), then replay the calls into a fresh :class:`Tracing` whose sink discards the
spans, many times, and keep the fastest replay.

On a machine shared with other work, process CPU per transition swings by tens of µs
between runs; the fastest of many replays of the same calls is the hooks' own cost, to a
fraction of a µs. It leaves out what a real run adds around them: the sending thread's
``marshal`` (about 1 µs a span) and colder caches.
"""

from __future__ import annotations

import copy
import gc
import time
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import TracerProvider

from sagaway.bench.runner import BenchConfig, run_workload
from sagaway.bench.workloads import Workload
from sagaway.engine import event_loop
from sagaway.engine.observer import Dispatch, Observer
from sagaway.interpreter.messages import InvokeTask
from sagaway.observability.span_builder import SpanBuilder
from sagaway.observability.span_export import SpanRecord
from sagaway.observability.tracing import Tracing
from sagaway.store.ports import StepRecord

Call = tuple[Any, ...]


class _Discard:
    """Takes the hooks' messages and drops them (the span builder's work is the exporter
    process's, not the engine's)."""

    def send(self, message: tuple[Any, ...]) -> None:
        pass


class _Count:
    """Builds the spans of the messages, to count them."""

    def __init__(self) -> None:
        self.spans = 0
        self._builder = SpanBuilder(self._count)

    def _count(self, span: SpanRecord) -> None:
        self.spans += 1

    def send(self, message: tuple[Any, ...]) -> None:
        self._builder.handle(message)


class _Recorder(Observer):
    """Traces as usual and keeps each call, with a copy of the actor as it was then."""

    def __init__(self) -> None:
        self.tracing = Tracing(TracerProvider(), sink=_Discard())
        self.calls: list[Call] = []

    @staticmethod
    def _copy(actor: Any) -> Any:
        return types.SimpleNamespace(
            arn=actor.arn, state=copy.deepcopy(actor.state), limits=actor.limits
        )

    def execution_trace(self, arn: str, parent: str) -> dict[str, str]:
        self.calls.append(("execution_trace", arn, parent))
        return self.tracing.execution_trace(arn, parent)

    def execution_started(self, actor: Any, events: Sequence[dict[str, Any]]) -> None:
        self.calls.append(("execution_started", self._copy(actor), list(events)))
        self.tracing.execution_started(actor, events)

    def steps_committed(self, actor: Any, records: Sequence[StepRecord]) -> None:
        self.calls.append(("steps_committed", self._copy(actor), list(records)))
        self.tracing.steps_committed(actor, records)

    def dispatch_task(self, actor: Any, command: InvokeTask, dispatch: Dispatch) -> None:
        self.calls.append(("dispatch_task", self._copy(actor), command))
        self.tracing.dispatch_task(actor, command, dispatch)

    def task_ended(self, arn: str, token: str, outcome: str) -> None:
        self.calls.append(("task_ended", arn, token, outcome))
        self.tracing.task_ended(arn, token, outcome)

    def execution_ended(self, actor: Any) -> None:
        self.calls.append(("execution_ended", self._copy(actor)))
        self.tracing.execution_ended(actor)


def _replay(tracing: Tracing, calls: list[Call]) -> None:
    def dispatch(arn: str, command: InvokeTask) -> None:
        pass

    for call in calls:
        hook = getattr(tracing, call[0])
        if call[0] == "dispatch_task":
            hook(call[1], call[2], dispatch)
        else:
            hook(*call[1:])


def hooks_cost(workload: Workload, tmp: Path, replays: int = 20) -> dict[str, float]:
    """µs of CPU per transition and per span of the hooks, fastest of ``replays``."""
    recorder = _Recorder()
    config = BenchConfig(50, 10, tmp / "hooks.db")
    run, _ = event_loop.run(run_workload(config, workload, observer=recorder))
    tracing = Tracing(TracerProvider(), sink=_Discard())
    best = float("inf")
    enabled = gc.isenabled()
    gc.disable()  # a collection inside one replay would say nothing about the hooks
    try:
        for _ in range(replays):
            started = time.process_time()
            _replay(tracing, recorder.calls)
            best = min(best, time.process_time() - started)
    finally:
        if enabled:
            gc.enable()
    counted = _Count()
    _replay(Tracing(TracerProvider(), sink=counted), recorder.calls)
    spans = counted.spans
    return {
        "hooks_us_per_transition": round(best * 1e6 / max(run.transitions, 1), 2),
        "hooks_us_per_span": round(best * 1e6 / max(spans, 1), 2),
    }
