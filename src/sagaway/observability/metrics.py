"""Prometheus metrics of an engine: what it started, ended, retried and caught, how long its
Tasks and journal commits take, and what is open right now.

Counters and histograms are fed by the engine's observer hooks; the gauges (open executions
and where they wait, timers, leases, the longest silence) are read from the engine when
Prometheus scrapes. Labels are state machine names, state names, Task resources and final
statuses: all bounded by the definitions, never by the number of executions.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from sagaway.engine.observer import Dispatch, Observer
from sagaway.interpreter.execution import TASK, TIMER
from sagaway.interpreter.messages import InvokeTask
from sagaway.store.ports import StepRecord

if TYPE_CHECKING:
    from sagaway.engine.actor import ExecutionActor
    from sagaway.engine.engine import Engine

TASK_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
BATCH_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2000)
FAILURE_SUFFIXES = ("Failed", "TimedOut", "Aborted")
ENDINGS = {"ExecutionSucceeded": "SUCCEEDED", "ExecutionFailed": "FAILED",
           "ExecutionAborted": "ABORTED", "ExecutionTimedOut": "TIMED_OUT"}  # fmt: skip


class EngineMetrics(Observer):
    """The engine's metrics in ``registry`` (served at ``/metrics``)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.started = Counter("sagaway_executions_started", "Executions started",
                               ["state_machine"], registry=registry)  # fmt: skip
        self.ended = Counter("sagaway_executions_ended", "Executions ended, by final status",
                             ["state_machine", "status"], registry=registry)  # fmt: skip
        self.transitions = Counter("sagaway_state_transitions", "States entered",
                                   ["state_machine", "state"], registry=registry)  # fmt: skip
        self.retries = Counter("sagaway_task_retries", "Task attempts after the first",
                               ["state_machine", "state"], registry=registry)  # fmt: skip
        self.catches = Counter("sagaway_catches", "Failures handled by a Catch",
                               ["state_machine", "state"], registry=registry)  # fmt: skip
        self.task_seconds = Histogram(
            "sagaway_task_duration_seconds", "Task attempt duration, by resource and outcome",
            ["resource", "outcome"], buckets=TASK_BUCKETS, registry=registry)  # fmt: skip
        self.commit_seconds = Histogram(
            "sagaway_journal_commit_duration_seconds", "Journal group commit latency",
            buckets=COMMIT_BUCKETS, registry=registry)  # fmt: skip
        self.batch_steps = Histogram(
            "sagaway_journal_commit_batch_steps", "Step records per journal group commit",
            buckets=BATCH_BUCKETS, registry=registry)  # fmt: skip
        self._tasks: dict[tuple[str, str], tuple[float, str]] = {}
        self._last_step: dict[str, float] = {}  # arn -> when its last step was committed

    def attached(self, engine: Engine) -> None:
        self.registry.register(EngineGauges(engine, self._last_step))

    def execution_started(self, actor: ExecutionActor, events: Sequence[dict[str, Any]]) -> None:
        self._last_step[actor.arn] = time.time()
        if events:
            self._count(actor.state.state_machine["Name"], events)

    def steps_committed(self, actor: ExecutionActor, records: Sequence[StepRecord]) -> None:
        self._last_step[actor.arn] = time.time()
        machine = actor.state.state_machine["Name"]
        for record in records:
            self._count(machine, record.events)

    def execution_ended(self, actor: ExecutionActor) -> None:
        self._last_step.pop(actor.arn, None)

    def _count(self, machine: str, events: Sequence[dict[str, Any]]) -> None:
        failures: set[int] = set()
        for event in events:
            kind: str = event["type"]
            if kind.endswith("StateEntered"):
                self.transitions.labels(machine, _state_name(event)).inc()
            elif kind.endswith("StateExited") and event["previousEventId"] in failures:
                self.catches.labels(machine, _state_name(event)).inc()
            elif kind == "ExecutionStarted":
                self.started.labels(machine).inc()
            elif kind in ENDINGS:
                self.ended.labels(machine, ENDINGS[kind]).inc()
            elif kind.endswith(FAILURE_SUFFIXES):
                failures.add(event["id"])

    def dispatch_task(self, actor: ExecutionActor, command: InvokeTask, dispatch: Dispatch) -> None:
        retry = _retry_count(command)
        if retry:
            self.retries.labels(actor.state.state_machine["Name"], command.state_name).inc()
        self._tasks[(actor.arn, command.token)] = (time.perf_counter(), command.resource)
        dispatch(actor.arn, command)

    def task_ended(self, arn: str, token: str, outcome: str) -> None:
        started = self._tasks.pop((arn, token), None)
        if started is not None:
            seconds = time.perf_counter() - started[0]
            self.task_seconds.labels(started[1], outcome).observe(seconds)

    def batch_committed(self, steps: int, seconds: float) -> None:
        # On the committer's thread: prometheus_client's metrics take their own locks.
        self.commit_seconds.observe(seconds)
        self.batch_steps.observe(steps)


class EngineGauges(Collector):
    """What is open in the engine right now, read at scrape time."""

    def __init__(self, engine: Engine, last_step: dict[str, float]) -> None:
        self.engine = engine
        self.last_step = last_step

    def collect(self) -> Iterator[GaugeMetricFamily]:
        actors = list(self.engine.actors.values())
        now = time.time()
        open_ = GaugeMetricFamily("sagaway_executions_open", "Executions running here",
                                  labels=["state_machine"])  # fmt: skip
        waiting = GaugeMetricFamily(
            "sagaway_executions_waiting", "Open executions by the state they wait in "
            "(a Task's answer, a Wait or a retry interval)", labels=["state_machine", "state"])  # fmt: skip  # noqa: E501
        idle = GaugeMetricFamily(
            "sagaway_execution_idle_seconds_max",
            "The longest time an open execution has gone without a state transition",
            labels=["state_machine"])  # fmt: skip
        counts: dict[str, int] = {}
        where: dict[tuple[str, str], int] = {}
        quiet: dict[str, float] = {}
        for actor in actors:
            machine = actor.state.state_machine["Name"]
            counts[machine] = counts.get(machine, 0) + 1
            for frame in list(actor.state.frames.values()):
                if frame.phase in (TASK, TIMER):
                    where[(machine, frame.state)] = where.get((machine, frame.state), 0) + 1
            last = self.last_step.get(actor.arn)
            if last is not None:
                quiet[machine] = max(quiet.get(machine, 0.0), now - last)
        for machine, n in counts.items():
            open_.add_metric([machine], n)
            idle.add_metric([machine], quiet.get(machine, 0.0))
        for (machine, state), n in where.items():
            waiting.add_metric([machine, state], n)
        yield open_
        yield waiting
        yield idle
        yield GaugeMetricFamily("sagaway_timers_pending", "Durable timers armed here",
                                value=len(self.engine.timers))  # fmt: skip
        leases = len(actors) if self.engine.cluster is not None else 0
        yield GaugeMetricFamily("sagaway_leases_held", "Executions this cluster member "
                                "holds a lease on", value=leases)  # fmt: skip


def _state_name(event: dict[str, Any]) -> str:
    details = event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails")
    return str(details.get("name", "")) if isinstance(details, dict) else ""


def _retry_count(command: InvokeTask) -> int:
    context = command.context
    if isinstance(context, dict):
        return int(context.get("State", {}).get("RetryCount", 0))
    return 0
