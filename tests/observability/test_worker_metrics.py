"""``sagaway worker --metrics-port`` serves the engine's metrics: a worker that takes over a
stopped server's executions shows the leases it holds, then the executions it ended (real
processes on a fresh PostgreSQL schema)."""

from __future__ import annotations

import json

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.api.cluster_kit import Cluster, eventually
from tests.api.conftest import ROLE, cluster, free_port  # noqa: F401 (the fixture)

STEP = "arn:aws:lambda:us-east-1:111111111111:function:step"
DEFINITION = json.dumps({"StartAt": "First", "States": {
    "First": {"Type": "Task", "Resource": STEP, "Next": "Pause"},
    "Pause": {"Type": "Wait", "Seconds": 2, "End": True},
}})  # fmt: skip


def scrape(url: str) -> dict[str, float]:
    try:
        text = httpx.get(url, timeout=2).text
    except httpx.TransportError:
        return {}
    return {f"{s.name}{sorted(s.labels.items())}": s.value
            for family in text_string_to_metric_families(text) for s in family.samples}  # fmt: skip


def test_a_worker_serves_its_leases_and_executions(cluster: Cluster) -> None:  # noqa: F811
    port = free_port()
    cluster._spawn("w1", ["worker", "--lease-seconds", "2", "--metrics-port", str(port)])
    metrics = f"http://127.0.0.1:{port}/metrics"
    api = cluster.server("api")
    arn = api.create_state_machine(name="m", definition=DEFINITION, roleArn=ROLE)["stateMachineArn"]
    for i in range(3):
        api.start_execution(stateMachineArn=arn, name=f"e{i}")
    cluster.stop("api")  # hands its executions to the worker while they wait
    held = "sagaway_leases_held[]"
    eventually(lambda: scrape(metrics).get(held, 0) == 3, 20, lambda: str(scrape(metrics)))
    ended = "sagaway_executions_ended_total[('state_machine', 'm'), ('status', 'SUCCEEDED')]"
    eventually(lambda: scrape(metrics).get(ended) == 3, 20, lambda: str(scrape(metrics)))
    assert scrape(metrics)[held] == 0
