"""Metrics (Prometheus) and traces (OpenTelemetry) of the engine, as engine observers."""

from sagaway.observability.metrics import EngineMetrics as EngineMetrics
from sagaway.observability.setup import engine_observer as engine_observer
