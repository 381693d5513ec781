"""The order saga on DBOS Transact (durable workflows, async API), SQLite or PostgreSQL.

Run inside bench/.venvs/dbos. Each step is a `@DBOS.step()` coroutine that returns a few
bytes; the workflow calls the six steps in order and, when step 4 raises, runs the
compensations of steps 3..1 in reverse order (each also a step) and then raises, so the
workflow ends in ERROR like a failed Step Functions execution. Every step output and the
workflow's input/outcome are checkpointed in DBOS's system database before the next step.

timers: workflows that `await DBOS.sleep_async(3600)` (a durable sleep: the wake-up time is
checkpointed) before their first step; we measure RSS with all of them open.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BENCH = "postgresql://postgres@127.0.0.1:5432/bench_dbos"


def fresh_postgres() -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS bench_dbos WITH (FORCE)")
        conn.execute("CREATE DATABASE bench_dbos")


def main() -> None:
    def options(p: Any) -> None:
        p.add_argument("--db", choices=["sqlite", "postgres"], required=True)
        p.add_argument(
            "--api",
            choices=["sync", "async"],
            default="sync",
            help="sync: plain functions driven by threads; async: coroutines",
        )

    args = h.parse_args(options)
    if args.db == "postgres":
        fresh_postgres()
        url = PG_BENCH
    else:
        tmp = tempfile.mkdtemp(prefix="dbos-", dir=os.environ.get("BENCH_TMP"))
        url = f"sqlite:///{tmp}/dbos.sqlite"

    from dbos import DBOS, DBOSConfig

    config: DBOSConfig = {"name": "bench", "system_database_url": url, "log_level": "WARNING"}
    DBOS(config=config)

    def make_step(name: str) -> Any:
        async def step(order: dict[str, Any]) -> dict[str, Any]:
            if name == h.FAIL_AT and order["fail"]:
                raise h.StepFailed(f"{name} failed for {order['orderId']}")
            return h.noop_result(name, order)

        step.__name__ = step.__qualname__ = name
        return DBOS.step(name=name)(step)

    def make_sync_step(name: str) -> Any:
        def step(order: dict[str, Any]) -> dict[str, Any]:
            if name == h.FAIL_AT and order["fail"]:
                raise h.StepFailed(f"{name} failed for {order['orderId']}")
            return h.noop_result(name, order)

        step.__name__ = step.__qualname__ = name
        return DBOS.step(name=name)(step)

    names = [*h.FORWARD, *h.COMPENSATION.values()]
    steps = {s: make_step(s) for s in names} if args.api == "async" else {}
    sync_steps = {s: make_sync_step(s) for s in names} if args.api == "sync" else {}

    @DBOS.workflow(name="order_saga")
    async def order_saga(order: dict[str, Any]) -> dict[str, Any]:
        done: list[str] = []
        results: dict[str, Any] = {}
        for name in h.FORWARD:
            try:
                results[name] = await steps[name](order)
            except h.StepFailed:
                for prev in reversed(done):
                    await steps[h.COMPENSATION[prev]](order)
                raise
            done.append(name)
        return results

    @DBOS.workflow(name="waiting_saga")
    async def waiting_saga(order: dict[str, Any]) -> dict[str, Any]:
        await DBOS.sleep_async(3600)
        return await steps["CreateOrder"](order)

    @DBOS.workflow(name="order_saga_sync")
    def order_saga_sync(order: dict[str, Any]) -> dict[str, Any]:
        done: list[str] = []
        results: dict[str, Any] = {}
        for name in h.FORWARD:
            try:
                results[name] = sync_steps[name](order)
            except h.StepFailed:
                for prev in reversed(done):
                    sync_steps[h.COMPENSATION[prev]](order)
                raise
            done.append(name)
        return results

    @DBOS.workflow(name="waiting_saga_sync")
    def waiting_saga_sync(order: dict[str, Any]) -> dict[str, Any]:
        DBOS.sleep(3600)
        return sync_steps["CreateOrder"](order)

    DBOS.launch()
    try:
        if args.api == "sync":
            run_sync(args, order_saga_sync, waiting_saga_sync)
        else:
            asyncio.run(run(args, order_saga, waiting_saga))
    finally:
        DBOS.destroy(workflow_completion_timeout_sec=0)


async def run(args: Any, order_saga: Any, waiting_saga: Any) -> None:
    from dbos import DBOS

    extra = {"peer": f"dbos-{args.db}", "api": "async"}
    if args.workload == "timers":
        rss0 = h.rss_kib()
        t0 = time.perf_counter()

        async def start(i: int) -> None:
            await DBOS.start_workflow_async(waiting_saga, h.order_input(i, False, 0))

        lat, _, errors = await h.drive_async(
            start, args.n, args.concurrency, deadline=h.budget_deadline(args)
        )
        started = time.perf_counter() - t0
        await asyncio.sleep(3)  # let every workflow reach its checkpointed sleep
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
        os._exit(0)  # leave the sleepers; the database is thrown away

    fail, payload = h.WORKLOADS[args.workload]

    async def one(i: int) -> None:
        try:
            await order_saga(h.order_input(i, fail, payload))
        except h.StepFailed:
            if not fail:
                raise
        else:
            if fail:
                raise AssertionError("the failing saga succeeded")

    await h.drive_async(one, args.warmup, args.concurrency, first=10**6)
    server = h.ServerCpu(postgres=args.db == "postgres")
    cpu0 = h.cpu_seconds()
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
            cpu=h.cpu_seconds() - cpu0,
            server_cpu=server.spent(),
            errors=errors,
            **extra,
        )
    )


def run_sync(args: Any, order_saga: Any, waiting_saga: Any) -> None:
    from dbos import DBOS

    extra = {"peer": f"dbos-{args.db}", "api": "sync"}
    if args.workload == "timers":
        rss0 = h.rss_kib()
        t0 = time.perf_counter()

        def start(i: int) -> None:
            # start_workflow returns once the workflow is recorded and handed to a thread
            DBOS.start_workflow(waiting_saga, h.order_input(i, False, 0))

        lat, _, errors = h.drive_threads(
            start, args.n, args.concurrency, deadline=h.budget_deadline(args)
        )
        started = time.perf_counter() - t0
        time.sleep(3)
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
        os._exit(0)

    fail, payload = h.WORKLOADS[args.workload]

    def one(i: int) -> None:
        try:
            order_saga(h.order_input(i, fail, payload))
        except h.StepFailed:
            if not fail:
                raise
        else:
            if fail:
                raise AssertionError("the failing saga succeeded")

    h.drive_threads(one, args.warmup, args.concurrency, first=10**6)
    server = h.ServerCpu(postgres=args.db == "postgres")
    cpu0 = h.cpu_seconds()
    lat, wall, errors = h.drive_threads(
        one, args.n, args.concurrency, deadline=h.run_deadline(args)
    )
    h.emit(
        h.summarize(
            workload=args.workload,
            n=args.n,
            fail=fail,
            latencies=lat,
            wall=wall,
            cpu=h.cpu_seconds() - cpu0,
            server_cpu=server.spent(),
            errors=errors,
            **extra,
        )
    )


if __name__ == "__main__":
    main()
