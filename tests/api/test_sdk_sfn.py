"""``arn:aws:states:::aws-sdk:sfn:*`` Tasks: one execution answering or starting another."""

from __future__ import annotations

import json
from typing import Any

from tests.api.test_callbacks import callback_machine, scheduled_token
from tests.api.test_executions import DOUBLE, machine, wait_done

SDK = "arn:aws:states:::aws-sdk:sfn:"


def sdk_machine(action: str, parameters: dict[str, Any]) -> str:
    task = {"Type": "Task", "Resource": SDK + action, "Parameters": parameters, "End": True}
    return json.dumps({"StartAt": "Call", "States": {"Call": task}})


def test_send_task_success_and_heartbeat_answer_another_execution(sfn: Any) -> None:
    waiting = machine(sfn, "waits", callback_machine(heartbeat=60))
    ex = sfn.start_execution(stateMachineArn=waiting)["executionArn"]
    token = scheduled_token(sfn, ex)
    beat = machine(sfn, "beat", sdk_machine("sendTaskHeartbeat", {"TaskToken.$": "$.t"}))
    answer = machine(sfn, "answer", sdk_machine(
        "sendTaskSuccess", {"TaskToken.$": "$.t", "Output": '{"paid": true}'}
    ))  # fmt: skip
    for arn in (beat, answer):
        run = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"t": token}))
        assert wait_done(sfn, run["executionArn"])["status"] == "SUCCEEDED"
    assert json.loads(wait_done(sfn, ex)["output"]) == {"paid": True}


def test_send_task_failure_after_the_answer_is_task_timed_out(sfn: Any) -> None:
    waiting = machine(sfn, "waits", callback_machine())
    ex = sfn.start_execution(stateMachineArn=waiting)["executionArn"]
    token = scheduled_token(sfn, ex)
    fail = machine(sfn, "fail", sdk_machine(
        "sendTaskFailure", {"TaskToken.$": "$.t", "Error": "Declined", "Cause": "card"}
    ))  # fmt: skip
    first = sfn.start_execution(stateMachineArn=fail, input=json.dumps({"t": token}))
    assert wait_done(sfn, first["executionArn"])["status"] == "SUCCEEDED"
    assert (wait_done(sfn, ex)["error"], wait_done(sfn, ex)["cause"]) == ("Declined", "card")
    again = sfn.start_execution(stateMachineArn=fail, input=json.dumps({"t": token}))
    late = wait_done(sfn, again["executionArn"])
    assert late["error"] == "Sfn.TaskTimedOutException"
    assert late["cause"].startswith("Task Timed Out: 'Provided task does not exist anymore' (")


def test_start_execution_serialises_an_object_input(sfn: Any) -> None:
    child = machine(sfn, "child", DOUBLE)
    starter = machine(sfn, "starter", sdk_machine(
        "startExecution", {"StateMachineArn": child, "Name": "c1", "Input": {"value": 4}}
    ))  # fmt: skip
    run = sfn.start_execution(stateMachineArn=starter)["executionArn"]
    output = json.loads(wait_done(sfn, run)["output"])
    assert output["ExecutionArn"].endswith(":execution:child:c1")
    assert output["StartDate"].endswith("Z")  # ISO 8601 text, as the SDK integration has it
    assert json.loads(wait_done(sfn, output["ExecutionArn"])["output"]) == {"value": 8}


def test_an_unknown_sfn_action_fails_clearly(sfn: Any) -> None:
    arn = machine(sfn, "nope", sdk_machine("listExecutions", {}))
    run = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    failed = wait_done(sfn, run)
    assert failed["error"] == "States.TaskFailed" and "not supported" in failed["cause"]
