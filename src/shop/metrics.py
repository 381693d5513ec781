"""Prometheus metrics: per-step latency and errors (measured where steps run), and the
figures read from the services' databases at scrape time (saga outcomes, DLQ depth per step,
submit-to-confirmed time), which stay right across a crash of the engine process."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

Handler = Callable[[Any, Any], Any]
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)


class StepMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.latency = Histogram("shop_step_duration_seconds", "Step handler latency",
                                 ["step"], registry=registry)  # fmt: skip
        self.errors = Counter("shop_step_errors", "Step invocations that raised",
                              ["step", "error"], registry=registry)  # fmt: skip

    def wrap(self, step: str, handler: Handler) -> Handler:
        def measured(event: Any, context: Any) -> Any:
            started = time.perf_counter()
            try:
                return handler(event, context)
            except Exception as exc:
                self.errors.labels(step, type(exc).__name__).inc()
                raise
            finally:
                self.latency.labels(step).observe(time.perf_counter() - started)

        return measured


class OrdersCollector(Collector):
    """Saga outcomes, DLQ depth and submit-to-confirmed time from the orders database."""

    def __init__(self, query: Callable[[str], list[tuple[Any, ...]]]) -> None:
        self.query = query

    def collect(self) -> Iterator[Any]:
        counts = dict(self.query("SELECT status, count(*) FROM orders GROUP BY status"))
        status = GaugeMetricFamily("shop_orders", "Orders by status", labels=["status"])
        for name, n in counts.items():
            status.add_metric([str(name)], float(n))
        yield status
        done = sum(counts.get(s, 0) for s in ("CONFIRMED", "CANCELLED_COMPENSATED", "NEEDS_REVIEW"))
        rates = GaugeMetricFamily("shop_saga_rate", "Share of finished sagas", labels=["outcome"])
        for outcome, key in (("success", "CONFIRMED"), ("compensation", "CANCELLED_COMPENSATED"),
                             ("review", "NEEDS_REVIEW")):  # fmt: skip
            rates.add_metric([outcome], counts.get(key, 0) / done if done else 0.0)
        yield rates
        depth = GaugeMetricFamily(
            "shop_dlq_depth", "Messages waiting per step DLQ", labels=["queue"]
        )
        for queue, n in self.query(
            "SELECT queue, count(*) FROM dead_letters WHERE redriven IS NULL GROUP BY queue"
        ):
            depth.add_metric([str(queue)], float(n))
        yield depth
        yield self._submit_to_confirmed()

    def _submit_to_confirmed(self) -> HistogramMetricFamily:
        rows = self.query(
            "SELECT confirmed - submitted FROM orders WHERE status = 'CONFIRMED' AND confirmed IS NOT NULL"  # noqa: E501
        )
        values = [float(r[0]) for r in rows]
        buckets = [(str(b), float(sum(v <= b for v in values))) for b in BUCKETS]
        buckets.append(("+Inf", float(len(values))))
        family = HistogramMetricFamily("shop_submit_to_confirmed_seconds",
                                       "Time from intake to CONFIRMED")  # fmt: skip
        family.add_metric([], buckets, sum_value=sum(values))
        return family
