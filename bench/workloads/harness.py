"""What every peer workload shares: the saga's shape, the payloads, the drivers, the report.

Standard library only: this module is imported by workload scripts that run inside each
peer's own virtual environment (bench/.venvs/<peer>), so it must not import any peer.

A workload script measures one (peer, workload) pair in its own process and prints one JSON
object on its last stdout line. The runner (bench/run_all.py) adds what only the parent can
see (the child's rusage from wait4) and the server processes' CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

# The saga, in order. Each forward step but the last has a compensation (SendConfirmation is
# not compensable, so it is last). The failing variant fails at step 4 (BurnLoyaltyPoints)
# and compensates steps 3..1 in reverse order.
FORWARD = [
    "CreateOrder",
    "ReserveInventory",
    "AuthorizePayment",
    "BurnLoyaltyPoints",
    "BookShipment",
    "SendConfirmation",
]
COMPENSATION = {
    "CreateOrder": "CancelOrder",
    "ReserveInventory": "ReleaseInventory",
    "AuthorizePayment": "RefundPayment",
    "BurnLoyaltyPoints": "RestoreLoyaltyPoints",
    "BookShipment": "CancelShipment",
}
FAIL_AT = "BurnLoyaltyPoints"

# workload name -> (fails at step 4?, payload bytes). "timers" is separate (see below).
WORKLOADS: dict[str, tuple[bool, int]] = {
    "ok": (False, 0),
    "comp": (True, 0),
    "1k": (False, 1024),
    "64k": (False, 64 * 1024),
}
# Transitions per saga = step invocations (handler calls): 6 on the happy path; on the
# failing path 4 forward (the 4th fails) + 3 compensations. Terminal Succeed/Fail markers
# are not counted, for any peer.
TRANSITIONS = {False: 6, True: 7}
# Timer workloads count their armed timers here when the peer cannot say so itself.
ARMED = [0]


def order_input(i: int, fail: bool, payload: int) -> dict[str, Any]:
    order: dict[str, Any] = {"orderId": f"o-{i}", "total": 40, "items": ["book"], "fail": fail}
    if payload:
        order["blob"] = "x" * payload
    return order


def noop_result(step: str, order: dict[str, Any]) -> dict[str, Any]:
    """What a no-op step returns: a few bytes, whatever the input size."""
    return {"step": step, "orderId": order["orderId"]}


class StepFailed(Exception):
    """The error the failing step raises (its class name is the ASL error, Lambda-style)."""


def parse_args(
    extra: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--workload", required=True, choices=[*WORKLOADS, "timers"])
    p.add_argument("--n", type=int, default=200, help="sagas (timers: open executions)")
    p.add_argument("--concurrency", type=int, default=16, help="sagas in flight")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument(
        "--seconds",
        type=float,
        default=None,
        help="stop starting sagas after this many seconds (n = sagas completed)",
    )
    p.add_argument(
        "--budget",
        type=float,
        default=60.0,
        help="timers: stop starting executions after this many seconds",
    )
    if extra:
        extra(p)
    return p.parse_args()


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[k]


def cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def rss_kib(pid: int | str = "self") -> int:
    """Current resident set size of a process, KiB (from /proc)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def proc_cpu_seconds(pid: int) -> float:
    """utime+stime of another process (e.g. a server), from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU of every postgres process on the machine (the shared PostgreSQL server)."""
    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() != "postgres":
                    continue
        except OSError:
            continue
        total += proc_cpu_seconds(int(pid))
    return total


class ServerCpu:
    """CPU spent by server processes the peer needs, over the measured window."""

    def __init__(self, pids: list[int] | None = None, postgres: bool = False) -> None:
        self.pids = pids or []
        self.postgres = postgres
        self.start = self._now()

    def _now(self) -> float:
        total = sum(proc_cpu_seconds(p) for p in self.pids)
        return total + (postgres_cpu_seconds() if self.postgres else 0.0)

    def spent(self) -> float:
        return self._now() - self.start


def summarize(
    *,
    workload: str,
    n: int,
    fail: bool,
    latencies: list[float],
    wall: float,
    cpu: float,
    server_cpu: float,
    errors: int,
    **extra: Any,
) -> dict[str, Any]:
    lat = sorted(latencies)
    n = len(latencies)  # completed (a time budget may stop the run before the asked n)
    transitions = n * TRANSITIONS[fail]
    return {
        "workload": workload,
        "n": n,
        "errors": errors,
        "wall_s": wall,
        "sagas_per_s": n / wall,
        "transitions": transitions,
        "transitions_per_s": transitions / wall,
        "cpu_s": cpu,
        "server_cpu_s": server_cpu,
        "cpu_ms_per_transition": 1000 * (cpu + server_cpu) / transitions,
        "p50_ms": 1000 * percentile(lat, 0.50),
        "p99_ms": 1000 * percentile(lat, 0.99),
        "rss_peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        **extra,
    }


def run_deadline(args: argparse.Namespace) -> float | None:
    return None if args.seconds is None else time.perf_counter() + args.seconds


def budget_deadline(args: argparse.Namespace) -> float:
    return time.perf_counter() + args.budget


def emit(result: dict[str, Any]) -> None:
    sys.stdout.flush()
    print(json.dumps(result), flush=True)


async def drive_async(
    one: Callable[[int], Awaitable[None]],
    n: int,
    concurrency: int,
    first: int = 0,
    deadline: float | None = None,
) -> tuple[list[float], float, int]:
    """Run sagas first..first+n-1 with at most `concurrency` in flight (closed loop).

    With a deadline (time.perf_counter() value), lanes take no new saga after it: the
    caller reads how many ran from len(latencies)."""
    latencies: list[float] = []
    errors = 0
    next_i = first

    async def lane() -> None:
        nonlocal next_i, errors
        while next_i < first + n:
            if deadline is not None and time.perf_counter() > deadline:
                return
            i = next_i
            next_i += 1
            t0 = time.perf_counter()
            try:
                await one(i)
            except Exception as e:  # counted and reported, never hidden
                errors += 1
                if errors <= 3:
                    print(f"saga {i} failed: {e!r}", file=sys.stderr)
            latencies.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return latencies, time.perf_counter() - t0, errors


def drive_threads(
    one: Callable[[int], None],
    n: int,
    concurrency: int,
    first: int = 0,
    deadline: float | None = None,
) -> tuple[list[float], float, int]:
    """Thread-based twin of drive_async, for peers whose client API is synchronous."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(first, first + n))

    def lane() -> None:
        nonlocal errors
        while True:
            with lock:
                i = next(counter, None)
            if i is None or (deadline is not None and time.perf_counter() > deadline):
                return
            t0 = time.perf_counter()
            try:
                one(i)
            except Exception as e:
                with lock:
                    errors += 1
                    if errors <= 3:
                        print(f"saga {i} failed: {e!r}", file=sys.stderr)
            dt = time.perf_counter() - t0
            with lock:
                latencies.append(dt)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for f in [pool.submit(lane) for _ in range(concurrency)]:
            f.result()
    return latencies, time.perf_counter() - t0, errors


def timers_summary(
    *, n: int, started_in: float, rss_before: int, rss_after: int, target: int, **extra: Any
) -> dict[str, Any]:
    """n = executions actually open (may be < target when the start budget ran out)."""
    return {
        "workload": "timers",
        "n": n,
        "target": target,
        "start_s": started_in,
        "starts_per_s": n / started_in,
        "rss_before_kib": rss_before,
        "rss_open_kib": rss_after,
        "kib_per_open_execution": (rss_after - rss_before) / max(n, 1),
        "rss_peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        **extra,
    }
