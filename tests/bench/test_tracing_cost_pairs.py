"""The off/on pairs of ``bench --tracing-cost``: a drift in the machine's load between runs
does not show as a cost of tracing."""

from __future__ import annotations

import pytest

from sagaway.bench.tracing_cost import CostRun, exporter_env, order, paired
from sagaway.observability.span_export import fast_path_wanted, otlp_protocol


def run(tracing: bool, rate: float, cpu: float) -> CostRun:
    return CostRun(tracing, rate, cpu, 100)


def test_each_pair_of_neighbouring_runs_is_compared_on_its_own() -> None:
    assert order(3) == [False, True, True, False, False, True]
    # The machine gets twice as fast halfway through; within each pair, on is 5% slower.
    runs = [run(False, 100, 200), run(True, 95, 210),
            run(True, 190, 105), run(False, 200, 100),
            run(False, 200, 100), run(True, 190, 105)]  # fmt: skip
    assert paired(runs) == {
        "sagas_per_second_drop_percent": 5.0, "cpu_per_transition_rise_percent": 5.0,
    }  # fmt: skip


def test_the_exporter_sends_to_the_receiver_whatever_the_environment_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The receiver speaks OTLP/HTTP on its own port: an inherited gRPC protocol or endpoint
    # would send the spans elsewhere, and the run would count none.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://elsewhere:4317")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_on")
    env = exporter_env("http://127.0.0.1:4318")
    assert otlp_protocol(env) == "http/protobuf" and fast_path_wanted(env)
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4318"
    assert "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" not in env
    assert env["OTEL_TRACES_SAMPLER"] == "always_on"  # the rest is the process's own
