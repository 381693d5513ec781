"""The observer a server or worker gives its engine: metrics always, traces when the
standard OpenTelemetry environment variables ask for them (off by default).

Tracing is on when ``OTEL_TRACES_EXPORTER`` names an exporter (``otlp`` or ``console``) or
an OTLP endpoint is set (``OTEL_EXPORTER_OTLP_ENDPOINT``,
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``), unless ``OTEL_SDK_DISABLED=true``. The exporter,
its endpoint, headers and timeouts, the batch processor's delays and sizes, the service name
and resource attributes are all the SDK's own ``OTEL_*`` settings. ``SAGAWAY_TRACE_KEYS``
(a JSON object, state machine name -> JSONPath into the input) names the business key that
tags each execution's spans.

The engine's spans are exported by a child process (:mod:`sagaway.observability.span_export`)
with the exporter these variables name; the process's own provider, with the same exporter
in a batch processor, carries the spans of application code (handlers, the shop, the bus).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from prometheus_client import CollectorRegistry

from sagaway.engine.observer import Observer, Observers
from sagaway.expressions.jsonpath import compile_path
from sagaway.observability.metrics import EngineMetrics
from sagaway.observability.otlp_common import variables
from sagaway.observability.span_export import (
    ExporterProcess,
    default_resource,
    fast_path_wanted,
    span_exporter,
)
from sagaway.observability.tracing import Tracing


class TracingConfigError(ValueError):
    """An OTEL_* or SAGAWAY_TRACE_KEYS value this process cannot use."""


def tracing_wanted(env: Mapping[str, str] = os.environ) -> bool:
    if env.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none"
    return any(env.get(name) for name in variables("ENDPOINT"))


def tracer_provider_from_env(env: Mapping[str, str] = os.environ) -> TracerProvider | None:
    """A provider exporting in batches as the OTEL_* variables say, installed as the global
    one (so application code's spans join); None when tracing is off."""
    if not tracing_wanted(env):
        return None
    provider = TracerProvider(resource=default_resource())
    provider.add_span_processor(BatchSpanProcessor(_exporter(env)))
    trace.set_tracer_provider(provider)
    return provider


def _exporter(env: Mapping[str, str]) -> SpanExporter:
    try:
        fast_path_wanted(env)  # refuses a bad SAGAWAY_TRACE_EXPORT here, not in the child
        return span_exporter(env)
    except ValueError as exc:
        raise TracingConfigError(str(exc)) from exc


@functools.cache
def process_tracer_provider() -> TracerProvider | None:
    """The process's provider from the environment, made once: servers and the shop in one
    process share the global provider (OpenTelemetry allows setting it once)."""
    return tracer_provider_from_env()


@functools.cache
def process_span_sink() -> ExporterProcess:
    """The process's exporter process, shared by its engines: started now, with the server
    or worker (not with the first span: its start-up would share the cores with the first
    executions), not waited for (the first spans wait in its pipe)."""
    sink = ExporterProcess()
    sink.start()
    return sink


def business_keys_from_env(env: Mapping[str, str] = os.environ) -> dict[str, str]:
    text = env.get("SAGAWAY_TRACE_KEYS", "").strip()
    if not text:
        return {}
    try:
        keys = json.loads(text)
    except ValueError as exc:
        raise TracingConfigError(f"SAGAWAY_TRACE_KEYS is not JSON: {exc}") from exc
    if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
        raise TracingConfigError("SAGAWAY_TRACE_KEYS: a JSON object of name -> JSONPath")
    for name, path in keys.items():
        try:
            compile_path(path)
        except Exception as exc:
            raise TracingConfigError(f"SAGAWAY_TRACE_KEYS[{name}]: {exc}") from exc
    return keys


def engine_observer(registry: CollectorRegistry | None, tracing: Tracing | None = None) -> Observer:
    """Metrics into ``registry`` (None: no metrics) and ``tracing`` (default: from the
    environment); the no-op observer when neither."""
    if tracing is None:
        provider = process_tracer_provider()
        if provider is not None:
            tracing = Tracing(provider, business_keys_from_env(), process_span_sink())
    observers: list[Observer] = [] if registry is None else [EngineMetrics(registry)]
    if tracing is not None:
        observers.append(tracing)
    if len(observers) == 1:
        return observers[0]
    return Observers(*observers) if observers else Observer()
