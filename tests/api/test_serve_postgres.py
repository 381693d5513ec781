"""``sagaway serve --db postgresql://…`` as real processes: two API servers and a worker on one
database (a fresh schema of the test server, dropped afterwards).

Server A creates a state machine, publishes a version, tags it and starts executions, then
is stopped (SIGTERM) while they wait: it hands them to the cluster, and the worker finishes
them. Server B, started afterwards, sees everything A made (journal and catalog live in
PostgreSQL), starts executions of its own (one through the version) and runs them. Every
execution must succeed with its whole history, ids consecutive across the hand-over.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.api.conftest import ROLE, client, free_port
from tests.api.test_executions import wait_done
from tests.store.conftest import drop_schema, postgres_url

FUNCTIONS = str(Path(__file__).with_name("serve_functions.py"))
STEP = "arn:aws:lambda:us-east-1:111111111111:function:step"
DEFINITION = json.dumps({
    "StartAt": "First",
    "States": {
        "First": {"Type": "Task", "Resource": STEP, "Next": "Pause"},
        # Long enough for server A to stop while every execution it started waits here.
        "Pause": {"Type": "Wait", "Seconds": 3, "Next": "Second"},
        "Second": {"Type": "Task", "Resource": STEP, "End": True},
    },
})  # fmt: skip
FROM_A, FROM_B = 12, 6


class Cluster:
    """The processes of one test, stopped (and their logs shown on failure) at the end."""

    def __init__(self, url: str, logs: Path) -> None:
        self.url = url
        self.logs = logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        common = ["--db", self.url, "--functions", FUNCTIONS, "--name", name]
        with (self.logs / f"{name}.log").open("wb") as log:  # the child keeps its own copy
            command = [sys.executable, "-m", "sagaway", *args, *common]
            proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=self.logs)
        self.procs[name] = proc
        return proc

    def worker(self, name: str) -> None:
        self._spawn(name, ["worker", "--lease-seconds", "2"])

    def server(self, name: str) -> Any:
        port = free_port()
        bus = f"sqlite:///{self.logs / (name + '-events.db')}"
        args = ["serve", "--port", str(port), "--lease-seconds", "2", "--bus", bus]
        proc = self._spawn(name, args)
        sfn = client(f"http://127.0.0.1:{port}")
        _eventually(lambda: _answers(sfn), 30, lambda: self.log(name, proc))
        return sfn

    def stop(self, name: str) -> None:
        """SIGTERM, as a service manager stops it: uvicorn shuts the app down (the engine
        releases its executions), then ends by the signal it got."""
        proc = self.procs[name]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM), self.log(name, proc)

    def log(self, name: str, proc: subprocess.Popen[bytes]) -> str:
        state = "running" if proc.poll() is None else f"exited {proc.returncode}"
        return f"{name} ({state}): {(self.logs / f'{name}.log').read_text()[-2000:]}"

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _answers(sfn: Any) -> bool:
    try:
        sfn.list_state_machines()
    except Exception:
        return False
    return True


def _eventually(check: Callable[[], bool], timeout: float, why: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(why())
        time.sleep(0.05)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    url = postgres_url()  # fails under CI=true when PostgreSQL is missing, else skips
    running = Cluster(url, tmp_path)
    try:
        yield running
    finally:
        running.close()
        drop_schema(url)


def _running(url: str, owner: str | None) -> int:
    """How many RUNNING executions ``owner`` has (None: how many nobody has)."""
    with psycopg.connect(url) as conn:
        query = ("SELECT count(*) FROM executions WHERE status = 'RUNNING'"
                 " AND owner IS NOT DISTINCT FROM %s")  # fmt: skip
        (count,) = conn.execute(query, (owner,)).fetchone() or (0,)
    return int(count)


def _owners(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        return dict(conn.execute("SELECT name, owner FROM executions").fetchall())


def test_servers_and_a_worker_share_one_postgresql_database(cluster: Cluster) -> None:
    cluster.worker("w1")
    a = cluster.server("api-a")
    arn = a.create_state_machine(name="orders", definition=DEFINITION,
                                 roleArn=ROLE)["stateMachineArn"]  # fmt: skip
    version = a.publish_state_machine_version(stateMachineArn=arn)["stateMachineVersionArn"]
    a.tag_resource(resourceArn=arn, tags=[{"key": "team", "value": "saga"}])
    started = [a.start_execution(stateMachineArn=arn, name=f"a-{i}", input=json.dumps({"i": i}))
               for i in range(FROM_A)]  # fmt: skip
    cluster.stop("api-a")
    assert _running(cluster.url, "api-a") == 0  # released at once, not left to lease expiry
    _eventually(lambda: _running(cluster.url, None) == 0, 15, lambda: "nobody claimed them")

    b = cluster.server("api-b")
    assert b.describe_state_machine(stateMachineArn=arn)["definition"] == DEFINITION
    versions = b.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]
    assert [v["stateMachineVersionArn"] for v in versions] == [version]
    assert b.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "team", "value": "saga"}]
    started += [b.start_execution(stateMachineArn=version if i == 0 else arn, name=f"b-{i}",
                                  input=json.dumps({"i": i})) for i in range(FROM_B)]  # fmt: skip
    for execution in started:
        _check_done(b, execution["executionArn"])
    assert b.describe_execution(executionArn=started[FROM_A]["executionArn"])[
        "stateMachineVersionArn"] == version  # fmt: skip

    owners = _owners(cluster.url)
    assert {owners[f"a-{i}"] for i in range(FROM_A)} == {"w1"}  # the worker took them over
    assert {owners[f"b-{i}"] for i in range(FROM_B)} == {"api-b"}  # B runs what it starts


def _check_done(sfn: Any, arn: str) -> None:
    described = wait_done(sfn, arn, timeout=30)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"])["steps"] == 2
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    types = [e["type"] for e in events]
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded"
    assert types.count("LambdaFunctionSucceeded") == 2 and types.count("WaitStateExited") == 1
