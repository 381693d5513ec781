"""Executions and their history through boto3 against a real server."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import ROLE
from tests.api.test_machines import error_code

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"
DOUBLE = json.dumps(
    {
        "StartAt": "Double",
        "States": {"Double": {"Type": "Task", "Resource": LAMBDA + "double", "End": True}},
    }
)
WAIT = json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "End": True}}})


def wait_done(sfn: Any, arn: str, timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described
        time.sleep(0.02)


def machine(sfn: Any, name: str, definition: str, kind: str = "STANDARD") -> str:
    arn: str = sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE, type=kind)[
        "stateMachineArn"
    ]
    return arn


def test_start_describe_history(sfn: Any) -> None:
    arn = machine(sfn, "double", DOUBLE)
    started = sfn.start_execution(stateMachineArn=arn, name="e1", input='{"value": 21}')
    assert started["executionArn"].endswith(":execution:double:e1")
    described = wait_done(sfn, started["executionArn"])
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"value": 42}
    assert described["redriveCount"] == 0
    events = sfn.get_execution_history(executionArn=started["executionArn"])["events"]
    assert [e["type"] for e in events] == [
        "ExecutionStarted", "TaskStateEntered", "LambdaFunctionScheduled",
        "LambdaFunctionStarted", "LambdaFunctionSucceeded", "TaskStateExited",
        "ExecutionSucceeded",
    ]  # fmt: skip
    for_execution = sfn.describe_state_machine_for_execution(executionArn=started["executionArn"])
    assert for_execution["definition"] == DOUBLE


def test_history_paging_reverse_and_without_data(sfn: Any) -> None:
    arn = machine(sfn, "h", DOUBLE)
    ex = sfn.start_execution(stateMachineArn=arn, input='{"value": 1}')["executionArn"]
    wait_done(sfn, ex)
    first = sfn.get_execution_history(executionArn=ex, maxResults=3)
    assert [e["id"] for e in first["events"]] == [1, 2, 3]
    rest = sfn.get_execution_history(executionArn=ex, nextToken=first["nextToken"])
    assert [e["id"] for e in rest["events"]] == [4, 5, 6, 7]
    reverse = sfn.get_execution_history(executionArn=ex, reverseOrder=True)["events"]
    assert [e["id"] for e in reverse] == [7, 6, 5, 4, 3, 2, 1]
    bare = sfn.get_execution_history(executionArn=ex, includeExecutionData=False)["events"]
    assert "input" not in bare[0]["executionStartedEventDetails"]


def test_same_name_same_input_is_the_running_execution(sfn: Any) -> None:
    arn = machine(sfn, "w", WAIT)
    first = sfn.start_execution(stateMachineArn=arn, name="once", input="{}")
    again = sfn.start_execution(stateMachineArn=arn, name="once", input="{}")
    assert again["executionArn"] == first["executionArn"]
    with pytest.raises(ClientError) as info:
        sfn.start_execution(stateMachineArn=arn, name="once", input='{"other": 1}')
    assert error_code(info) == "ExecutionAlreadyExists"
    stopped = sfn.stop_execution(executionArn=first["executionArn"], error="E", cause="C")
    assert stopped["stopDate"]
    described = sfn.describe_execution(executionArn=first["executionArn"])
    assert (described["status"], described["error"], described["cause"]) == ("ABORTED", "E", "C")


def test_list_executions_filters_and_pages(sfn: Any) -> None:
    arn = machine(sfn, "l", WAIT)
    arns = [sfn.start_execution(stateMachineArn=arn, name=f"x{i}")["executionArn"]
            for i in range(4)]  # fmt: skip
    sfn.stop_execution(executionArn=arns[0])
    running = sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]
    assert {e["executionArn"] for e in running} == set(arns[1:])
    first = sfn.list_executions(stateMachineArn=arn, maxResults=3)
    second = sfn.list_executions(stateMachineArn=arn, maxResults=3, nextToken=first["nextToken"])
    seen = [e["executionArn"] for e in first["executions"] + second["executions"]]
    assert sorted(seen) == sorted(arns) and "nextToken" not in second
    for ex in arns[1:]:
        sfn.stop_execution(executionArn=ex)


def test_execution_errors(sfn: Any) -> None:
    arn = machine(sfn, "errs", DOUBLE)
    missing = arn.replace("stateMachine:errs", "execution:errs:nope")
    with pytest.raises(ClientError) as info:
        sfn.describe_execution(executionArn=missing)
    assert error_code(info) == "ExecutionDoesNotExist"
    with pytest.raises(ClientError) as info:
        sfn.start_execution(stateMachineArn=arn + "x")
    assert error_code(info) == "StateMachineDoesNotExist"
    with pytest.raises(ClientError) as info:
        sfn.start_execution(stateMachineArn=arn, input="{not json")
    assert error_code(info) == "InvalidExecutionInput"
    with pytest.raises(ClientError) as info:
        sfn.start_execution(stateMachineArn=arn, name="bad name")
    assert error_code(info) == "InvalidName"
    with pytest.raises(ClientError) as info:
        sfn.list_executions(stateMachineArn=arn + "x")
    assert error_code(info) == "StateMachineDoesNotExist"


def test_start_sync_execution_on_express(sfn: Any) -> None:
    arn = machine(sfn, "fast", DOUBLE, "EXPRESS")
    answer = sfn.start_sync_execution(stateMachineArn=arn, input='{"value": 4}')
    assert answer["status"] == "SUCCEEDED"
    assert json.loads(answer["output"]) == {"value": 8}
    assert ":express:fast:" in answer["executionArn"]
    standard = machine(sfn, "slow", DOUBLE)
    with pytest.raises(ClientError) as info:
        sfn.start_sync_execution(stateMachineArn=standard, input='{"value": 4}')
    assert error_code(info) == "StateMachineTypeNotSupported"
