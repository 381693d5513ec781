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
from typing import Any

from tests.api.cluster_kit import Cluster, eventually, running
from tests.api.cluster_kit import owners as owners_of
from tests.api.conftest import ROLE
from tests.api.test_executions import wait_done

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
    assert running(cluster.url, "api-a") == 0  # released at once, not left to lease expiry
    eventually(lambda: running(cluster.url, None) == 0, 15, lambda: "nobody claimed them")

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

    owners = owners_of(cluster.url)
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
