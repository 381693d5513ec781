"""Three workers share one PostgreSQL database; one is killed with SIGKILL mid-run.

Every execution must complete, the journal must hold no duplicate step, no Task effect may
happen twice (idempotency keys), and every timer must fire exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psycopg

from sagaway.engine.engine import Engine
from sagaway.store.postgres import PostgresJournal
from tests.store.conftest import drop_schema, postgres_url

EXECUTIONS = 400
HERE = Path(__file__).parent


def _task(name: str, next_state: str | None) -> dict[str, object]:
    state: dict[str, object] = {
        "Type": "Task",
        "Resource": f"arn:aws:lambda:us-east-1:111111111111:function:{name}",
        "ResultPath": f"$.{name}",
    }
    state.update({"Next": next_state} if next_state else {"End": True})
    return state


DEFINITION = json.dumps(
    {
        "StartAt": "Reserve",
        "States": {
            "Reserve": _task("reserve", "Pause"),
            "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Charge"},
            "Charge": _task("charge", "Ship"),
            "Ship": _task("ship", None),
        },
    }
)


def _worker(url: str, name: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SAGAWAY_EFFECTS_URL": url, "PYTHONPATH": str(HERE.parents[1])}
    args = [sys.executable, "-m", "sagaway", "worker", "--db", url, "--lease-seconds", "2"]
    args += ["--functions", str(HERE / "cluster_functions.py"), "--name", name]
    return subprocess.Popen(args, env=env, stderr=subprocess.DEVNULL)


async def _start_all(url: str) -> list[str]:
    journal = PostgresJournal(url)  # no worker identity: this process only starts executions
    try:
        async with Engine(journal) as client:
            machine = client.create_state_machine("cluster", DEFINITION)
            arns = []
            for i in range(EXECUTIONS):
                body = json.dumps({"i": i})
                record = await client.start_execution(machine.arn, f"order-{i}", body)
                arns.append(record.arn)
            return arns
    finally:
        journal.close()


def _wait_until_done(url: str, deadline: float) -> int:
    with psycopg.connect(url) as conn:
        while time.monotonic() < deadline:
            (running,) = conn.execute(
                "SELECT count(*) FROM executions WHERE status = 'RUNNING'"
            ).fetchone()
            if running == 0:
                return 0
            time.sleep(0.3)
        return int(running)


def test_three_workers_one_killed_lose_and_repeat_nothing() -> None:
    url = postgres_url()
    journal = PostgresJournal(url)  # creates the schema
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE effects (key TEXT PRIMARY KEY, step TEXT NOT NULL)")
        conn.execute("CREATE TABLE invocations (key TEXT NOT NULL)")
    workers = [_worker(url, f"w{i}") for i in range(3)]
    try:
        arns = asyncio.run(_start_all(url))
        time.sleep(1.0)  # mid-run: tasks done, timers pending, more work arriving
        workers[0].send_signal(signal.SIGKILL)
        assert _wait_until_done(url, time.monotonic() + 60) == 0
        _check_journal(journal, arns)
        _check_effects(url)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=30)
        journal.close()
        drop_schema(url)


def _check_journal(journal: PostgresJournal, arns: list[str]) -> None:
    for arn in arns:
        record = journal.get_execution(arn)
        assert record is not None and record.status == "SUCCEEDED", (arn, record)
        events = journal.history(arn)
        assert [e["id"] for e in events] == list(range(1, len(events) + 1)), arn
        types = Counter(e["type"] for e in events)
        assert types["WaitStateEntered"] == types["WaitStateExited"] == 1, (arn, types)
        assert types["LambdaFunctionSucceeded"] == 3, (arn, types)


def _check_effects(url: str) -> None:
    with psycopg.connect(url) as conn:
        per_step = dict(conn.execute("SELECT step, count(*) FROM effects GROUP BY step"))
        (invocations,) = conn.execute("SELECT count(*) FROM invocations").fetchone()
    assert per_step == {"reserve": EXECUTIONS, "charge": EXECUTIONS, "ship": EXECUTIONS}
    assert invocations >= 3 * EXECUTIONS
    print(f"{EXECUTIONS} executions, 3 workers, 1 killed: {invocations} invocations")
