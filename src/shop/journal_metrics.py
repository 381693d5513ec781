"""Per-step latency and errors for the intake's ``/metrics``, read from the engine's journal:
each Task attempt is a Scheduled event followed by a Succeeded, Failed or TimedOut one, with
timestamps. The journal outlives the engine process, so these survive its crash (metrics kept
in the worker's memory would restart from zero). Only ended executions are counted, each
once: their histories no longer change, so the totals only grow, as Prometheus expects."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from sagaway import Journal

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_SCHEDULED = ("TaskScheduled", "LambdaFunctionScheduled")
_ENDED = {"TaskSucceeded": None, "LambdaFunctionSucceeded": None, "TaskFailed": "failed",
          "LambdaFunctionFailed": "failed", "TaskTimedOut": "timeout",
          "LambdaFunctionTimedOut": "timeout"}  # fmt: skip


class StepHistoryCollector(Collector):
    def __init__(self, journal: Journal, state_machine_arn: str) -> None:
        self.journal = journal
        self.state_machine_arn = state_machine_arn
        self._seen: set[str] = set()
        self._durations: dict[str, list[float]] = defaultdict(list)
        self._errors: dict[tuple[str, str], int] = defaultdict(int)
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Any]:
        with self._lock:
            self._catch_up()
            latency = HistogramMetricFamily(
                "shop_step_latency_seconds", "Saga step attempt latency", labels=["step"]
            )
            for step, values in sorted(self._durations.items()):
                buckets = [(str(b), float(sum(v <= b for v in values))) for b in BUCKETS]
                buckets.append(("+Inf", float(len(values))))
                latency.add_metric([step], buckets, sum_value=sum(values))
            errors = CounterMetricFamily(
                "shop_step_errors", "Saga step attempts that failed", labels=["step", "error"]
            )
            for (step, error), n in sorted(self._errors.items()):
                errors.add_metric([step, error], float(n))
        yield latency
        yield errors

    def _catch_up(self) -> None:
        for record in self.journal.list_executions(self.state_machine_arn, limit=1_000_000):
            if record.arn in self._seen or record.status == "RUNNING":
                continue
            self._count(self.journal.history(record.arn))
            self._seen.add(record.arn)

    def _count(self, events: list[dict[str, Any]]) -> None:
        step, started = "", None
        for event in events:
            kind = event.get("type", "")
            if kind == "TaskStateEntered":
                step = event["stateEnteredEventDetails"]["name"]
            elif kind in _SCHEDULED:
                started = float(event["timestamp"])
            elif kind in _ENDED and started is not None:
                self._durations[step].append(float(event["timestamp"]) - started)
                if _ENDED[kind] is not None:
                    details: dict[str, Any] = next(
                        (v for k, v in event.items() if k.endswith("EventDetails")), {}
                    )
                    self._errors[(step, str(details.get("error") or _ENDED[kind]))] += 1
                started = None
