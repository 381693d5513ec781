"""A real Sagaway API server on loopback (uvicorn in a thread) and boto3 clients for it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import uvicorn
from botocore.config import Config

from sagaway.api import ApiSecurity, create_app
from sagaway.resources.lambda_functions import FunctionRegistry
from tests.store.conftest import drop_schema, postgres_url

if TYPE_CHECKING:
    from tests.api.cluster_kit import Cluster


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    def __init__(
        self,
        db: Path,
        registry: FunctionRegistry,
        poll_timeout: float = 2.0,
        security: ApiSecurity | None = None,
        http_allow: tuple[str, ...] = (),
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_app(f"sqlite:///{db}", registry, poll_timeout=poll_timeout,
                         security=security, http_allow=http_allow)  # fmt: skip
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def client(url: str, key: str = "x", secret: str = "x") -> Any:
    return boto3.client(
        "stepfunctions",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(inject_host_prefix=False, retries={"max_attempts": 1}, read_timeout=30),
    )


def registry() -> FunctionRegistry:
    functions = FunctionRegistry()
    functions.register("double", lambda event, context: {"value": event["value"] * 2})
    functions.register("identity", lambda event, context: event)

    def flaky(event: Any, context: Any) -> Any:
        if event.get("fail"):
            raise ValueError("asked to fail")
        return {"ok": True, **event}

    functions.register("flaky", flaky)
    return functions


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with Server(tmp_path / "api.db", registry()) as running:
        yield running


@pytest.fixture
def sfn(server: Server) -> Any:
    return client(server.url)


ROLE = "arn:aws:iam::111111111111:role/test"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """Processes on a fresh PostgreSQL schema, dropped afterwards; the test fails under
    CI=true when PostgreSQL is missing, and skips otherwise."""
    from tests.api.cluster_kit import Cluster  # it imports this module's helpers

    url = postgres_url()
    running = Cluster(url, tmp_path)
    try:
        yield running
    finally:
        running.close()
        drop_schema(url)
