"""State life cycle and the execution history it writes (GetExecutionHistory's events)."""

from __future__ import annotations

import json

from sagaway.interpreter import advance
from sagaway.interpreter.messages import Stop
from tests.interpreter.kit import (
    LAMBDA_ARN,
    ROLE_ARN,
    T0,
    fail,
    machine,
    only_invoke,
    start,
    succeed,
    types,
)


def _pass_task_succeed(resource: str, **task: object) -> object:
    return machine(
        {
            "Prepare": {
                "Type": "Pass",
                "Result": {"sku": "A1"},
                "ResultPath": "$.item",
                "Next": "Charge",
            },
            "Charge": {"Type": "Task", "Resource": resource, "Next": "Done", **task},
            "Done": {"Type": "Succeed"},
        }
    )


def test_pass_task_succeed_history_with_a_lambda_function_arn() -> None:
    m = _pass_task_succeed(LAMBDA_ARN)
    first = start(m, {"order": 1})
    second = succeed(m, first, {"charged": True}, now=T0 + 2)
    history = first.history + second.history
    assert types(history) == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "TaskStateEntered",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
        "TaskStateExited",
        "SucceedStateEntered",
        "SucceedStateExited",
        "ExecutionSucceeded",
    ]
    assert [e["id"] for e in history] == list(range(1, 12))
    # AWS: ExecutionStarted and the first state's entry both point at event 0; every later
    # event points at the one before it in this single thread of control.
    assert [e["previousEventId"] for e in history] == [0, 0, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert [e["timestamp"] for e in history] == [T0] * 6 + [T0 + 2] * 5


def test_execution_started_details_carry_input_text_and_role() -> None:
    m = _pass_task_succeed(LAMBDA_ARN)
    started = start(m, {"order": 1}).history[0]
    assert started["executionStartedEventDetails"] == {
        "input": '{"order":1}',
        "inputDetails": {"truncated": False},
        "roleArn": ROLE_ARN,
    }


def test_state_entered_and_exited_details_are_json_text() -> None:
    m = _pass_task_succeed(LAMBDA_ARN)
    history = start(m, {"order": 1}).history
    entered, exited, task_entered = history[1], history[2], history[3]
    assert entered["stateEnteredEventDetails"] == {
        "name": "Prepare",
        "input": '{"order":1}',
        "inputDetails": {"truncated": False},
    }
    assert json.loads(exited["stateExitedEventDetails"]["output"]) == {
        "order": 1,
        "item": {"sku": "A1"},
    }
    assert exited["stateExitedEventDetails"]["name"] == "Prepare"
    assert (
        task_entered["stateEnteredEventDetails"]["input"]
        == exited["stateExitedEventDetails"]["output"]
    )


def test_lambda_function_events_name_the_function_and_the_input() -> None:
    m = _pass_task_succeed(LAMBDA_ARN, TimeoutSeconds=30)
    first = start(m, {"order": 1})
    scheduled = first.history[4]
    assert scheduled["lambdaFunctionScheduledEventDetails"] == {
        "resource": LAMBDA_ARN,
        "input": '{"order":1,"item":{"sku":"A1"}}',
        "inputDetails": {"truncated": False},
        "timeoutInSeconds": 30,
    }
    done = succeed(m, first, {"charged": True})
    assert done.history[0]["lambdaFunctionSucceededEventDetails"] == {
        "output": '{"charged":true}',
        "outputDetails": {"truncated": False},
    }


def test_lambda_invoke_integration_uses_task_events() -> None:
    m = _pass_task_succeed(
        "arn:aws:states:::lambda:invoke",
        Parameters={"FunctionName": "charge", "Payload.$": "$"},
    )
    first = start(m, {"order": 1})
    second = succeed(m, first, {"Payload": {"charged": True}, "StatusCode": 200})
    assert types(first.history)[3:] == ["TaskStateEntered", "TaskScheduled", "TaskStarted"]
    assert types(second.history)[:2] == ["TaskSucceeded", "TaskStateExited"]
    scheduled = first.history[4]["taskScheduledEventDetails"]
    assert scheduled["resourceType"] == "lambda"
    assert scheduled["resource"] == "invoke"
    assert scheduled["region"] == "us-east-1"
    assert json.loads(scheduled["parameters"]) == {
        "FunctionName": "charge",
        "Payload": {"order": 1, "item": {"sku": "A1"}},
    }
    assert first.history[5]["taskStartedEventDetails"] == {
        "resourceType": "lambda",
        "resource": "invoke",
    }
    succeeded = second.history[0]["taskSucceededEventDetails"]
    assert succeeded["resourceType"] == "lambda"
    assert json.loads(succeeded["output"]) == {"Payload": {"charged": True}, "StatusCode": 200}


def test_task_failure_without_catch_fails_the_execution() -> None:
    m = _pass_task_succeed(LAMBDA_ARN)
    first = start(m, {})
    failed = fail(m, first, "CardDeclined", "insufficient funds", now=T0 + 1)
    assert types(failed.history) == ["LambdaFunctionFailed", "ExecutionFailed"]
    assert failed.history[0]["lambdaFunctionFailedEventDetails"] == {
        "error": "CardDeclined",
        "cause": "insufficient funds",
    }
    assert failed.history[1]["executionFailedEventDetails"] == {
        "error": "CardDeclined",
        "cause": "insufficient funds",
    }
    assert failed.state.status == "FAILED"
    assert (failed.state.error, failed.state.cause) == ("CardDeclined", "insufficient funds")


def test_stop_writes_execution_aborted_after_the_last_event() -> None:
    m = _pass_task_succeed(LAMBDA_ARN)
    first = start(m, {})
    stopped = advance(m, first.state, Stop(), T0 + 4)
    assert types(stopped.history) == ["TaskStateAborted", "ExecutionAborted"]
    aborted = stopped.history[-1]
    assert aborted["id"] == first.history[-1]["id"] + 2
    assert aborted["timestamp"] == T0 + 4
    assert stopped.state.status == "ABORTED"
    # A second Stop is a no-op.
    again = advance(m, stopped.state, Stop("x"), T0 + 5)
    assert again.history == [] and again.state.error is None


def test_state_exited_records_assigned_variables() -> None:
    m = machine({"Keep": {"Type": "Pass", "Assign": {"total": 12, "who.$": "$.name"}, "End": True}})
    exited = start(m, {"name": "ada"}).history[2]
    assert exited["stateExitedEventDetails"]["assignedVariables"] == {
        "total": "12",
        "who": '"ada"',
    }
    assert exited["stateExitedEventDetails"]["assignedVariablesDetails"] == {"truncated": False}


def test_each_entry_counts_and_gets_a_fresh_task_token() -> None:
    m = machine(
        {
            "Work": {"Type": "Task", "Resource": LAMBDA_ARN, "Next": "Again"},
            "Again": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.more", "BooleanEquals": True, "Next": "Work"}],
                "Default": "End",
            },
            "End": {"Type": "Succeed"},
        }
    )
    first = start(m, {})
    second = succeed(m, first, {"more": True})
    assert only_invoke(first).token != only_invoke(second).token
    third = succeed(m, second, {"more": False})
    assert third.state.status == "SUCCEEDED"
    assert types(first.history + second.history + third.history).count("TaskStateEntered") == 2
