"""The multi-worker benchmark: K ``sagaway worker`` processes on one PostgreSQL database.

One point of the curve: a fresh schema; K worker subprocesses running the bench's no-op
handlers (``sagaway.bench.handlers``); once every worker listens, this process (the client:
journals with no worker identity) starts N executions from several engines, each with its
own connection, C start calls in flight in all; then it polls the executions table until
every one has ended. The clock runs from the first StartExecution to the last execution's
``stop_date`` (the same machine's clock, so exact, whatever the polling interval).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psycopg

from sagaway.bench import pg
from sagaway.bench.workloads import Workload, definition
from sagaway.engine import event_loop
from sagaway.engine.engine import Engine
from sagaway.store.postgres import PostgresJournal

HANDLERS = "sagaway.bench.handlers"
MACHINE = "bench-order-saga"
COUNT_TRANSITIONS = (
    "SELECT count(*) FROM history, jsonb_array_elements(convert_from(events, 'UTF8')::jsonb) e"
    " WHERE e->>'type' LIKE '%StateEntered'"
)


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    url: str  # the server and database; each run makes a schema of its own there
    workers: tuple[int, ...]
    executions: int
    concurrency: int  # StartExecution calls in flight from the client, in all
    clients: int = 4  # client engines, each with its own connection and group commit
    lease_seconds: float = 5.0
    timeout: float = 300.0  # give up on a run (and say so) after this long


@dataclass(slots=True)
class ClusterRun:
    """One point of the curve (raw numbers; ``cluster_report`` derives the rates)."""

    workload: Workload
    workers: int
    executions: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    transitions: int = 0  # states entered, counted from the histories
    wall_seconds: float = 0.0  # first start -> last execution's stop_date
    start_seconds: float = 0.0  # first start -> last start acknowledged by the client
    client_cpu_seconds: float = 0.0  # this process while it was starting executions
    worker_cpu_seconds: list[float] = field(default_factory=list)
    postgres_cpu_seconds: float = 0.0  # the backends serving the workers and the client
    per_worker: dict[str, int] = field(default_factory=dict)  # executions each one ran
    load_average: float = 0.0  # of the machine when the run began (it may be shared)


def run_point(config: ClusterConfig, workload: Workload, workers: int) -> ClusterRun:
    """Measure ``workload`` with ``workers`` worker processes (0: the client alone, which
    only starts the executions: its start rate without workers competing for the CPU)."""
    run = ClusterRun(workload, workers, load_average=os.getloadavg()[0])
    with pg.throwaway_schema(config.url) as (schema, url):
        PostgresJournal(url).close()  # create the schema's tables once, before anyone races
        tag = f"sgw-{schema}"
        with tempfile.TemporaryFile() as log:
            procs = [_spawn(url, tag, index, config.lease_seconds, log) for index in range(workers)]
            try:
                _wait_listening(url, tag, procs, log)
                _measure(config, url, tag, procs, run)
            finally:
                _stop(procs)
    return run


def _measure(
    config: ClusterConfig, url: str, tag: str, procs: list[subprocess.Popen[bytes]], run: ClusterRun
) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        workers_before = pg.cpu_snapshot([p.pid for p in procs])
        backends_before = pg.cpu_snapshot(pg.backend_pids(conn, tag))
        began = time.time()
        arns = event_loop.run(_start_all(config, url, tag, run))
        run.executions = len(arns)
        if procs:
            _wait_terminal(conn, began + config.timeout, procs)
        run.worker_cpu_seconds = [pg.cpu_seconds(p.pid) - workers_before[p.pid] for p in procs]
        run.postgres_cpu_seconds = pg.cpu_spent(
            backends_before, pg.cpu_snapshot(pg.backend_pids(conn, tag))
        )
        if procs:
            _read_outcome(conn, began, run)


async def _start_all(config: ClusterConfig, url: str, tag: str, run: ClusterRun) -> list[str]:
    """Start the executions from ``config.clients`` engines at once; the started ARNs."""
    journals = [
        PostgresJournal(pg.with_params(url, application_name=f"{tag}-c{i}"), migrate=False)
        for i in range(config.clients)
    ]
    engines = [Engine(journal) for journal in journals]
    try:
        for engine in engines:
            await engine.start()
        machine = engines[0].create_state_machine(MACHINE, definition())
        cpu, wall = time.process_time(), time.perf_counter()
        arns = await _drive(engines, machine.arn, config, run.workload)
        run.start_seconds = time.perf_counter() - wall
        run.client_cpu_seconds = time.process_time() - cpu
        return arns
    finally:
        for engine in engines:
            await engine.close()
        for journal in journals:
            journal.close()


async def _drive(
    engines: list[Engine], machine_arn: str, config: ClusterConfig, workload: Workload
) -> list[str]:
    """``config.concurrency`` tasks, spread over the engines, each starting executions one
    after the other without waiting for their end (the workers run them)."""
    remaining = iter(range(config.executions))
    arns: list[str] = []
    prefix = uuid.uuid4().hex[:6]

    async def starter(engine: Engine) -> None:
        for index in remaining:
            record = await engine.start_execution(
                machine_arn, f"saga-{prefix}-{index}", workload.input_text
            )
            arns.append(record.arn)

    tasks = min(config.concurrency, config.executions)
    await asyncio.gather(*(starter(engines[i % len(engines)]) for i in range(tasks)))
    return arns


def _wait_terminal(
    conn: psycopg.Connection[Any], deadline: float, procs: list[subprocess.Popen[bytes]]
) -> None:
    query = "SELECT count(*) FROM executions WHERE status = 'RUNNING'"
    while True:
        (running,) = conn.execute(query).fetchone() or (0,)
        if running == 0:
            return
        dead = [p.pid for p in procs if p.poll() is not None]
        if dead or time.time() > deadline:
            why = f"workers {dead} exited" if dead else "timed out"
            raise RuntimeError(f"cluster bench: {why} with {running} executions still RUNNING")
        time.sleep(0.02)


def _read_outcome(conn: psycopg.Connection[Any], began: float, run: ClusterRun) -> None:
    # Owners are read before the workers stop: a graceful stop releases every row it owns.
    run.statuses.update(dict(conn.execute("SELECT status, count(*) FROM executions GROUP BY 1")))
    run.per_worker = {
        str(owner).rsplit("-", 1)[-1]: count
        for owner, count in conn.execute("SELECT owner, count(*) FROM executions GROUP BY 1")
    }
    (last,) = conn.execute("SELECT max(stop_date) FROM executions").fetchone() or (began,)
    run.wall_seconds = float(last) - began
    (transitions,) = conn.execute(COUNT_TRANSITIONS).fetchone() or (0,)
    run.transitions = int(transitions)


# -- worker processes ------------------------------------------------------------------------
def _spawn(url: str, tag: str, index: int, lease: float, log: IO[bytes]) -> subprocess.Popen[bytes]:
    name = f"{tag}-w{index}"
    args = [sys.executable, "-m", "sagaway", "worker", "--functions", HANDLERS]
    args += ["--db", pg.with_params(url, application_name=name), "--name", name]
    args += ["--lease-seconds", f"{lease:g}"]
    env = {**os.environ, "PYTHONPATH": _source_root()}
    return subprocess.Popen(args, env=env, stdout=log, stderr=log)


def _source_root() -> str:
    # The workers import this very copy of sagaway (an editable install or a checkout).
    root = str(Path(__file__).resolve().parents[2])
    extra = os.environ.get("PYTHONPATH")
    return f"{root}{os.pathsep}{extra}" if extra else root


def _wait_listening(
    url: str, tag: str, procs: list[subprocess.Popen[bytes]], log: IO[bytes]
) -> None:
    """Until every worker's LISTEN connection is up (its engine is claiming work)."""
    query = (
        "SELECT count(DISTINCT application_name) FROM pg_stat_activity"
        " WHERE application_name LIKE %s AND query LIKE 'LISTEN%%'"
    )
    deadline = time.monotonic() + 60
    with psycopg.connect(url, autocommit=True) as conn:
        while (conn.execute(query, (f"{tag}-w%",)).fetchone() or (0,))[0] < len(procs):
            if any(p.poll() is not None for p in procs) or time.monotonic() > deadline:
                log.seek(0)
                output = log.read().decode(errors="replace").strip()[-2000:]
                raise RuntimeError(f"cluster bench: a worker did not start: {output}")
            time.sleep(0.05)


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
