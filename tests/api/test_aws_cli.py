"""The real ``sagaway serve`` command, driven by the real AWS CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import free_port

BIN = Path(sys.executable).parent


def aws(url: str, *args: str) -> dict[str, object]:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull,
           "AWS_SHARED_CREDENTIALS_FILE": os.devnull}  # fmt: skip
    done = subprocess.run(
        [str(BIN / "aws"), "stepfunctions", *args, "--endpoint-url", url, "--output", "json"],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    )  # fmt: skip
    result: dict[str, object] = json.loads(done.stdout) if done.stdout.strip() else {}
    return result


@pytest.mark.skipif(shutil.which("aws", path=str(BIN)) is None, reason="awscli not installed")
def test_aws_cli_against_sagaway_serve(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(BIN / "sagaway"), "serve", "--db", f"sqlite:///{tmp_path / 'cli.db'}",
         "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(url + "/console", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert aws(url, "list-state-machines") == {"stateMachines": []}
        definition = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
        created = aws(url, "create-state-machine", "--name", "cli", "--definition", definition,
                      "--role-arn", "arn:aws:iam::111111111111:role/r")  # fmt: skip
        started = aws(url, "start-execution", "--state-machine-arn",
                      str(created["stateMachineArn"]), "--input", '{"a": 1}')  # fmt: skip
        for _ in range(100):
            described = aws(url, "describe-execution", "--execution-arn",
                            str(started["executionArn"]))  # fmt: skip
            if described["status"] != "RUNNING":
                break
        assert described["status"] == "SUCCEEDED"
        assert json.loads(str(described["output"])) == {"a": 1}
    finally:
        server.terminate()
        server.wait(timeout=20)
