"""``sagaway serve`` as a real process, and the clients that drive it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.api.conftest import free_port

BIN = Path(sys.executable).parent


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
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(self.url + "/console", timeout=1)
                return self
            except httpx.TransportError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(self.log.read_text()) from None
                time.sleep(0.1)

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
