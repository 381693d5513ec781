"""The off/on pairs of ``bench --tracing-cost``: a drift in the machine's load between runs
does not show as a cost of tracing."""

from __future__ import annotations

from sagaway.bench.tracing_cost import CostRun, order, paired


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
