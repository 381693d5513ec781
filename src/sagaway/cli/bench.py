"""``sagaway bench``: the order-saga benchmark (DESIGN.md §5) on a fresh SQLite journal, or
on PostgreSQL: one in-process engine, or with ``--workers 1,2,4`` the multi-worker curve.

Numbers go to stdout as JSON with ``--json``; the Rich report and the progress bar go to
stderr. Peers are never run here: their figures are quoted from DESIGN.md and labelled so.
"""

from __future__ import annotations

import enum
import sqlite3
import tempfile
from pathlib import Path
from typing import Annotated, Any

import psycopg
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sagaway.bench import cluster_report, pg, report
from sagaway.bench.cluster import ClusterConfig, run_point
from sagaway.bench.runner import BenchConfig, WorkloadRun, run_workload
from sagaway.bench.workloads import WORKLOADS
from sagaway.cli import app, bench_tracing
from sagaway.cli.executions import console, echo_json, fail
from sagaway.engine import event_loop
from sagaway.store.ports import StoreError
from sagaway.store.sqlite import path_from_url


class WorkloadChoice(enum.StrEnum):
    HAPPY = "happy"
    COMPENSATE = "compensate"
    BOTH = "both"


@app.command("bench")
def bench_command(
    executions: Annotated[
        int, typer.Option("--executions", "-n", min=1, help="Executions per workload.")
    ] = 1000,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="Executions in flight at once.")
    ] = 100,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="A new SQLite file to use (kept; default: a temporary one), or postgresql://… "
            "(each run on a throwaway schema, dropped afterwards).",
        ),
    ] = None,
    workers: Annotated[
        str | None,
        typer.Option(
            "--workers",
            help="PostgreSQL only: worker process counts to measure, e.g. 1,2,4 (default: one "
            "in-process engine).",
        ),
    ] = None,
    clients: Annotated[
        int, typer.Option("--clients", min=1, help="With --workers: client connections.")
    ] = 4,
    workload: Annotated[
        WorkloadChoice, typer.Option("--workload", case_sensitive=False, help="Which saga(s).")
    ] = WorkloadChoice.BOTH,
    express: Annotated[
        bool, typer.Option("--express", help="Run as EXPRESS (in memory, outcome journaled).")
    ] = False,
    fsync: Annotated[
        bool,
        typer.Option("--fsync/--no-fsync", help="fsync every commit (SQLite synchronous=FULL)."),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    tracing_cost: Annotated[
        bool,
        typer.Option(
            "--tracing-cost",
            help="Measure what tracing costs: the workload with tracing off and on, "
            "interleaved (--rounds of each, SQLite), spans exported over OTLP/HTTP to a "
            "loopback receiver (which decodes them only when counted, after each run); "
            "prints each run, the CPU per transition of each process (engine, SQLite "
            "writer, exporter, receiver), the medians, the drop in sagas/s (also within "
            "neighbouring off/on pairs, with a 95% bootstrap interval of their median: "
            "on a machine whose speed drifts, run 20-30 --rounds until it is narrow) and "
            "the engine's tracing hooks' own CPU (replayed calls). "
            "OTEL_TRACES_SAMPLER(_ARG), SAGAWAY_TRACE_EXPORT=sdk and "
            "SAGAWAY_TRACE_EXPORTER_NICE apply. Use with --workload happy.",
        ),
    ] = False,
    rounds: Annotated[
        int,
        typer.Option(
            "--rounds",
            min=1,
            help=(
                "With --tracing-cost: runs of each mode. Many short ones narrow the "
                "interval most (e.g. -n 500 --rounds 150, about 3 minutes)."
            ),
        ),
    ] = 3,
) -> None:
    """Run the 6-step order saga (and its failing, compensating twin) N times, C at a time.

    Prints sagas/s, state transitions/s, per-step engine overhead (p50/p99) and process CPU
    per transition, with the ratio to the peer figures quoted in DESIGN.md §5.
    """
    names = ["happy", "compensate"] if workload is WorkloadChoice.BOTH else [workload.value]
    if tracing_cost:
        if workers is not None or pg.is_postgres(db) or db is not None:
            fail("--tracing-cost runs on fresh temporary SQLite files: leave out --db/--workers")
        config = BenchConfig(executions, concurrency, Path(), express=express, durable=fsync)
        bench_tracing.run(config, names, rounds, as_json)
        return
    if workers is not None or pg.is_postgres(db):
        _postgres(db, workers, names, executions, concurrency, clients, express, as_json)
        return
    if db is not None:
        _bench(Path(_fresh(db)), names, executions, concurrency, express, fsync, as_json)
        return
    with tempfile.TemporaryDirectory(prefix="sagaway-bench-") as tmp:
        path = Path(tmp) / "bench.db"
        _bench(path, names, executions, concurrency, express, fsync, as_json)


def _fresh(db: str) -> str:
    path = path_from_url(db)
    if path == ":memory:" or db.startswith(("postgresql://", "postgres://")):
        fail("bench needs a SQLite file: --db sqlite:///path.db")
    if Path(path).exists():
        fail(f"{path} exists; bench needs a fresh database file")
    return path


def _bench(
    path: Path,
    names: list[str],
    executions: int,
    concurrency: int,
    express: bool,
    fsync: bool,
    as_json: bool,
) -> None:
    config = BenchConfig(executions, concurrency, path, express=express, durable=fsync)
    _report(config, names, as_json)


def _report(config: BenchConfig, names: list[str], as_json: bool) -> None:
    runs: list[WorkloadRun] = []
    store: dict[str, Any] = {}
    try:
        for name in names:
            run, store = _run_one(config, name)
            runs.append(run)
    except (StoreError, sqlite3.Error, OSError, psycopg.Error) as exc:
        fail(" ".join(str(exc).split()))
    body = report.build(config, runs, store)
    if as_json:
        echo_json(body)
    else:
        report.render(body, console)


def _run_one(config: BenchConfig, name: str) -> tuple[WorkloadRun, dict[str, Any]]:
    progress = Progress(
        TextColumn(f"{name:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with progress:
        bar = progress.add_task(name, total=config.executions)
        return event_loop.run(run_workload(config, WORKLOADS[name], lambda: progress.advance(bar)))


def _postgres(
    db: str | None,
    workers: str | None,
    names: list[str],
    executions: int,
    concurrency: int,
    clients: int,
    express: bool,
    as_json: bool,
) -> None:
    if db is None or not pg.is_postgres(db):
        fail("--workers needs --db postgresql://… (workers share one PostgreSQL database)")
    if workers is None:
        config = BenchConfig(executions, concurrency, Path(), express=express, db_url=db)
        _report(config, names, as_json)
        return
    if express:
        fail("--workers runs STANDARD executions (EXPRESS ones never leave their process)")
    config_c = ClusterConfig(db, _counts(workers), executions, concurrency, clients=clients)
    try:
        store = pg.server_settings(db)
        bodies = [_cluster_workload(config_c, name) for name in names]
    except (StoreError, RuntimeError, OSError, psycopg.Error) as exc:
        fail(" ".join(str(exc).split()))
    body = cluster_report.build(config_c, bodies, store)
    if as_json:
        echo_json(body)
    else:
        cluster_report.render(body, console)


def _counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        counts = ()
    if not counts or min(counts) < 1:
        fail(f"--workers takes worker counts like 1,2,4, not {text!r}")
    return counts


def _cluster_workload(config: ClusterConfig, name: str) -> dict[str, Any]:
    workload = WORKLOADS[name]
    with console.status(f"{name}: client alone", spinner="dots") as status:
        alone = run_point(config, workload, 0)
        runs = []
        for count in config.workers:
            status.update(f"{name}: {count} worker(s), {config.executions} executions")
            runs.append(run_point(config, workload, count))
    return cluster_report.workload_report(name, alone, runs)
