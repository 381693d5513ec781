"""The other parties of the corpus's callback, activity and nested-execution recordings.

A recorded case holds the execution AWS ran, not what the rest of the recording did around
it: the child state machines it created, the activity worker, the SQS consumer that answered
with the task token. The corpus names some of it (``callbacks[].helper``,
``service_setup_calls``); the rest is in the LocalStack test the case comes from
(``source_test``). This module plays those parties, keyed by that test's method name. The
child definitions are LocalStack's test templates (Apache-2.0), not corpus data.

Sagaway does not send the SQS message of a ``.waitForTaskToken`` Task: whoever holds the
token answers. The token holders here read the token where the message body would carry it,
from the Task's parameters in the TaskScheduled event, once the Task is submitted.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

CONSUMER = "BASE_ID_ACTIVITY_CONSUMER"  # the workerName LocalStack's activity consumers use

PASS_RESULT = {  # BaseTemplate.BASE_PASS_RESULT
    "Comment": "BASE_PASS_RESULT",
    "StartAt": "State_1",
    "States": {"State_1": {"Type": "Pass", "Result": {"Arg1": "argument1"}, "End": True}},
}
RAISE_FAILURE = {  # BaseTemplate.BASE_RAISE_FAILURE
    "Comment": "BASE_RAISE_FAILURE",
    "StartAt": "FailState",
    "States": {
        "FailState": {
            "Type": "Fail",
            "Error": "SomeFailure",
            "Cause": "This state machines raises a 'SomeFailure' failure.",
        }
    },
}
# ServicesTemplates.SQS_SEND_MESSAGE_AND_WAIT forwards the parent's token in an SQS message
# with this Message, then waits 60 s. The SQS hop is the token holder's job here, so the
# stand-in child only waits.
FORWARDED_MESSAGE = "SQS_SEND_MESSAGE_AND_WAIT"
WAIT_60 = {
    "Comment": "SQS_SEND_MESSAGE_AND_WAIT without the SQS message",
    "StartAt": "WaitState",
    "States": {"WaitState": {"Type": "Wait", "Seconds": 60, "End": True}},
}


def lambda_wait_with_timeout(function_arn: str) -> dict[str, Any]:
    """TimeoutTemplates.LAMBDA_WAIT_WITH_TIMEOUT_SECONDS, Resource filled in as the test did."""
    task = {"Type": "Task", "TimeoutSeconds": 1, "Resource": function_arn,
            "Parameters": {"Payload.$": "$.Payload"}, "End": True}  # fmt: skip
    return {"Comment": "LAMBDA_WAIT_WITH_TIMEOUT_SECONDS", "StartAt": "Start",
            "States": {"Start": task}}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Scenario:
    """What happened around one recorded execution."""

    child: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # case -> definition
    answer: str | None = None  # how the token holder answers (see ANSWERS)
    message: str | None = None  # the Message the token holder forwards, if not the body's
    worker: str | None = None  # how the activity worker behaves (see WORKERS)
    delete_activity: bool = False


def _timeout_child(case: dict[str, Any]) -> dict[str, Any]:
    (name,) = case["lambdas"]
    return lambda_wait_with_timeout(f"arn:aws:lambda:us-east-1:111111111111:function:{name}")


SCENARIOS: dict[str, Scenario] = {
    "test_activity_task_failure": Scenario(worker="fail"),
    "test_activity_task_no_worker_name": Scenario(worker="succeed_anonymously"),
    "test_activity_task_on_deleted": Scenario(delete_activity=True),
    "test_activity_task_start_timeout": Scenario(worker="take_only"),
    "test_activity_task_with_heartbeat": Scenario(worker="beat_and_succeed"),
    # The no-error-field tests answer SendTaskFailure with the token alone.
    "test_sqs_failure_in_wait_for_task_tok_no_error_field": Scenario(answer="empty_failure"),
    "test_sqs_wait_for_task_token_no_token_parameter": Scenario(),
    "test_sqs_wait_for_task_token_timeout": Scenario(),
    "test_heartbeat_timeout": Scenario(),
    "test_heartbeat_path_timeout": Scenario(),
    "test_start_execution_sync": Scenario(child=lambda case: PASS_RESULT),
    "test_start_execution_sync2": Scenario(child=lambda case: PASS_RESULT),
    "test_start_execution_sync_delegate_failure": Scenario(child=lambda case: RAISE_FAILURE),
    "test_start_execution_sync_delegate_timeout": Scenario(child=_timeout_child),
    "test_sync_with_task_token": Scenario(
        child=lambda case: WAIT_60, answer="task_success", message=FORWARDED_MESSAGE
    ),
    "test_start_execution": Scenario(child=lambda case: PASS_RESULT),
    "test_sfn_start_execution": Scenario(child=lambda case: PASS_RESULT),
    "test_sfn_start_execution_implicit_json_serialisation": Scenario(
        child=lambda case: PASS_RESULT
    ),
    "test_start_execution_no_such_arn": Scenario(),
    "test_invalid_jsonpath": Scenario(),
    "test_sfn_send_task_outcome_with_no_such_token": Scenario(),
}


def scenario(case: dict[str, Any]) -> Scenario | None:
    """The case's scenario; the recorded ``callbacks`` helper names the token holder."""
    method = case["source_test"]["test"].split("::")[-1].split("[")[0]
    found = SCENARIOS.get(method)
    helpers = [c["helper"] for c in case.get("callbacks") or []]
    if found is None and not helpers:
        return None
    found = found or Scenario()
    if helpers and found.answer is None:
        (helper,) = set(helpers)
        found = Scenario(found.child, helper, found.message, found.worker, found.delete_activity)
    return found


# -- token holders (the LocalStack fixtures' SQS consumers) ---------------------------------
def _succeed(sfn: Any, token: str, message: Any) -> None:
    sfn.send_task_success(taskToken=token, output=json.dumps(message))


def _fail(sfn: Any, token: str, message: Any) -> None:
    sfn.send_task_failure(taskToken=token, error="Failure error", cause="Failure cause")


def _beat_and_succeed(sfn: Any, token: str, message: Any) -> None:
    sfn.send_task_heartbeat(taskToken=token)
    _succeed(sfn, token, message)


def _empty_failure(sfn: Any, token: str, message: Any) -> None:
    sfn.send_task_failure(taskToken=token)


ANSWERS: dict[str, Callable[[Any, str, Any], None]] = {
    "task_success": _succeed,
    "task_failure": _fail,
    "heartbeat_and_task_success": _beat_and_succeed,
    "empty_failure": _empty_failure,
}


def _token_bodies(events: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
    """Per TaskScheduled event, the object that carries ``TaskToken`` in its parameters."""
    bodies: list[dict[str, Any] | None] = []
    for event in events:
        if event["type"] == "TaskScheduled":
            params = json.loads(event["taskScheduledEventDetails"]["parameters"])
            bodies.append(_find_token(params))
    return bodies


def _find_token(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict):
        if isinstance(value.get("TaskToken"), str):
            return value
        for item in value.values():
            found = _find_token(item)
            if found is not None:
                return found
    return None


def hold_tokens(sfn: Any, arn: str, plan: Scenario, stop: threading.Event) -> None:
    """Answer every task token the execution hands out, once its Task is submitted (the
    message that would carry the token exists only then), until ``stop``."""
    answer = ANSWERS[plan.answer] if plan.answer else None
    answered = 0
    while answer is not None and not stop.wait(0.02):
        events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        bodies = _token_bodies(events)
        submitted = sum(e["type"] == "TaskSubmitted" for e in events)
        while answered < min(len(bodies), submitted):
            body = bodies[answered]
            answered += 1
            if body is not None:
                message = plan.message if plan.message is not None else body.get("Message")
                answer(sfn, body["TaskToken"], message)


# -- activity workers (LocalStack's *_ACTIVITY_CONSUMER state machines) ----------------------
def _work(sfn: Any, worker: str, token: str, text: str) -> None:
    if worker == "fail":
        sfn.send_task_failure(taskToken=token, error="Programmatic Error", cause=text)
    elif worker == "beat_and_succeed":
        sfn.send_task_heartbeat(taskToken=token)
        sfn.send_task_success(taskToken=token, output=text)
    elif worker != "take_only":  # take_only: never answers, the Task times out
        sfn.send_task_success(taskToken=token, output=text)


def run_worker(sfn: Any, activity_arn: str, worker: str, stop: threading.Event) -> None:
    """Poll the activity until one task arrives, then do what the recorded consumer did."""
    named = {} if worker == "succeed_anonymously" else {"workerName": CONSUMER}
    while not stop.is_set():
        try:
            task = sfn.get_activity_task(activityArn=activity_arn, **named)
        except ClientError:
            return
        if task.get("taskToken"):
            _work(sfn, worker, task["taskToken"], task["input"])
            return
