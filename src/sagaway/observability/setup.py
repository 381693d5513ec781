"""The observer a server or worker gives its engine: metrics always, traces when the
standard OpenTelemetry environment variables ask for them."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from sagaway.engine.observer import Observer, Observers
from sagaway.observability.metrics import EngineMetrics


def engine_observer(registry: CollectorRegistry) -> Observer:
    return Observers(EngineMetrics(registry))
