"""Page timings of the console on a large journal (``sagaway bench-console``).

The journal is filled through the store port in batches (one transaction per batch) with
finished executions of a small state machine, named ``order-NNNNNN`` so that a name prefix
selects a handful; then one real execution of a counting loop writes about 500 history
events. A server with its console runs in this process on loopback, and each page is
fetched repeatedly by a signed-in client; the figures are the console's own time per
request (its ``Server-Timing`` header: reads, layout, rendering) and the round trip seen by
the client. On PostgreSQL the loaded table is vacuumed and analyzed first, as autovacuum
would do shortly after such a load.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import uvicorn

from sagaway.api.app import console_of, create_app
from sagaway.engine import arns
from sagaway.store.open import open_journal
from sagaway.store.ports import ExecutionRecord, StateMachineRecord, StepRecord

ENDINGS = ("SUCCEEDED",) * 16 + ("FAILED", "FAILED", "ABORTED", "TIMED_OUT")
SMALL = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})


def loop_definition(turns: int) -> str:
    """A Pass and a Choice per turn: four history events each."""
    return json.dumps({"StartAt": "Start", "States": {
        "Start": {"Type": "Pass", "Result": {"i": 0}, "Next": "Count"},
        "Count": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"},
                  "Next": "More?"},
        "More?": {"Type": "Choice", "Default": "Done",
                  "Choices": [{"Variable": "$.i", "NumericLessThan": turns, "Next": "Count"}]},
        "Done": {"Type": "Succeed"}}})  # fmt: skip


def populate(
    db_url: str, count: int, batch: int = 2000, progress: Callable[[int], None] | None = None
) -> str:
    """Write ``count`` finished executions of a small state machine; its ARN."""
    journal = open_journal(db_url)
    try:
        name = "bench-small"
        machine = StateMachineRecord(arns.state_machine(name), name, SMALL, created=time.time())
        journal.put_state_machine(machine)
        start = time.time() - count
        for first in range(0, count, batch):
            steps = [
                _finished(machine.arn, n, start + n)
                for n in range(first, min(first + batch, count))
            ]
            journal.commit(steps)
            if progress is not None:
                progress(len(steps))
    finally:
        journal.close()
    if db_url.startswith(("postgresql://", "postgres://")):
        _vacuum(db_url)
    return machine.arn


def _vacuum(db_url: str) -> None:
    """What autovacuum does shortly after a bulk load (PostgreSQL 13+ vacuums insert-only
    tables too): statistics for the planner, and the visibility map that lets counts read
    the indexes alone."""
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE executions")


def _finished(machine_arn: str, n: int, started: float) -> StepRecord:
    name = f"order-{n:06d}"
    status = ENDINGS[n % len(ENDINGS)]
    arn = arns.execution(machine_arn.rsplit(":", 1)[-1], name)
    record = ExecutionRecord(arn, machine_arn, name, "RUNNING", f'{{"n":{n}}}', started, SMALL)
    events = [
        {"id": 1, "type": "ExecutionStarted", "timestamp": started,
         "executionStartedEventDetails": {"input": record.input}},
        {"id": 2, "type": f"Execution{status.title().replace('_', '')}",
         "timestamp": started + 0.01},
    ]  # fmt: skip
    step = StepRecord(arn, 0, b"{}", status, events, output="{}", stop_date=started + 0.01)
    step.create = record
    return step


@dataclass(frozen=True, slots=True)
class Timing:
    page: str
    server_p50: float
    server_p95: float
    client_p95: float


@contextmanager
def serving(db_url: str) -> Iterator[tuple[str, httpx.Client]]:
    """A server with its console on a free loopback port, and a client signed in to it."""
    app = create_app(db_url, host="127.0.0.1")
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    local = console_of(app).local
    assert local is not None
    with httpx.Client(base_url=url, timeout=60, follow_redirects=True) as http:
        http.get(local.path()).raise_for_status()
        try:
            yield url, http
        finally:
            server.should_exit = True
            thread.join(timeout=30)


def run_loop(url: str, turns: int) -> str:
    """Start the counting loop through the API and wait for it; its execution ARN."""

    def call(action: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"X-Amz-Target": f"AWSStepFunctions.{action}",
                   "Content-Type": "application/x-amz-json-1.0"}  # fmt: skip
        answer = httpx.post(url + "/", headers=headers, content=json.dumps(body), timeout=60)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    machine = call(
        "CreateStateMachine",
        {
            "name": "bench-loop",
            "definition": loop_definition(turns),
            "roleArn": "arn:aws:iam::111111111111:role/bench",
        },
    )["stateMachineArn"]
    arn: str = call("StartExecution", {"stateMachineArn": machine, "name": "loop"})["executionArn"]
    while call("DescribeExecution", {"executionArn": arn})["status"] == "RUNNING":
        time.sleep(0.05)
    return arn


def time_page(http: httpx.Client, page: str, samples: int) -> Timing:
    server: list[float] = []
    client: list[float] = []
    http.get(page).raise_for_status()  # warm: template compiled, statements prepared
    for _ in range(samples):
        began = time.perf_counter()
        answer = http.get(page)
        client.append((time.perf_counter() - began) * 1000)
        answer.raise_for_status()
        server.append(float(answer.headers["server-timing"].split("dur=")[1]))
    return Timing(page, statistics.median(server), _p95(server), _p95(client))


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def pages(machine_arn: str, loop_arn: str) -> list[str]:
    return [
        "/console/executions",
        f"/console/executions?machine={quote(machine_arn)}&status=FAILED",
        "/console/executions?name=order-0421",
        f"/console/execution?arn={quote(loop_arn)}",
    ]
