"""Task state: InvokeTask with the effective payload; continue on TaskSucceeded/Failed/TimedOut."""

from __future__ import annotations

from typing import Any

import pytest

from sagaway.interpreter import InvokeTask, TaskTimedOut, advance
from tests.interpreter.kit import (
    EXEC_ARN,
    LAMBDA_ARN,
    T0,
    T0_ISO,
    machine,
    only_invoke,
    start,
    succeed,
    types,
)


def test_invoke_task_carries_resource_payload_timeouts_and_context() -> None:
    m = machine(
        {
            "Reserve": {
                "Type": "Task",
                "Resource": LAMBDA_ARN,
                "InputPath": "$.order",
                "Parameters": {"sku.$": "$.sku", "qty": 1},
                "TimeoutSeconds": 30,
                "HeartbeatSeconds": 10,
                "End": True,
            }
        }
    )
    cmd = only_invoke(start(m, {"order": {"sku": "A1"}}))
    assert isinstance(cmd, InvokeTask)
    assert cmd.state_name == "Reserve"
    assert cmd.resource == LAMBDA_ARN
    assert cmd.payload == {"sku": "A1", "qty": 1}
    assert (cmd.timeout_seconds, cmd.heartbeat_seconds) == (30, 10)
    assert cmd.context["Execution"]["Id"] == EXEC_ARN
    assert cmd.context["State"] == {"EnteredTime": T0_ISO, "Name": "Reserve", "RetryCount": 0}


def test_timeout_seconds_path_reads_the_input() -> None:
    m = machine(
        {
            "T": {
                "Type": "Task",
                "Resource": LAMBDA_ARN,
                "TimeoutSecondsPath": "$.limit",
                "End": True,
            }
        }
    )
    assert only_invoke(start(m, {"limit": 12})).timeout_seconds == 12


def test_task_succeeded_continues_with_the_result() -> None:
    m = machine(
        {
            "T": {"Type": "Task", "Resource": LAMBDA_ARN, "ResultPath": "$.res", "Next": "N"},
            "N": {"Type": "Pass", "End": True},
        }
    )
    done = succeed(m, start(m, {"in": 1}), {"out": 2}, now=T0 + 3)
    assert done.state.output == {"in": 1, "res": {"out": 2}}
    assert types(done.history)[:3] == [
        "LambdaFunctionSucceeded",
        "TaskStateExited",
        "PassStateEntered",
    ]


def test_task_timed_out_is_states_timeout_and_can_be_caught() -> None:
    m = machine(
        {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "slow"},
                "TimeoutSeconds": 5,
                "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.t", "Next": "Late"}],
                "End": True,
            },
            "Late": {"Type": "Pass", "End": True},
        }
    )
    step = start(m, {})
    out = advance(m, step.state, TaskTimedOut(only_invoke(step).token), T0 + 5)
    assert types(out.history)[0] == "TaskTimedOut"
    assert out.history[0]["taskTimedOutEventDetails"]["error"] == "States.Timeout"
    assert out.state.output == {"t": {"Error": "States.Timeout", "Cause": ""}}


def test_task_token_is_readable_from_parameters() -> None:
    # AWS documents handing the callback token on with "TaskToken.$": "$$.Task.Token".
    m = machine(
        {
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}},
                "End": True,
            }
        }
    )
    step = start(m, {})
    assert step.state.status == "RUNNING", step.state.cause
    cmd = only_invoke(step)
    assert cmd.payload == {"QueueUrl": "q", "MessageBody": {"token": cmd.token}}


def test_task_token_integration_puts_the_token_in_the_command_context() -> None:
    m = machine(
        {
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": "q"},
                "End": True,
            }
        }
    )
    cmd = only_invoke(start(m, {}))
    assert cmd.context["Task"]["Token"] == cmd.token


def test_sync_task_token_is_readable_from_parameters() -> None:
    # Recorded AWS runs hand a .sync Task's token on, and SendTaskSuccess on it ends the Task.
    m = machine(
        {
            "Run": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync",
                "Parameters": {"StateMachineArn": "sm", "Input": {"TaskToken.$": "$$.Task.Token"}},
                "End": True,
            }
        }
    )
    cmd = only_invoke(start(m, {}))
    assert cmd.payload["Input"] == {"TaskToken": cmd.token}


def _heartbeat_task(error_equals: str) -> Any:
    return machine(
        {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "HeartbeatSeconds": 5,
                "Catch": [{"ErrorEquals": [error_equals], "ResultPath": "$.t", "Next": "Late"}],
                "End": True,
            },
            "Late": {"Type": "Pass", "End": True},
        }
    )


@pytest.mark.parametrize("error_equals", ["States.HeartbeatTimeout", "States.Timeout"])
def test_missed_heartbeat_is_states_timeout_caught_by_either_name(error_equals: str) -> None:
    # AWS reports States.Timeout; States.HeartbeatTimeout is a name Retry and Catch accept.
    m = _heartbeat_task(error_equals)
    step = start(m, {})
    missed = TaskTimedOut(only_invoke(step).token, "States.HeartbeatTimeout")
    out = advance(m, step.state, missed, T0 + 5)
    assert out.history[0]["taskTimedOutEventDetails"]["error"] == "States.Timeout"
    assert out.state.output == {"t": {"Error": "States.Timeout", "Cause": ""}}


def test_a_plain_timeout_is_not_caught_as_heartbeat_timeout() -> None:
    m = _heartbeat_task("States.HeartbeatTimeout")
    step = start(m, {})
    out = advance(m, step.state, TaskTimedOut(only_invoke(step).token), T0 + 5)
    assert (out.state.status, out.state.error) == ("FAILED", "States.Timeout")
