"""``sagaway bench``: the report's fields and counts (never its timings)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.cli.cli_kit import sagaway


def _workloads(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {body["workload"]: body for body in report["workloads"]}


def test_both_workloads_report_counts_rates_and_peers(tmp_path: Path) -> None:
    db = tmp_path / "bench.db"
    done = sagaway("bench", "-n", "50", "-c", "10", "--db", f"sqlite:///{db}", "--json")
    assert done.code == 0, done.err
    report = done.json()
    assert (report["machine_type"], report["executions"], report["concurrency"]) == (
        "STANDARD", 50, 10,
    )  # fmt: skip
    store = report["store"]
    assert (store["journal_mode"], store["synchronous"], store["fsync_per_commit"]) == (
        "wal", "FULL", True,
    )  # fmt: skip
    assert "not measured in this run" in report["peers_note"]
    happy, compensate = _workloads(report)["happy"], _workloads(report)["compensate"]
    assert happy["statuses"] == {"SUCCEEDED": 50} and happy["transitions"] == 300
    assert compensate["statuses"] == {"FAILED": 50} and compensate["transitions"] == 400
    for body in (happy, compensate):
        assert body["transitions_counted_from_history"] is True
        assert body["sagas_per_second"] > 0 and body["transitions_per_second"] > 0
        assert body["cpu_ms_per_transition"] > 0 and body["cpu_bound_sagas_per_second"] > 0
        assert set(body["overhead"]) == {
            "step_latency", "event_loop_wait", "journal_commit_wait", "engine_cpu_per_step",
        }  # fmt: skip
        assert all(set(s) == {"p50_ms", "p99_ms"} for s in body["overhead"].values())
        # every execution's steps went through the journal, many per commit
        assert body["commits"]["steps"] >= body["transitions"]
        assert [p["system"].split()[0] for p in body["peers"]] == ["DBOS", "moto", "Temporal"]
    assert db.is_file()  # --db is kept for inspection


def test_express_single_workload(tmp_path: Path) -> None:
    done = sagaway("bench", "-n", "50", "--workload", "happy", "--express", "--json")
    assert done.code == 0, done.err
    report = done.json()
    assert report["machine_type"] == "EXPRESS"
    assert report["targets"]["sagas_per_second"] == 5000
    (happy,) = report["workloads"]
    assert happy["statuses"] == {"SUCCEEDED": 50} and happy["transitions"] == 300
    assert happy["transitions_counted_from_history"] is False  # EXPRESS keeps no history


def test_human_report_on_stderr(tmp_path: Path) -> None:
    done = sagaway("bench", "-n", "20", "--workload", "compensate", "--no-fsync")
    assert done.code == 0 and done.out == ""
    assert "synchronous=OFF" in done.err and "sagas/s" in done.err
    assert "reference figures from DESIGN.md, not measured in this run" in done.err


def test_an_existing_database_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "used.db"
    db.write_bytes(b"")
    done = sagaway("bench", "-n", "5", "--db", str(db))
    assert done.code == 2 and "needs a fresh database" in done.err


def test_tracing_cost_runs_off_and_on_and_every_span_reaches_the_receiver() -> None:
    done = sagaway(
        "bench", "--tracing-cost", "--workload", "happy", "-n", "20", "-c", "5",
        "--rounds", "2", "--json",
    )  # fmt: skip
    assert done.code == 0, done.err
    (body,) = done.json()["workloads"]
    assert [run["tracing"] for run in body["runs"]] == [False, True, True, False]
    assert all(run["transitions"] == 120 for run in body["runs"])
    # 13 spans a saga: the execution, six states, six task attempts; none dropped
    assert [run["spans_received"] for run in body["runs"] if run["tracing"]] == [260, 260]
    assert body["on"]["spans_received"] == 520 and body["export_path"] == "fast"
    for mode in ("off", "on"):
        assert body[mode]["sagas_per_second"] > 0 and body[mode]["cpu_us_per_transition"] > 0
    assert isinstance(body["sagas_per_second_drop_percent"], float)
    assert set(body["paired"]) == {
        "sagas_per_second_drop_percent", "sagas_per_second_drop_interval",
        "cpu_per_transition_rise_percent",
    }  # fmt: skip
    low, high = body["paired"]["sagas_per_second_drop_interval"]
    assert low <= body["paired"]["sagas_per_second_drop_percent"] <= high
    assert set(body["engine_hooks"]) == {"hooks_us_per_transition", "hooks_us_per_span"}
    assert all(value > 0 for value in body["engine_hooks"].values())


def test_tracing_cost_needs_its_own_databases(tmp_path: Path) -> None:
    done = sagaway("bench", "--tracing-cost", "--db", f"sqlite:///{tmp_path / 'b.db'}")
    assert done.code == 2 and "--tracing-cost" in done.err
