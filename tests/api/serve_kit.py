"""``sagaway serve`` as a real subprocess on loopback, and the clients that drive it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.api.conftest import client, free_port

BIN = Path(sys.executable).parent
FUNCTIONS = str(Path(__file__).with_name("limits_functions.py"))
ROLE = "arn:aws:iam::111111111111:role/test"


def wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until the server answers HTTP; RuntimeError with its log if it ends or takes 20 s."""
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(url + "/healthz", timeout=1)
            return
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()  # a context that fails to enter never exits: leave nothing
                process.wait()
                raise RuntimeError(log.read_text(errors="replace")) from None
            time.sleep(0.05)


class ServeProcess:
    def __init__(self, db: Path, *options: str) -> None:
        self.db = db
        self.options = options
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = db.with_suffix(".log")  # a file: a full pipe would block the server

    def start(self) -> ServeProcess:
        with self.log.open("ab") as log:
            self.process = self._spawn(log)
        try:
            wait_until_serving(self.url, self.process, self.log)
        except RuntimeError:
            self.kill()
            raise
        return self

    def _spawn(self, log: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [str(BIN / "sagaway"), "serve", "--db", f"sqlite:///{self.db}",
             "--port", str(self.port), "--functions", FUNCTIONS, *self.options],
            stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip

    def sfn(self, read_timeout: float = 30) -> Any:
        sfn = client(self.url)
        sfn.meta.config.read_timeout = read_timeout
        return sfn

    def terminate(self) -> float:
        """SIGTERM; the seconds until the process had exited."""
        assert self.process is not None
        began = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        return time.monotonic() - began

    def rss_mib(self) -> float:
        """The server's resident memory (Linux /proc)."""
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))
        return int(kib) / 1024

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def __enter__(self) -> ServeProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()


def machine(sfn: Any, name: str, definition: str, kind: str = "STANDARD") -> str:
    created = sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE, type=kind)
    arn: str = created["stateMachineArn"]
    return arn


def wait_end(sfn: Any, arn: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        if time.monotonic() > deadline:
            raise AssertionError(f"{arn} still RUNNING after {timeout} s")
        time.sleep(0.05)


def history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(
        executionArn=arn, PaginationConfig={"PageSize": 1000}
    ):
        events.extend(page["events"])
    return events



class Serve:
    """``sagaway serve ARGS`` on a free loopback port; stderr kept for the startup line."""

    def __init__(self, tmp: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"serve-{self.port}.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [str(BIN / "sagaway"), "serve", "--db", f"sqlite:///{tmp / 'serve.db'}",
                 "--port", str(self.port), *args],
                stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, **(env or {})},
            )  # fmt: skip

    def __enter__(self) -> Serve:
        wait_until_serving(self.url, self.process, self.log)
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)

    def stderr(self) -> str:
        return self.log.read_text()


def aws(url: str, key: str, secret: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull,
           "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
           "AWS_DISABLE_HOST_PREFIX_INJECTION": "true"}  # fmt: skip
    return subprocess.run(
        [str(BIN / "aws"), "stepfunctions", *args, "--endpoint-url", url, "--output", "json"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
