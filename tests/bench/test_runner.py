"""The runner on a real engine and a real SQLite file, small N (counts, not speed)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sagaway.bench.runner import BenchConfig, run_workload
from sagaway.bench.workloads import COMPENSATE, HAPPY


def test_happy_run_counts_everything(tmp_path: Path) -> None:
    done: list[int] = []
    config = BenchConfig(executions=30, concurrency=7, db_path=tmp_path / "b.db")
    run, store = asyncio.run(run_workload(config, HAPPY, lambda: done.append(1)))
    assert (run.executions, dict(run.statuses), len(done)) == (30, {"SUCCEEDED": 30}, 30)
    assert run.transitions == 30 * 6 and run.transitions_counted
    # one timed cycle per Task result at least; the Start step is journaled by StartExecution
    assert run.engine_steps == 30 * 6
    assert all(t.received <= t.started <= t.interpreted <= t.committed <= t.dispatched
               for t in run.timings)  # fmt: skip
    assert run.committed_steps >= 30 * 7 and run.commit_batches >= 1
    assert store["synchronous"] == "FULL" and store["journal_mode"] == "wal"


def test_express_compensating_run(tmp_path: Path) -> None:
    config = BenchConfig(executions=20, concurrency=5, db_path=tmp_path / "b.db", express=True)
    run, _ = asyncio.run(run_workload(config, COMPENSATE))
    assert dict(run.statuses) == {"FAILED": 20}
    assert run.transitions == 20 * 8 and not run.transitions_counted
