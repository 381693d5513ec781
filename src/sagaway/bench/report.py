"""The benchmark report: rates, overhead percentiles and the ratio to DESIGN.md's peers.

Definitions (docs/benchmarks.md explains them at length):

- a *transition* is a state entered (what AWS bills as a state transition);
- *step latency*: for each engine step driven by a Task result, the time from the result
  reaching the execution's actor to the next command being handed to the task runner; it
  includes waiting for the event loop and for the group commit's fsync;
- *engine CPU per step*: the synchronous part of that on the event loop (interpreting,
  building the journal record, dispatching), measured per step;
- *CPU per transition*: process CPU time (all threads, SQLite included, and the SQLite
  writer process when there is one) / transitions.
"""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.table import Table

from sagaway import native
from sagaway.bench.runner import BenchConfig, WorkloadRun
from sagaway.engine import event_loop
from sagaway.engine.actor import StepTiming

# DESIGN.md §5, measured on this machine when the design was written: not in this run.
PEERS: tuple[tuple[str, float, float], ...] = (
    ("DBOS 3.4 on SQLite (durable)", 50.0, 80.0),
    ("moto 5.2 (in memory, not durable)", 49.0, 49.0),
    ("Temporal 1.35 dev server (local activities)", 19.0, 31.0),
)
PEERS_LABEL = "reference figures from DESIGN.md, not measured in this run"
TARGETS = {"STANDARD": 1000.0, "EXPRESS": 5000.0}
TARGET_OVERHEAD_MS = 0.3


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (0.0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))
    return ordered[rank]


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(values, 0.50) * 1000, 4),
        "p99_ms": round(percentile(values, 0.99) * 1000, 4),
    }


def overhead(timings: list[StepTiming]) -> dict[str, dict[str, float]]:
    """Per-step latency and its parts, p50 and p99 in milliseconds."""
    per = [(t, max(t.steps, 1)) for t in timings]
    return {
        "step_latency": _spread([t.dispatched - t.received for t, _ in per]),
        "event_loop_wait": _spread([t.started - t.received for t, _ in per]),
        "journal_commit_wait": _spread([t.committed - t.interpreted for t, _ in per]),
        "engine_cpu_per_step": _spread(
            [((t.interpreted - t.started) + (t.dispatched - t.committed)) / n for t, n in per]
        ),
    }


def workload_report(run: WorkloadRun) -> dict[str, Any]:
    wall = run.wall_seconds or float("nan")
    transitions = run.transitions
    return {
        "workload": run.workload.name,
        "executions": run.executions,
        "statuses": dict(run.statuses),
        "expected_status": run.workload.expected_status,
        "transitions": transitions,
        "transitions_per_saga": run.workload.transitions,
        "transitions_counted_from_history": run.transitions_counted,
        "wall_seconds": round(run.wall_seconds, 4),
        "sagas_per_second": round(run.executions / wall, 1),
        "transitions_per_second": round(transitions / wall, 1),
        "cpu_seconds": round(run.cpu_seconds, 4),
        "cpu_ms_per_transition": round(run.cpu_seconds * 1000 / max(transitions, 1), 4),
        # what one fully busy core could sustain at this CPU cost (load-independent)
        "cpu_bound_sagas_per_second": round(run.executions / max(run.cpu_seconds, 1e-9), 1),
        "engine_steps_timed": run.engine_steps,
        "overhead": overhead(run.timings),
        "commits": {
            "batches": run.commit_batches,
            "steps": run.committed_steps,
            "steps_per_batch": round(run.committed_steps / max(run.commit_batches, 1), 1),
            "batches_per_second": round(run.commit_batches / wall, 1),
        },
        "peers": [
            {
                "system": system,
                "sagas_per_second": [low, high],
                "ratio": [
                    round(run.executions / wall / high, 1),
                    round(run.executions / wall / low, 1),
                ],
            }
            for system, low, high in PEERS
        ],
    }


def build(config: BenchConfig, runs: list[WorkloadRun], store: dict[str, Any]) -> dict[str, Any]:
    return {
        "machine_type": config.machine_type,
        "executions": config.executions,
        "concurrency": config.concurrency,
        "event_loop": event_loop.choice(),
        "modules": native.status().describe(),
        "store": store,
        "workloads": [workload_report(run) for run in runs],
        "peers_note": PEERS_LABEL,
        "targets": {
            "sagas_per_second": TARGETS[config.machine_type],
            "engine_overhead_ms_per_transition": TARGET_OVERHEAD_MS,
        },
    }


def render(report: dict[str, Any], console: Console) -> None:
    store = report["store"]
    if store.get("kind") == "postgresql":
        console.print(
            f"[bold]{report['machine_type']}[/bold], {report['executions']} executions per "
            f"workload, concurrency {report['concurrency']}; one in-process engine on "
            f"PostgreSQL {store['server_version']} at {store['server']} (fsync={store['fsync']}, "
            f"synchronous_commit={store['synchronous_commit']}), a throwaway schema"
        )
    else:
        console.print(
            f"[bold]{report['machine_type']}[/bold], {report['executions']} executions per "
            f"workload, concurrency {report['concurrency']}; SQLite {store['sqlite_version']} "
            f"journal_mode={store['journal_mode']} synchronous={store['synchronous']} "
            f"(fsync per commit: {'on' if store['fsync_per_commit'] else 'OFF'}) at "
            f"{store['path']}"
        )
    console.print(f"event loop: {report['event_loop']}")
    console.print(f"hot modules: {report['modules']}")
    if store.get("tracing"):
        console.print("tracing on: spans exported as the OTEL_* variables say")
    for body in report["workloads"]:
        console.print(_workload_table(body))
        console.print(_peer_table(body, report["targets"]["sagas_per_second"]))


def _workload_table(body: dict[str, Any]) -> Table:
    table = Table("metric", "value", title=f"workload: {body['workload']}", show_header=False)
    o, c = body["overhead"], body["commits"]
    rows = [
        ("executions", f"{body['executions']} {body['statuses']}"),
        ("state transitions", f"{body['transitions']} ({body['transitions_per_saga']} per saga)"),
        ("wall time", f"{body['wall_seconds']:.3f} s"),
        ("sagas/s", f"[bold]{body['sagas_per_second']:,.1f}[/bold]"),
        ("transitions/s", f"{body['transitions_per_second']:,.1f}"),
        ("step latency (result -> next dispatch)", _pq(o["step_latency"])),
        ("  of which event-loop wait", _pq(o["event_loop_wait"])),
        ("  of which journal commit wait (fsync)", _pq(o["journal_commit_wait"])),
        ("engine CPU per step (interpret + dispatch)", _pq(o["engine_cpu_per_step"])),
        ("process CPU per transition (amortised)", f"{body['cpu_ms_per_transition']:.4f} ms"),
        ("sagas/s one busy core allows at that CPU cost",
         f"{body['cpu_bound_sagas_per_second']:,.0f}"),
        ("commits", f"{c['batches']} batches, {c['steps_per_batch']} steps/batch, "
                    f"{c['batches_per_second']:,.0f} commits/s"),
    ]  # fmt: skip
    for name, value in rows:
        table.add_row(name, value)
    return table


def _pq(spread: dict[str, float]) -> str:
    return f"p50 {spread['p50_ms']:.3f} ms, p99 {spread['p99_ms']:.3f} ms"


def _peer_table(body: dict[str, Any], target: float) -> Table:
    table = Table("system", "sagas/s", "this run vs it", caption=PEERS_LABEL)
    for peer in body["peers"]:
        low, high = peer["sagas_per_second"]
        figure = f"~{low:.0f}" if low == high else f"~{low:.0f}-{high:.0f}"
        ratio_low, ratio_high = peer["ratio"]
        ratio = f"{ratio_low}x" if low == high else f"{ratio_low}x-{ratio_high}x"
        table.add_row(peer["system"], figure, ratio)
    table.add_row(
        "DESIGN.md §5 target", f"≥{target:,.0f}", f"{body['sagas_per_second'] / target:.2f}x"
    )
    return table
