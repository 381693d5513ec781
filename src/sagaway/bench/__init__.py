"""``sagaway bench``: the order-saga benchmark of DESIGN.md §5 (workloads, runner, report)."""

from sagaway.bench.runner import BenchConfig, WorkloadRun, run_workload
from sagaway.bench.workloads import COMPENSATE, HAPPY, WORKLOADS, Workload

__all__ = [
    "COMPENSATE",
    "HAPPY",
    "WORKLOADS",
    "BenchConfig",
    "Workload",
    "WorkloadRun",
    "run_workload",
]
