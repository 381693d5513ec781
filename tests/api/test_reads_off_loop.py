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
