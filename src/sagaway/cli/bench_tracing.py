"""``sagaway bench --tracing-cost``: runs :mod:`sagaway.bench.tracing_cost` per workload and
prints each run, the medians off and on, and the ratio (JSON with ``--json``)."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from rich.table import Table

from sagaway.bench import tracing_cost, tracing_hooks
from sagaway.bench.runner import BenchConfig
from sagaway.bench.workloads import WORKLOADS
from sagaway.cli.executions import console, echo_json, fail
from sagaway.store.ports import StoreError


def run(config: BenchConfig, names: list[str], rounds: int, as_json: bool) -> None:
    bodies: list[dict[str, Any]] = []
    try:
        for name in names:
            status = console.status(f"{name}: {rounds} runs off, {rounds} on", spinner="dots")
            with tempfile.TemporaryDirectory(prefix="sagaway-tracing-cost-") as tmp, status:
                runs = tracing_cost.measure(config, WORKLOADS[name], rounds, Path(tmp))
                hooks = tracing_hooks.hooks_cost(WORKLOADS[name], Path(tmp))
            bodies.append({"workload": name, **tracing_cost.summary(runs), "engine_hooks": hooks})
    except (StoreError, sqlite3.Error, OSError, RuntimeError) as exc:
        fail(" ".join(str(exc).split()))
    report = {
        "machine_type": config.machine_type,
        "executions": config.executions,
        "concurrency": config.concurrency,
        "rounds": rounds,
        "workloads": bodies,
    }
    if as_json:
        echo_json(report)
        return
    for body in bodies:
        console.print(_runs_table(body))
        console.print(_summary_line(body))


def _runs_table(body: dict[str, Any]) -> Table:
    table = Table(
        "run", "tracing", "sagas/s", "CPU µs/transition", "engine", "writer", "exporter",
        "receiver", "spans received", "exporter CPU µs/span", "drain s",
        title=f"tracing cost: {body['workload']} (export path: {body['export_path']})",
    )  # fmt: skip
    for index, run in enumerate(body["runs"], 1):
        on = run["tracing"]
        table.add_row(
            str(index), "on" if on else "off", f"{run['sagas_per_second']:,.0f}",
            f"{run['cpu_us_per_transition']:.0f}",
            f"{run['engine_us']:.0f}", f"{run['writer_us']:.0f}",
            f"{run['exporter_us']:.0f}" if on else "", f"{run['receiver_us']:.1f}" if on else "",
            f"{run['spans_received']:,}" if on else "",
            f"{run['exporter_cpu_us_per_span']:.1f}" if on else "",
            f"{run['drain_seconds']:.2f}" if on else "",
        )  # fmt: skip
    return table


def _summary_line(body: dict[str, Any]) -> str:
    off, on, hooks, pairs = body["off"], body["on"], body["engine_hooks"], body["paired"]
    return (
        f"median sagas/s: off {off['sagas_per_second']:,.0f}, on {on['sagas_per_second']:,.0f} "
        f"({_fewer(body['sagas_per_second_drop_percent'])}); CPU per transition: off "
        f"{off['cpu_us_per_transition']:.0f} µs, on {on['cpu_us_per_transition']:.0f} µs "
        f"({body['cpu_per_transition_rise_percent']:+.1f}%); within each off/on pair of "
        f"neighbouring runs, median: {_fewer(pairs['sagas_per_second_drop_percent'])} "
        f"sagas/s (95% interval {_span(pairs['sagas_per_second_drop_interval'])}), "
        f"CPU per transition {pairs['cpu_per_transition_rise_percent']:+.1f}%; "
        f"CPU µs per transition by process, off / on (medians): {_apart(off, on)}; "
        f"exporter process "
        f"{on['exporter_cpu_us_per_span']:.1f} µs CPU per span (its drain included); the "
        f"engine's tracing hooks, replayed: {hooks['hooks_us_per_transition']:.1f} µs per "
        f"transition, {hooks['hooks_us_per_span']:.1f} µs per span"
    )


def _apart(off: dict[str, Any], on: dict[str, Any]) -> str:
    before, after = off["processes_us_per_transition"], on["processes_us_per_transition"]
    return ", ".join(
        f"{name.removesuffix('_us')} {before.get(name, 0.0):.0f} / {value:.1f}"
        for name, value in after.items()
    )


def _span(interval: list[float]) -> str:
    low, high = interval
    return f"{low:.1f}% to {high:.1f}%"


def _fewer(percent: float) -> str:
    return f"{percent:.1f}% fewer" if percent >= 0 else f"{-percent:.1f}% more: noise"
