"""The order saga on Sagaway, driven exactly like the peers (same harness, same definition).

Run with the project's own venv (/work/main/.venv). `sagaway bench --json` is Sagaway's own
benchmark and the runner runs it too; this script exists for what that command does not
offer yet (payload sizes, saga latency percentiles measured the way the peers' are,
10,000 open timers, PostgreSQL), and so that every peer's numbers come from one driver.

The engine is Sagaway's durable engine (sagaway.engine.Engine) on the journal a URL names:
a fresh SQLite file (WAL, fsync per commit group) or a fresh PostgreSQL database
`bench_sagaway`. The definition is bench/workloads/order_saga.asl.json; its Lambda Tasks
call async no-op Python handlers registered by function name. --type EXPRESS runs the
executions in memory and journals only their outcome.

timers: executions of bench/workloads/waiting_saga.asl.json (a 3600 s Wait state first).
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h

HERE = os.path.dirname(os.path.abspath(__file__))
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BENCH = "postgresql://postgres@127.0.0.1:5432/bench_sagaway"


def fresh_postgres() -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS bench_sagaway WITH (FORCE)")
        conn.execute("CREATE DATABASE bench_sagaway")


def registry() -> Any:
    from sagaway.resources.lambda_functions import FunctionRegistry

    functions = FunctionRegistry()

    def make(name: str) -> Any:
        async def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            if name == h.FAIL_AT and event.get("fail"):
                raise h.StepFailed(f"{name} failed for {event['orderId']}")
            return h.noop_result(name, event)

        handler.__name__ = name
        return handler

    for name in [*h.FORWARD, *h.COMPENSATION.values()]:
        functions.register(name, make(name))
    return functions


async def run(args: Any, url: str) -> None:
    import sagaway
    from sagaway.engine.engine import Engine
    from sagaway.store.open import open_journal

    # The garbage-collector setting every `sagaway` command (serve, worker, bench) applies
    # at start, and that an embedding application is told to apply: without it this
    # driver measured the engine as no deployment of it runs.
    sagaway.tune_gc()

    owner = f"bench-{socket.gethostname()}-{os.getpid()}"
    journal = open_journal(url, owner=owner)
    extra = {"peer": f"sagaway-{args.type.lower()}-{args.db}"}
    try:
        async with Engine(journal, registry()) as engine:
            if args.workload == "timers":
                await run_timers(args, engine, extra)
                return
            with open(os.path.join(HERE, "order_saga.asl.json")) as f:
                machine = engine.create_state_machine("order-saga", f.read(), type=args.type)
            fail, payload = h.WORKLOADS[args.workload]
            expected = "FAILED" if fail else "SUCCEEDED"

            async def one(i: int) -> None:
                import orjson

                # The client's own work: the standard library's json.dumps takes ~0.3 ms
                # on a 64 KiB input, more than the engine spends on it; a Python client of
                # Sagaway would use orjson, as Sagaway does.
                text = orjson.dumps(h.order_input(i, fail, payload)).decode()
                record = await engine.start_execution(machine.arn, f"o-{i}", text)
                status = await engine.wait_status(record.arn)
                if status != expected:
                    raise AssertionError(f"o-{i}: {status}, expected {expected}")

            await h.drive_async(one, args.warmup, args.concurrency, first=10**6)
            server = h.ServerCpu(postgres=args.db == "postgres")
            cpu0 = h.cpu_seconds() + _writer_cpu(journal)
            lat, wall, errors = await h.drive_async(
                one, args.n, args.concurrency, deadline=h.run_deadline(args)
            )
            h.emit(
                h.summarize(
                    workload=args.workload,
                    n=args.n,
                    fail=fail,
                    latencies=lat,
                    wall=wall,
                    # The SQLite journal commits through a writer process: its CPU is
                    # Sagaway's too.
                    cpu=h.cpu_seconds() + _writer_cpu(journal) - cpu0,
                    server_cpu=server.spent(),
                    errors=errors,
                    journal_bytes_per_saga=journal_bytes_per_saga(url, machine.arn),
                    **extra,
                )
            )
    finally:
        close = getattr(journal, "close", None)
        if close:
            close()


def journal_bytes_per_saga(url: str, machine_arn: str) -> float | None:
    """Bytes the SQLite journal holds per saga: a copy of it after VACUUM, less the same
    copy with every execution's rows deleted (the schema and the machine)."""
    import sqlite3

    if not url.startswith("sqlite:///"):
        return None
    path = url.removeprefix("sqlite:///")
    copy = path + ".measure"
    source = sqlite3.connect(path)
    conn = sqlite3.connect(copy, isolation_level=None)
    try:
        sagas = source.execute(
            "SELECT count(*) FROM executions WHERE state_machine_arn = ?", (machine_arn,)
        ).fetchone()[0]
        source.backup(conn)  # a consistent copy, WAL included
        conn.execute("PRAGMA journal_mode=DELETE")  # so that VACUUM rewrites the file itself
        conn.execute("VACUUM")
        full = os.path.getsize(copy)
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in {"executions", "history", "payloads", "outbox"} & set(tables):
            conn.execute(f"DELETE FROM {table}")
        conn.execute("VACUUM")
        empty = os.path.getsize(copy)
    finally:
        source.close()
        conn.close()
        os.remove(copy)
    return (full - empty) / max(sagas, 1)


def _writer_cpu(journal: Any) -> float:
    measure = getattr(journal, "writer_cpu_seconds", None)
    return float(measure()) if measure is not None else 0.0


async def run_timers(args: Any, engine: Any, extra: dict[str, Any]) -> None:
    import json

    with open(os.path.join(HERE, "waiting_saga.asl.json")) as f:
        machine = engine.create_state_machine("waiting-saga", f.read(), type=args.type)
    await asyncio.sleep(0.5)
    rss0 = h.rss_kib()
    t0 = time.perf_counter()

    async def start(i: int) -> None:
        await engine.start_execution(machine.arn, f"w-{i}", json.dumps(h.order_input(i, False, 0)))

    lat, _, errors = await h.drive_async(
        start, args.n, args.concurrency, deadline=h.budget_deadline(args)
    )
    started = time.perf_counter() - t0
    await asyncio.sleep(3)  # let the first steps (Wait entered, timer armed) commit
    h.emit(
        h.timers_summary(
            n=len(lat) - errors,
            target=args.n,
            started_in=started,
            rss_before=rss0,
            rss_after=h.rss_kib(),
            **extra,
        )
    )
    os._exit(0)  # the open executions stay in a database that is thrown away


def main() -> None:
    def options(p: Any) -> None:
        p.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
        p.add_argument("--type", choices=["STANDARD", "EXPRESS"], default="STANDARD")

    args = h.parse_args(options)
    if args.db == "postgres":
        fresh_postgres()
        url = PG_BENCH
    else:
        tmp = tempfile.mkdtemp(prefix="sagaway-", dir=os.environ.get("BENCH_TMP"))
        url = f"sqlite:///{tmp}/sagaway.db"
    from sagaway.engine import event_loop as sagaway_loop

    # The event loop every `sagaway` command runs its engine on (uvloop where installed,
    # SAGAWAY_EVENT_LOOP=asyncio for the standard library's), as with tune_gc below.
    sagaway_loop.run(run(args, url))


if __name__ == "__main__":
    main()
