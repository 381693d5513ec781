"""``sagaway bench --db postgresql://… --workers 1,2`` end to end, small N (structure and
counts, never speed): real worker subprocesses on a real PostgreSQL server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.store.conftest import PG_URL, drop_schema, postgres_url

ROOT = Path(__file__).parents[2]


def test_two_worker_counts_run_every_execution_to_its_end() -> None:
    drop_schema(postgres_url())  # skips (or fails under CI=true) when the server is away
    args = [sys.executable, "-m", "sagaway", "bench", "--db", PG_URL, "--workers", "1,2"]
    args += ["-n", "60", "-c", "10", "--workload", "both", "--json"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["mode"], report["workers"], report["executions"]) == ("cluster", [1, 2], 60)
    assert report["store"]["kind"] == "postgresql"
    for body, expected, transitions in zip(
        report["workloads"], ["SUCCEEDED", "FAILED"], [6, 8], strict=True
    ):
        assert body["client_alone"]["starts_per_second"] > 0
        assert [p["workers"] for p in body["points"]] == [1, 2]
        assert [c["workers"] for c in body["curve"]] == [1, 2]
        assert body["curve"][0]["speedup"] == 1.0
        for point in body["points"]:
            assert point["statuses"] == {expected: 60}
            assert point["transitions"] == 60 * transitions
            assert sum(point["executions_per_worker"].values()) == 60
            assert len(point["cpu_seconds"]["workers"]) == point["workers"]
            assert point["sagas_per_second"] > 0 and point["client"]["starts_per_second"] > 0


def test_without_workers_one_engine_runs_its_own_executions() -> None:
    drop_schema(postgres_url())
    args = [sys.executable, "-m", "sagaway", "bench", "--db", PG_URL, "-n", "20"]
    args += ["--workload", "happy", "--json"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    (body,) = report["workloads"]
    assert report["store"]["kind"] == "postgresql"
    assert body["statuses"] == {"SUCCEEDED": 20} and body["transitions"] == 120
