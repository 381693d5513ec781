"""An execution that loops through Pass and Choice states without a Wait shares the server
with everything else and fails at AWS's history quota (a real ``sagaway serve``)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sagaway.asl.parser import parse_definition
from sagaway.interpreter import Start, advance, new_execution
from sagaway.interpreter.limits import AWS
from tests.api.serve_kit import ServeProcess, history, machine, wait_end

LOOP = json.dumps({
    "StartAt": "Count",
    "States": {
        "Count": {"Type": "Pass", "Next": "Again"},
        "Again": {"Type": "Choice", "Default": "Count",
                  "Choices": [{"Variable": "$.stop", "IsPresent": True, "Next": "Done"}]},
        "Done": {"Type": "Succeed"},
    },
})  # fmt: skip


def last_event(sfn: Any, arn: str) -> dict[str, Any]:
    page = sfn.get_execution_history(executionArn=arn, reverseOrder=True, maxResults=1)
    event: dict[str, Any] = page["events"][0]
    return event


QUICK = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})


def test_the_default_history_quota_is_awss() -> None:
    assert AWS.history_events == 25_000
    state = new_execution(execution_arn="arn:e", name="e", state_machine_arn="arn:m",
                          state_machine_name="m")  # fmt: skip
    step = advance(parse_definition(LOOP), state, Start({}), 0.0)  # pure: no budget
    assert len(step.history) == 25_000
    assert step.history[-1]["type"] == "ExecutionFailed"
    assert step.history[-1]["id"] == 25_000
    assert step.state.status == "FAILED"


def test_an_endless_loop_shares_the_server_and_fails_at_the_history_quota(
    tmp_path: Path,
) -> None:
    with ServeProcess(tmp_path / "loop.db") as server:  # AWS's default quota: 25,000
        sfn = server.sfn()
        loop = machine(sfn, "loop", LOOP)
        quick = machine(sfn, "quick", QUICK)
        before = server.rss_mib()
        began = time.monotonic()
        looping = sfn.start_execution(stateMachineArn=loop, input="{}")["executionArn"]
        answered = time.monotonic() - began
        slowest = 0.0
        # While it loops, other executions and API calls answer promptly.
        while sfn.describe_execution(executionArn=looping)["status"] == "RUNNING":
            t0 = time.monotonic()
            other = sfn.start_execution(stateMachineArn=quick, input="{}")["executionArn"]
            sfn.list_state_machines()
            assert wait_end(sfn, other)["status"] == "SUCCEEDED"
            slowest = max(slowest, time.monotonic() - t0)
        took = time.monotonic() - began
        ended = wait_end(sfn, looping)
        after = server.rss_mib()
        last = last_event(sfn, looping)

        # SIGKILL between two journaled steps of a loop: after a restart it goes on.
        second = sfn.start_execution(stateMachineArn=loop, input="{}")["executionArn"]
        assert sfn.describe_execution(executionArn=second)["status"] == "RUNNING"
        server.kill()
        server.start()
        sfn = server.sfn()
        resumed = wait_end(sfn, second)
        resumed_last = last_event(sfn, second)
    print(f"loop answered in {answered:.3f} s, failed after {took:.1f} s; "
          f"slowest other call {slowest:.3f} s; RSS {before:.0f} -> {after:.0f} MiB")  # fmt: skip
    assert after - before < 200  # unbounded, it grew by about 100 MB per second
    assert answered < 1.0
    assert slowest < 1.0
    assert ended["status"] == "FAILED"
    assert ended["error"] == "States.Runtime"
    assert ended["cause"] == "The execution reached the maximum number of history events (25000)."
    assert (last["id"], last["type"]) == (25_000, "ExecutionFailed")
    assert resumed["status"] == "FAILED"
    assert (resumed_last["id"], resumed_last["type"]) == (25_000, "ExecutionFailed")


def test_a_lower_quota_by_configuration_and_other_loops_alike(tmp_path: Path) -> None:
    with ServeProcess(tmp_path / "low.db", "--max-history-events", "500") as server:
        sfn = server.sfn()
        loop = machine(sfn, "loop", LOOP)
        arns: list[str] = []

        def start() -> None:
            arns.append(sfn.start_execution(stateMachineArn=loop, input="{}")["executionArn"])

        starters = [threading.Thread(target=start) for _ in range(4)]
        for starter in starters:
            starter.start()
        for starter in starters:
            starter.join()
        ended = [wait_end(sfn, arn) for arn in arns]
        assert {e["status"] for e in ended} == {"FAILED"}
        assert [e["id"] for e in history(sfn, arns[0])] == list(range(1, 501))
        assert "(500)" in ended[0]["cause"]
        # AWS cannot redrive an execution whose history is full.
        assert ended[0]["redriveStatus"] == "NOT_REDRIVABLE"
        assert ended[0]["redriveStatusReason"] == "Execution history event limit exceeded."
        with pytest.raises(ClientError) as raised:
            sfn.redrive_execution(executionArn=arns[0])
        assert raised.value.response["Error"]["Code"] == "ExecutionNotRedrivable"
