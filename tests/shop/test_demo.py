"""``sagaway demo`` end to end in a subprocess: 200 orders, failures injected at every step,
the engine process SIGKILLed midway and restarted; then the audit, re-run here from the
databases the demo left behind."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from sagaway import DeadLetterQueue
from shop.audit import run_audit
from shop.config import ShopConfig
from shop.intake import dev_token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_small_demo_with_a_crash_keeps_every_invariant(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    cmd = [sys.executable, "-m", "sagaway", "demo", "--orders", "200", "--workdir", str(workdir),
           "--port", str(free_port()), "--seed", "11"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SIGKILL to the engine process" in done.stdout
    assert "audit passed" in done.stdout
    assert "operator: faults off, redrove" in done.stdout
    assert "after the redrive" in done.stdout
    audit = run_audit(ShopConfig(workdir=workdir))
    assert audit.ok, audit.checks
    assert sum(audit.counts.values()) == 200
    assert audit.counts.get("CONFIRMED", 0) > 0 and audit.counts.get("CANCELLED_COMPENSATED", 0) > 0
    # The operator phase redrove every parked order: no dead letter is left waiting unless
    # its order parked again (then it has a new one, which the audit checks).
    assert audit.counts.get("NEEDS_REVIEW", 0) == len(DeadLetterQueue(
        ShopConfig(workdir=workdir).url("orders")).list())  # fmt: skip


def test_demo_serve_leaves_the_intake_and_the_step_functions_api_running(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    intake, api = free_port(), free_port()
    cmd = [sys.executable, "-m", "sagaway", "demo", "--orders", "40", "--workdir", str(workdir),
           "--no-crash", "--no-redrive", "--serve", "--port", str(intake),
           "--api-port", str(api)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        lines = _read_until(proc, "Ctrl-C")  # the end of the "serving: ..." message
        printed = "".join(lines).replace("\n", "")
        assert f"127.0.0.1:{api}" in printed, lines
        key = re.search(r"AWS_ACCESS_KEY_ID=(\S+)", "".join(lines))
        secret = re.search(r"AWS_SECRET_ACCESS_KEY=(\S+)", "".join(lines))
        assert key and secret, lines
        url = f"http://127.0.0.1:{api}"
        anyone = boto3.client("stepfunctions", endpoint_url=url, region_name="us-east-1",
                              config=Config(signature_version=UNSIGNED))  # fmt: skip
        machines = anyone.list_state_machines()["stateMachines"]  # reads are open
        with pytest.raises(ClientError, match="AccessDeniedException"):
            anyone.start_execution(stateMachineArn=machines[0]["stateMachineArn"])
        guessed = boto3.client("stepfunctions", endpoint_url=url, region_name="us-east-1",
                               aws_access_key_id="x", aws_secret_access_key="x")  # fmt: skip
        with pytest.raises(ClientError, match="UnrecognizedClientException"):
            guessed.list_state_machines()
        # The operator console on the same port, with the shop's pages, behind its link.
        link = "".join(_read_until(proc, "token=")).split("sign in at ")[-1].strip()
        with httpx.Client(follow_redirects=True) as browser:
            assert browser.get(link).status_code == 200
            letters = browser.get(f"http://127.0.0.1:{api}/console/dead-letters")
            assert letters.status_code == 200 and "Dead letters" in letters.text
        sfn = boto3.client("stepfunctions", endpoint_url=url, region_name="us-east-1",
                           aws_access_key_id=key[1], aws_secret_access_key=secret[1])  # fmt: skip
        machines = sfn.list_state_machines()["stateMachines"]
        assert [m["name"] for m in machines] == ["OrderSaga"]
        arn = machines[0]["stateMachineArn"]
        executions = sfn.list_executions(stateMachineArn=arn, maxResults=100)["executions"]
        assert len(executions) >= 40  # one saga per accepted order (plus any resumptions)
        done = next(e for e in executions if e["status"] == "SUCCEEDED")
        events = sfn.get_execution_history(executionArn=done["executionArn"])["events"]
        assert events[0]["type"] == "ExecutionStarted"
        assert events[-1]["type"] == "ExecutionSucceeded"
        # A new order through the intake becomes an execution the API shows.
        token = dev_token("c1")
        answer = httpx.post(f"http://127.0.0.1:{intake}/orders", json=_cart(),
                            headers={"Authorization": f"Bearer {token}",
                                     "Idempotency-Key": "explore-1"})  # fmt: skip
        assert answer.status_code == 202, answer.text
        order_id = answer.json()["orderId"]
        described = _wait_for_execution(sfn, arn, order_id)
        assert described["name"] == order_id
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)  # drains and closes the pipe


def _read_until(proc: subprocess.Popen[str], marker: str) -> list[str]:
    assert proc.stdout is not None
    lines: list[str] = []
    for line in proc.stdout:
        lines.append(line)
        if marker in line:
            return lines
    raise AssertionError("the demo ended before serving:\n" + "".join(lines))


def _cart() -> dict[str, object]:
    return {"customerId": "c1", "items": [{"sku": "tee", "qty": 1, "price": 25.0}],
            "card": "4242424242424242", "address": "1 Main St", "points": 0}  # fmt: skip


def _wait_for_execution(sfn: Any, machine_arn: str, name: str) -> dict[str, Any]:
    arn = machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"
    deadline = time.monotonic() + 30
    while True:
        try:
            described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
            return described
        except sfn.exceptions.ExecutionDoesNotExist:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
