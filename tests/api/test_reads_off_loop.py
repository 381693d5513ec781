"""A server on PostgreSQL reads off its event loop: a read that waits (here on a table
lock another session holds) holds up its own request only, never the others."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
import uvicorn

from sagaway.api import create_app
from tests.api.conftest import ROLE, client, free_port, registry
from tests.store.conftest import drop_schema, postgres_url

PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
MAP_RUN = "arn:aws:states:us-east-1:111111111111:mapRun:m/Map:00000000-0000-0000-0000-000000000000"


class PgServer:
    def __init__(self, url: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_app(url, registry(), poll_timeout=1.0)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.01)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def running() -> Iterator[tuple[str, Any, str]]:
    url = postgres_url()
    server = PgServer(url)
    sfn = client(server.url)
    machine = sfn.create_state_machine(name="m", definition=PASS, roleArn=ROLE)
    arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="e1")
    execution = arn["executionArn"]
    # Catalog entries the catalog reads below find: a version, an alias, tags, an activity.
    sfn.publish_state_machine_version(stateMachineArn=machine["stateMachineArn"])
    sfn.create_state_machine_alias(name="live", routingConfiguration=[
        {"stateMachineVersionArn": VERSION, "weight": 100}])  # fmt: skip
    sfn.tag_resource(resourceArn=SM, tags=[{"key": "team", "value": "shop"}])
    sfn.create_activity(name="approve")
    deadline = time.monotonic() + 20
    while sfn.describe_execution(executionArn=execution)["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    try:
        yield url, sfn, execution
    finally:
        server.close()
        drop_schema(url)


EXECUTION = object()  # the execution the module's server ran
SM = "arn:aws:states:us-east-1:111111111111:stateMachine:m"
VERSION, ALIAS = f"{SM}:1", f"{SM}:live"
ACTIVITY = "arn:aws:states:us-east-1:111111111111:activity:approve"
# (table locked, the call that must wait for it); the other requests read other tables.
BLOCKED: list[tuple[str, str, dict[str, Any]]] = [
    ("state_machines", "describe_state_machine", {"stateMachineArn": SM}),
    ("state_machines", "list_state_machines", {}),
    ("state_machines", "list_state_machine_versions", {"stateMachineArn": SM}),
    ("executions", "describe_execution", {"executionArn": EXECUTION}),
    ("executions", "describe_state_machine_for_execution", {"executionArn": EXECUTION}),
    ("executions", "list_executions", {"stateMachineArn": SM}),
    ("executions", "list_map_runs", {"executionArn": EXECUTION}),
    ("executions", "describe_map_run", {"mapRunArn": MAP_RUN}),
    ("history", "get_execution_history", {"executionArn": EXECUTION}),
    ("catalog", "list_state_machine_versions", {"stateMachineArn": SM}),
    ("catalog", "describe_state_machine", {"stateMachineArn": VERSION}),
    ("catalog", "list_state_machine_aliases", {"stateMachineArn": SM}),
    ("catalog", "describe_state_machine_alias", {"stateMachineAliasArn": ALIAS}),
    ("catalog", "list_tags_for_resource", {"resourceArn": SM}),
    ("catalog", "describe_activity", {"activityArn": ACTIVITY}),
    ("catalog", "list_activities", {}),
    ("catalog", "start_execution", {"stateMachineArn": VERSION}),  # versions.resolve
    ("catalog", "start_execution", {"stateMachineArn": ALIAS}),
]


@pytest.mark.parametrize(("table", "action", "params"), BLOCKED)
def test_a_read_waiting_on_the_database_holds_up_only_its_own_request(
    running: tuple[str, Any, str], table: str, action: str, params: dict[str, Any]
) -> None:
    url, sfn, execution = running
    params = {k: execution if v is EXECUTION else v for k, v in params.items()}
    # Another call, one that reads another table, is answered meanwhile.
    other: tuple[str, dict[str, Any]] = ("list_activities", {})
    if table == "state_machines":
        other = ("describe_execution", {"executionArn": execution})
    elif table == "catalog":  # DescribeExecution reads the catalog too
        other = ("get_execution_history", {"executionArn": execution})
    with psycopg.connect(url) as lock, ThreadPoolExecutor(2) as pool:
        lock.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        waiting: Future[Any] = pool.submit(_call, sfn, action, params)
        time.sleep(0.3)  # the request has reached the database and waits on the lock
        assert not waiting.done()
        answered = _call(sfn, *other)
        assert answered is not None
        assert not waiting.done()  # still waiting: the other was answered beside it
        lock.rollback()  # the lock goes: the waiting read is answered as usual
        waiting.result(timeout=20)


def _call(sfn: Any, action: str, params: dict[str, Any]) -> Any:
    try:
        return getattr(sfn, action)(**params)
    except sfn.exceptions.ResourceNotFound as exc:  # the made-up Map Run: an answer too
        return exc.response
