"""Turning tracing on and off with the standard OTEL_* variables, and refusing bad ones
with a one-line reason (exit 2) before a server starts."""

from __future__ import annotations

import pytest

from sagaway.observability.setup import (
    TracingConfigError,
    business_keys_from_env,
    tracer_provider_from_env,
    tracing_wanted,
)
from tests.cli.cli_kit import sagaway


def test_tracing_is_off_unless_the_environment_asks() -> None:
    assert not tracing_wanted({})
    assert tracing_wanted({"OTEL_TRACES_EXPORTER": "otlp"})
    assert tracing_wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert not tracing_wanted({"OTEL_TRACES_EXPORTER": "none",
                               "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})  # fmt: skip
    assert not tracing_wanted({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"})


def test_business_keys_are_json_paths_per_state_machine() -> None:
    assert business_keys_from_env({"SAGAWAY_TRACE_KEYS": '{"OrderSaga": "$.orderId"}'}) == {
        "OrderSaga": "$.orderId"}  # fmt: skip
    with pytest.raises(TracingConfigError, match=r"SAGAWAY_TRACE_KEYS\[OrderSaga\]"):
        business_keys_from_env({"SAGAWAY_TRACE_KEYS": '{"OrderSaga": "orderId"}'})


def test_unusable_exporters_are_refused() -> None:
    with pytest.raises(TracingConfigError, match=r"^OTEL_EXPORTER_OTLP_PROTOCOL=http/json: use"):
        tracer_provider_from_env({"OTEL_TRACES_EXPORTER": "otlp",
                                  "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"})  # fmt: skip


def test_serve_refuses_bad_tracing_settings_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    done = sagaway("serve", "--port", "1")
    assert done.code == 2
    assert done.err.strip() == "error: OTEL_TRACES_EXPORTER=zipkin: use otlp, console or none"
