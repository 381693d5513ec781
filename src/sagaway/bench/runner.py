"""Running a workload: N executions, C at a time, on a real engine over a real journal.

Timing covers only the executions (start to last end): the database is created, the state
machine registered and the engine started before the clock starts. Each actor cycle's
timings come from the engine's optional ``on_step`` hook; process CPU time covers every
thread (event loop, group-commit writer, SQLite).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagaway.bench import pg
from sagaway.bench.workloads import Workload, definition, registry
from sagaway.engine.actor import StepTiming
from sagaway.engine.engine import Engine
from sagaway.engine.observer import Observer
from sagaway.observability.setup import engine_observer
from sagaway.observability.tracing import Tracing
from sagaway.store.sqlite import SqliteJournal


@dataclass(frozen=True, slots=True)
class BenchConfig:
    executions: int
    concurrency: int
    db_path: Path
    express: bool = False
    durable: bool = True  # fsync every commit (SQLite synchronous=FULL)
    # postgresql://…: run on a throwaway schema there instead of the SQLite file
    db_url: str | None = None

    @property
    def machine_type(self) -> str:
        return "EXPRESS" if self.express else "STANDARD"


@dataclass(slots=True)
class WorkloadRun:
    """What one workload's run measured (raw numbers; ``report`` derives the rates)."""

    workload: Workload
    executions: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    transitions: int = 0  # states entered, counted from the histories when kept
    transitions_counted: bool = False  # False: EXPRESS keeps no history, so derived
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0  # the engine's process and its SQLite writer process
    writer_cpu_seconds: float = 0.0  # of which the writer process's
    engine_steps: int = 0  # interpreter steps applied by actors (Task results, timers)
    commit_batches: int = 0
    committed_steps: int = 0
    timings: list[StepTiming] = field(default_factory=list)


Progress = Callable[[], None]


def store_settings(journal: Any) -> dict[str, Any]:
    """The durability mode and store settings the run used, read back from the store."""
    if not isinstance(journal, SqliteJournal):
        return pg.server_settings(journal.url)
    conn = sqlite3.connect(journal.path)
    try:
        journal_mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    finally:
        conn.close()
    return {
        "path": journal.path,
        "durable": journal.durable,
        "journal_mode": journal_mode,
        # synchronous is a per-connection setting: SqliteJournal sets FULL when durable
        "synchronous": "FULL" if journal.durable else "OFF",
        "fsync_per_commit": journal.durable,
        "page_size": page_size,
        "sqlite_version": sqlite3.sqlite_version,
    }


async def run_workload(
    config: BenchConfig,
    workload: Workload,
    progress: Progress | None = None,
    observer: Observer | None = None,
) -> tuple[WorkloadRun, dict[str, Any]]:
    """Run ``workload`` on a fresh engine over a fresh store; the run and store settings.
    ``observer``: the engine's (default: no metrics, and traces when the OTEL_* variables
    ask for them, to measure their cost)."""
    if observer is None:
        observer = engine_observer(None)
    with _journal(config) as journal:
        async with Engine(journal, registry(), observer=observer) as engine:
            machine = engine.create_state_machine(
                f"bench-{workload.name}-{uuid.uuid4().hex[:8]}",
                definition(),
                type=config.machine_type,
            )
            result = WorkloadRun(workload)
            engine.on_step = result.timings.append
            arns = await _measure(engine, machine.arn, config, result, progress)
            engine.on_step = None
        _count_transitions(journal, arns, result, config)
        settings = store_settings(journal)
        settings["tracing"] = isinstance(observer, Tracing)
        return result, settings


@contextmanager
def _journal(config: BenchConfig) -> Iterator[Any]:
    if config.db_url is None:
        journal: Any = SqliteJournal(f"sqlite:///{config.db_path}", durable=config.durable)
        try:
            yield journal
        finally:
            journal.close()
        return
    from sagaway.store.postgres import PostgresJournal

    with pg.throwaway_schema(config.db_url) as (_, url):
        # A worker identity: this engine owns, and so runs, the executions it starts.
        journal = PostgresJournal(url, owner=f"bench-{os.getpid()}")
        try:
            yield journal
        finally:
            journal.close()


def _cpu_seconds(engine: Engine) -> tuple[float, float]:
    """This process's CPU, and that of the SQLite journal's writer process if it has one."""
    writer = getattr(engine.journal, "writer_cpu_seconds", None)
    return time.process_time(), (writer() if writer is not None else 0.0)


async def _measure(
    engine: Engine,
    machine_arn: str,
    config: BenchConfig,
    result: WorkloadRun,
    progress: Progress | None,
) -> list[str]:
    batches, steps = engine.committer.batches, engine.committer.steps
    (cpu, writer), wall = _cpu_seconds(engine), time.perf_counter()
    arns = await _drive(engine, machine_arn, config, result, progress)
    result.wall_seconds = time.perf_counter() - wall
    cpu_after, writer_after = _cpu_seconds(engine)
    result.writer_cpu_seconds = writer_after - writer
    result.cpu_seconds = cpu_after - cpu + result.writer_cpu_seconds
    result.commit_batches = engine.committer.batches - batches
    result.committed_steps = engine.committer.steps - steps
    result.engine_steps = sum(t.steps for t in result.timings)
    result.executions = len(arns)
    return arns


async def _drive(
    engine: Engine,
    machine_arn: str,
    config: BenchConfig,
    result: WorkloadRun,
    progress: Progress | None,
) -> list[str]:
    """``config.concurrency`` workers, each starting an execution and waiting for its end."""
    input_text = result.workload.input_text
    arns: list[str] = []
    remaining = iter(range(config.executions))

    async def worker() -> None:
        for index in remaining:
            record = await engine.start_execution(machine_arn, f"saga-{index}", input_text)
            result.statuses[await engine.wait_status(record.arn)] += 1
            arns.append(record.arn)
            if progress is not None:
                progress()

    workers = min(config.concurrency, config.executions)
    await asyncio.gather(*(worker() for _ in range(workers)))
    return arns


def _count_transitions(
    journal: Any, arns: list[str], result: WorkloadRun, config: BenchConfig
) -> None:
    # After the clock stopped: STANDARD histories say how many states were entered.
    if config.express:
        result.transitions = result.workload.transitions * result.executions
        return
    result.transitions_counted = True
    result.transitions = sum(
        1
        for arn in arns
        for event in journal.history(arn)
        if event["type"].endswith("StateEntered")
    )
