"""Report arithmetic: percentiles, per-step overhead parts, rates and peer ratios."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sagaway.bench.report import build, overhead, percentile, workload_report
from sagaway.bench.runner import BenchConfig, WorkloadRun
from sagaway.bench.workloads import HAPPY
from sagaway.engine.actor import StepTiming


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) == 0.0


def test_overhead_splits_a_step_into_its_parts() -> None:
    # received 0, started 1 ms, interpreted 1.2 ms, committed 5 ms, dispatched 5.1 ms
    timing = StepTiming("arn", 1, 0.0, 0.001, 0.0012, 0.005, 0.0051)
    parts = overhead([timing])
    assert parts["step_latency"]["p50_ms"] == 5.1
    assert parts["event_loop_wait"]["p50_ms"] == 1.0
    assert parts["journal_commit_wait"]["p50_ms"] == 3.8
    assert parts["engine_cpu_per_step"]["p50_ms"] == 0.3


def test_rates_and_peer_ratios() -> None:
    run = WorkloadRun(HAPPY, executions=600, statuses=Counter(SUCCEEDED=600), transitions=3600,
                      wall_seconds=1.0, cpu_seconds=0.72)  # fmt: skip
    body = workload_report(run)
    assert (body["sagas_per_second"], body["transitions_per_second"]) == (600.0, 3600.0)
    assert body["cpu_ms_per_transition"] == 0.2
    dbos = body["peers"][0]
    assert dbos["sagas_per_second"] == [50.0, 80.0] and dbos["ratio"] == [7.5, 12.0]
    report = build(BenchConfig(600, 10, Path("x.db")), [run], {"path": "x.db"})
    assert report["targets"] == {
        "sagas_per_second": 1000.0,
        "engine_overhead_ms_per_transition": 0.3,
    }
