"""``sagaway bench --tracing-cost``: runs :mod:`sagaway.bench.tracing_cost` per workload and
prints each run, the medians off and on, and the ratio (JSON with ``--json``)."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from rich import box
from rich.table import Table

from sagaway.bench import tracing_cost, tracing_hooks
from sagaway.bench.runner import BenchConfig
from sagaway.bench.workloads import WORKLOADS
from sagaway.cli.executions import console, echo_json, fail, tables
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
        tables.print(_runs_table(body))
        console.print(_HEADINGS)
        console.print(_summary(body))


# What the table's short headings stand for, printed under it.
_HEADINGS = (
    "mode: tracing off or on; CPU: µs per transition, engine and writer processes; engine,"
    " writer, export (the exporter process), recv (the receiver): each one's µs per"
    " transition; spans: received; µs/span: the exporter process's CPU per span; drain:"
    " seconds it took to export what it held after the run"
)


def _runs_table(body: dict[str, Any]) -> Table:
    # Short headings: the table fits 80 columns (a file or a pipe gets 80).
    table = Table(
        "run", "mode", "sagas/s", "CPU", "engine", "writer", "export", "recv", "spans",
        "µs/span", "drain",
        title=f"tracing cost: {body['workload']} (export path: {body['export_path']}, "
        f"event loop: {body['event_loop']})",
        box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0), pad_edge=False,
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


def _summary(body: dict[str, Any]) -> str:
    off, on, hooks, pairs = body["off"], body["on"], body["engine_hooks"], body["paired"]
    return "\n".join([
        f"median sagas/s: off {off['sagas_per_second']:,.0f}, on {on['sagas_per_second']:,.0f} "
        f"({_fewer(body['sagas_per_second_drop_percent'])})",
        f"within each off/on pair of neighbouring runs, median: "
        f"{_fewer(pairs['sagas_per_second_drop_percent'])} sagas/s "
        f"(95% interval {_span(pairs['sagas_per_second_drop_interval'])})",
        _target_line(body["target"]),
        f"CPU per transition: off {off['cpu_us_per_transition']:.0f} µs, on "
        f"{on['cpu_us_per_transition']:.0f} µs ({body['cpu_per_transition_rise_percent']:+.1f}%;"
        f" within pairs {pairs['cpu_per_transition_rise_percent']:+.1f}%)",
        f"CPU µs per transition by process, off / on (medians): {_apart(off, on)}",
        f"exporter process: {on['exporter_cpu_us_per_span']:.1f} µs CPU per span (its drain"
        f" included)",
        f"the engine's tracing hooks, replayed: {hooks['hooks_us_per_transition']:.1f} µs per "
        f"transition, {hooks['hooks_us_per_span']:.1f} µs per span",
    ])  # fmt: skip


def _target_line(target: dict[str, Any]) -> str:
    limit, found = target["max_drop_percent"], target["verdict"]
    why = {
        "met": "the whole interval is under it",
        "not met": "the whole interval is at or over it",
        "not settled": "the interval reaches both sides of it; more --rounds narrow it",
    }[found]
    return f"target, under {limit:.0f}% fewer sagas/s: {found} ({why})"


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
