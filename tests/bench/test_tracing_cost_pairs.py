"""The off/on pairs of ``bench --tracing-cost``: a drift in the machine's load between runs
does not show as a cost of tracing."""

from __future__ import annotations

import pytest

from sagaway.bench.tracing_cost import (
    CostRun,
    exporter_env,
    interval,
    order,
    paired,
    summary,
    verdict,
)
from sagaway.cli.bench_tracing import _runs_table, _summary
from sagaway.engine import event_loop
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
        "sagas_per_second_drop_percent": 5.0, "sagas_per_second_drop_interval": [5.0, 5.0],
        "cpu_per_transition_rise_percent": 5.0,
    }  # fmt: skip


def test_the_interval_of_the_median_widens_with_the_noise_between_pairs() -> None:
    steady = [7.0, 7.5, 6.5, 7.2, 6.8, 7.1, 6.9, 7.3]
    noisy = [7.0, 19.0, -5.0, 12.0, 1.0, 25.0, -10.0, 9.0]
    low, high = interval(steady)
    assert 6.5 <= low <= 7.05 <= high <= 7.5  # around the median, within the values
    wide_low, wide_high = interval(noisy)
    assert wide_high - wide_low > 5 * (high - low) and wide_low < 8 < wide_high
    assert interval(noisy) == [wide_low, wide_high]  # seeded: a report can be redone


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


def test_the_summary_gives_the_paired_median_with_its_interval() -> None:
    runs = [CostRun(False, 100, 200, 600, engine_us=150, writer_us=50),
            CostRun(True, 90, 220, 600, 7800, 20.0, 0.1, 165, 55, 40, 2),
            CostRun(True, 180, 110, 600, 7800, 20.0, 0.1, 82, 28, 20, 1),
            CostRun(False, 200, 100, 600, engine_us=75, writer_us=25)]  # fmt: skip
    body = {**summary(runs), "engine_hooks": {"hooks_us_per_transition": 5.0,
                                              "hooks_us_per_span": 2.3}}  # fmt: skip
    line = " ".join(_summary(body).split())
    assert "median sagas/s: off 150, on 135 (10.0% fewer)" in line
    assert "median: 10.0% fewer sagas/s (95% interval 10.0% to 10.0%)" in line
    assert "hooks, replayed: 5.0 µs per transition" in line
    # Both pairs dropped exactly 10%: not under the target, all of the interval at it
    assert body["target"] == {"max_drop_percent": 10.0, "verdict": "not met"}
    assert "target, under 10% fewer sagas/s: not met" in line
    assert body["event_loop"] == event_loop.choice()  # the loop it was measured on


def test_the_runs_table_names_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(event_loop.ENV, "asyncio")
    runs = [CostRun(False, 100, 200, 600, engine_us=150, writer_us=50),
            CostRun(True, 90, 220, 600, 7800, 20.0, 0.1, 165, 55, 40, 2)]  # fmt: skip
    body = {**summary(runs), "workload": "happy"}
    assert body["event_loop"] == "asyncio"
    assert "event loop: asyncio" in str(_runs_table(body).title)


@pytest.mark.parametrize(("interval", "found"), [
    ([4.9, 9.9], "met"), ([5.8, 10.7], "not settled"), ([10.0, 14.0], "not met"),
    ([-1.0, 3.0], "met"),
])  # fmt: skip
def test_the_target_is_settled_only_by_the_whole_interval(
    interval: list[float], found: str
) -> None:
    assert verdict(interval)["verdict"] == found
