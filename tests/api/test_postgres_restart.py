"""A PostgreSQL restart under a running cluster: two servers and two workers (real
processes) with a few hundred executions in flight. While the database is down the API
answers a retryable 503 and every member's /readyz says why; once it is back every member
reconnects by itself (writer, listener, leases, claims) and every execution finishes,
without restarting any Sagaway process.

The database is a PostgreSQL cluster of the test's own (``tests/pg_cluster.py``), never the
shared server, which other tests use meanwhile."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from botocore.exceptions import ClientError

from tests.api.cluster_kit import Cluster, eventually
from tests.api.conftest import ROLE, free_port
from tests.pg_cluster import PgCluster

EXECUTIONS = 300
LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"
# Task, Wait, Task: executions are in every kind of step when the database goes away.
SAGA = json.dumps({
    "StartAt": "One",
    "States": {
        "One": {"Type": "Task", "Resource": LAMBDA + "step", "Next": "Pause"},
        "Pause": {"Type": "Wait", "Seconds": 4, "Next": "Two"},
        "Two": {"Type": "Task", "Resource": LAMBDA + "step", "End": True},
    },
})  # fmt: skip


def _ready(port: int) -> tuple[int, dict[str, Any]] | None:
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
    except httpx.TransportError:
        return None
    return answer.status_code, answer.json()


def _start_all(servers: list[Any], machine: str) -> list[str]:
    def one(i: int) -> str:
        sfn = servers[i % len(servers)]
        arn: str = sfn.start_execution(stateMachineArn=machine, name=f"o{i}",
                                       input=json.dumps({"n": i}))["executionArn"]  # fmt: skip
        return arn

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(EXECUTIONS)))


def _statuses(url: str) -> dict[str, int]:
    with psycopg.connect(url, connect_timeout=3) as conn:
        rows = conn.execute("SELECT status, count(*) FROM executions GROUP BY status")
        return {status: int(count) for status, count in rows}


def test_every_member_reconnects_and_every_execution_finishes(
    pg: PgCluster, tmp_path: Path
) -> None:
    members = Cluster(pg.url, tmp_path)
    try:
        _scenario(pg, members)
    finally:
        members.close()


def _scenario(pg: PgCluster, members: Cluster) -> None:
    servers = [members.server("api-a"), members.server("api-b")]
    probes = {name: free_port() for name in ("worker-a", "worker-b")}
    for name, port in probes.items():
        members.worker(name, health_port=port)
    probes.update(members.ports)
    for name, port in probes.items():
        eventually(lambda p=port: _ready(p) == (200, {"status": "ready"}), 30,  # type: ignore[misc]
                   lambda n=name: members.log(n, members.procs[n]))  # type: ignore[misc]  # fmt: skip
    machine = servers[0].create_state_machine(name="saga", definition=SAGA, roleArn=ROLE)
    _start_all(servers, machine["stateMachineArn"])
    assert _statuses(pg.url).get("RUNNING", 0) > EXECUTIONS // 2  # still in flight

    pg.ctl("stop")
    for name, port in probes.items():  # every member says it cannot work, and why
        eventually(lambda p=port: (_ready(p) or (0, {}))[0] == 503, 15,  # type: ignore[misc]
                   lambda n=name: members.log(n, members.procs[n]))  # type: ignore[misc]  # fmt: skip
        assert "store unreachable" in (_ready(port) or (0, {}))[1]["reason"]
    with pytest.raises(ClientError) as refused:
        servers[1].start_execution(stateMachineArn=machine["stateMachineArn"], name="down")
    assert refused.value.response["Error"]["Code"] == "ServiceUnavailable"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    time.sleep(3)  # longer than a lease: members must also sort out expired leases

    pg.ctl("start")
    deadline = time.monotonic() + 90
    while (counts := _statuses(pg.url)).get("SUCCEEDED", 0) < EXECUTIONS:
        assert time.monotonic() < deadline, (counts, [members.log(n, p)
                                             for n, p in members.procs.items()])  # fmt: skip
        time.sleep(0.5)
    assert counts == {"SUCCEEDED": EXECUTIONS}
    for name, port in probes.items():
        assert _ready(port) == (200, {"status": "ready"}), members.log(name, members.procs[name])
    for name, proc in members.procs.items():
        assert proc.poll() is None, members.log(name, proc)  # nobody was restarted
        assert "Traceback" not in (members.logs / f"{name}.log").read_text(), name
    late = servers[0].start_execution(stateMachineArn=machine["stateMachineArn"], name="late")
    assert late["executionArn"].endswith(":late")
