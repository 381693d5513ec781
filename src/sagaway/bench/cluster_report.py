"""The multi-worker report: sagas/s per worker count, the curve and its speed-up ratios.

Besides the rates it says where the CPU went (workers, client, the PostgreSQL backends
serving them), because on a small machine the processes share the cores and the curve's
shape is decided by that, not by the number of workers alone.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from sagaway.bench.cluster import ClusterConfig, ClusterRun

TARGET = {"workers": 2, "sagas_per_second": 1000.0}  # issue 6, on this machine


def point(run: ClusterRun) -> dict[str, Any]:
    wall = run.wall_seconds or float("nan")
    workers_cpu = sum(run.worker_cpu_seconds)
    return {
        "workers": run.workers,
        "executions": run.executions,
        "statuses": dict(run.statuses),
        "expected_status": run.workload.expected_status,
        "transitions": run.transitions,
        "wall_seconds": round(run.wall_seconds, 4),
        "sagas_per_second": round(run.executions / wall, 1),
        "transitions_per_second": round(run.transitions / wall, 1),
        "client": _client(run),
        "executions_per_worker": dict(sorted(run.per_worker.items())),
        "cpu_seconds": {
            "workers": [round(s, 3) for s in run.worker_cpu_seconds],
            "client": round(run.client_cpu_seconds, 3),
            "postgres_backends": round(run.postgres_cpu_seconds, 3),
        },
        "worker_cpu_ms_per_saga": round(workers_cpu * 1000 / max(run.executions, 1), 3),
        "cpu_ms_per_saga_all": round(
            (workers_cpu + run.client_cpu_seconds + run.postgres_cpu_seconds)
            * 1000
            / max(run.executions, 1),
            3,
        ),
        "load_average_at_start": round(run.load_average, 2),
    }


def _client(run: ClusterRun) -> dict[str, Any]:
    start = run.start_seconds or float("nan")
    return {
        "start_seconds": round(run.start_seconds, 4),
        "starts_per_second": round(run.executions / start, 1),
        "cpu_ms_per_start": round(run.client_cpu_seconds * 1000 / max(run.executions, 1), 3),
    }


def curve(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """sagas/s per worker count and the speed-up over the smallest count measured."""
    if not points:
        return []
    base = points[0]["sagas_per_second"] or float("nan")
    return [
        {
            "workers": p["workers"],
            "sagas_per_second": p["sagas_per_second"],
            "speedup": round(p["sagas_per_second"] / base, 2),
        }
        for p in points
    ]


def workload_report(name: str, alone: ClusterRun, runs: list[ClusterRun]) -> dict[str, Any]:
    points = [point(run) for run in runs]
    at_target = [p for p in points if p["workers"] == TARGET["workers"]]
    return {
        "workload": name,
        "transitions_per_saga": alone.workload.transitions,
        # the client starting the same N executions with no worker running
        "client_alone": _client(alone),
        "points": points,
        "curve": curve(points),
        "target_met": bool(at_target)
        and at_target[0]["sagas_per_second"] >= TARGET["sagas_per_second"],
    }


def build(
    config: ClusterConfig, workloads: list[dict[str, Any]], store: dict[str, Any]
) -> dict[str, Any]:
    return {
        "mode": "cluster",
        "machine_type": "STANDARD",
        "executions": config.executions,
        "concurrency": config.concurrency,
        "clients": config.clients,
        "workers": list(config.workers),
        "lease_seconds": config.lease_seconds,
        "store": store,
        "target": TARGET,
        "workloads": workloads,
    }


def render(report: dict[str, Any], console: Console) -> None:
    store = report["store"]
    console.print(
        f"[bold]STANDARD on PostgreSQL {store['server_version']}[/bold] at {store['server']} "
        f"(fsync={store['fsync']}, synchronous_commit={store['synchronous_commit']}); "
        f"{report['executions']} executions per point, started by {report['clients']} client "
        f"connections, {report['concurrency']} StartExecution calls in flight"
    )
    for body in report["workloads"]:
        console.print(_table(body))
        alone = body["client_alone"]
        target = report["target"]
        console.print(
            f"client alone (no workers): {alone['starts_per_second']:,.0f} starts/s, "
            f"{alone['cpu_ms_per_start']:.3f} ms CPU per start.  Target ≥"
            f"{target['sagas_per_second']:,.0f} sagas/s with {target['workers']} workers: "
            + ("[green]met[/green]" if body["target_met"] else "[red]not met[/red]")
        )


def _table(body: dict[str, Any]) -> Table:
    table = Table(
        "workers", "sagas/s", "speed-up", "trans/s", "starts/s",
        "per worker", "CPU ms/saga wrk/all", "ok", "load",
        title=f"workload: {body['workload']} ({body['transitions_per_saga']} transitions)",
    )  # fmt: skip
    for p, c in zip(body["points"], body["curve"], strict=True):
        table.add_row(
            str(p["workers"]),
            f"[bold]{p['sagas_per_second']:,.0f}[/bold]",
            f"{c['speedup']:.2f}x",
            f"{p['transitions_per_second']:,.0f}",
            f"{p['client']['starts_per_second']:,.0f}",
            " ".join(str(n) for n in p["executions_per_worker"].values()),
            f"{p['worker_cpu_ms_per_saga']:.2f} / {p['cpu_ms_per_saga_all']:.2f}",
            f"{p['statuses'].get(p['expected_status'], 0)}/{p['executions']}",
            f"{p['load_average_at_start']:.1f}",
        )
    return table
