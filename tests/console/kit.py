"""A real Sagaway server with its console on loopback (uvicorn in a thread), a boto3 client
for it, and the example order saga with its handlers."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from sagaway.api import create_app
from sagaway.api.app import console_of
from sagaway.console import Console, ConsoleSettings
from sagaway.resources.lambda_functions import FunctionRegistry
from sagaway.resources.loader import load_functions
from tests.api.conftest import client, free_port

ROOT = Path(__file__).resolve().parents[2]
SAGA = (ROOT / "examples" / "order-saga.asl.json").read_text()
WAIT_DEFINITION = json.dumps(
    {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}
)
ROLE = "arn:aws:iam::111111111111:role/sagaway"


def order_functions() -> FunctionRegistry:
    registry = FunctionRegistry()
    load_functions(str(ROOT / "examples" / "order_functions.py"), registry)
    return registry


class ConsoleServer:
    def __init__(
        self, db_url: str, settings: ConsoleSettings | None = None,
        registry: FunctionRegistry | None = None,
    ) -> None:  # fmt: skip
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(db_url, registry or order_functions(), poll_timeout=2.0,
                              console=settings, host="127.0.0.1")  # fmt: skip
        self.console: Console = console_of(self.app)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.sfn: Any = client(self.url)
        self.clients: list[httpx.Client] = []

    def __enter__(self) -> ConsoleServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        for http in self.clients:
            http.close()
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def local_link(self) -> str:
        assert self.console.local is not None
        return self.url + self.console.local.path()

    def http(self, *, follow_redirects: bool = True) -> httpx.Client:
        """An HTTP client for this server (closed with it)."""
        http = httpx.Client(base_url=self.url, timeout=10, follow_redirects=follow_redirects)
        self.clients.append(http)
        return http

    def operator(self) -> httpx.Client:
        """An HTTP client signed in through the one-time local link."""
        http = self.http()
        answer = http.get(self.local_link())
        assert answer.status_code == 200, answer.text
        return http

    def saga(self, name: str = "order-saga", definition: str = SAGA) -> str:
        arn: str = self.sfn.create_state_machine(
            name=name, definition=definition, roleArn=ROLE
        )["stateMachineArn"]
        return arn

    def run(self, machine: str, name: str, payload: Any) -> dict[str, Any]:
        arn = self.sfn.start_execution(
            stateMachineArn=machine, name=name, input=json.dumps(payload)
        )["executionArn"]
        return self.wait(arn)

    def wait(self, arn: str, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            found: dict[str, Any] = self.sfn.describe_execution(executionArn=arn)
            if found["status"] != "RUNNING" or time.monotonic() > deadline:
                return found
            time.sleep(0.02)


def csrf(page: str) -> str:
    marker = 'name="csrf_token" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]
