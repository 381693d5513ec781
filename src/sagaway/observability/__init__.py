"""Metrics (Prometheus) and traces (OpenTelemetry) of the engine, as engine observers.

Import what you need from the modules (``setup.engine_observer``, ``metrics``, ``tracing``,
``context``): messaging imports ``context`` alone, without the SDK."""
