"""What a Task that times out reports: the error, and a cause that is absent or empty.

https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html:
``States.Timeout`` is "a Task state either ran longer than the TimeoutSeconds value, or failed
to send a heartbeat for a period longer than the HeartbeatSeconds value"; a Catch hands on
"the error output ... a JSON object with the fields Error and Cause". The page does not say
what Cause a timeout carries. AWS's recorded runs do (LocalStack's AWS-validated snapshots
``error_handling/test_task_service_lambda.snapshot.json`` ``test_invoke_timeout`` and
``timeouts/test_timeouts.snapshot.json``): the ``TaskTimedOut`` event and ``ExecutionFailed``
carry the error only, while the caught error output is
``{"Error": "States.Timeout", "Cause": ""}``. A missed heartbeat is recorded as the same
``TaskTimedOut`` with ``States.Timeout`` (``timeouts/test_heartbeats.snapshot.json``), so it
is handed on the same way.
"""

from __future__ import annotations

import pytest

from sagaway.interpreter import TaskTimedOut, advance
from tests.interpreter.kit import T0, machine, only_invoke, start

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
CALLBACK = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"


def _task(resource: str, caught: bool) -> dict[str, object]:
    body: dict[str, object] = {
        "Type": "Task",
        "Resource": resource,
        "Parameters": {"FunctionName": "slow", "QueueUrl": "q", "MessageBody": "m"},
        "TimeoutSeconds": 5,
        "HeartbeatSeconds": 2,
        "End": True,
    }
    if caught:
        body["Catch"] = [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": "H"}]
    return body


@pytest.mark.parametrize(
    ("resource", "missed"),
    [(LAMBDA_INVOKE, "States.Timeout"), (CALLBACK, "States.HeartbeatTimeout")],
)
def test_a_caught_timeout_hands_on_an_empty_cause(resource: str, missed: str) -> None:
    m = machine({"T": _task(resource, caught=True), "H": {"Type": "Pass", "End": True}})
    step = start(m, {"a": 1})
    out = advance(m, step.state, TaskTimedOut(only_invoke(step).token, missed), T0 + 5)
    assert out.history[0]["type"] == "TaskTimedOut"
    assert out.history[0]["taskTimedOutEventDetails"]["error"] == "States.Timeout"
    assert "cause" not in out.history[0]["taskTimedOutEventDetails"]
    assert out.state.output == {"a": 1, "error": {"Error": "States.Timeout", "Cause": ""}}


def test_an_uncaught_timeout_fails_the_execution_without_a_cause() -> None:
    m = machine({"T": _task(LAMBDA_INVOKE, caught=False)})
    step = start(m, {})
    out = advance(m, step.state, TaskTimedOut(only_invoke(step).token), T0 + 5)
    assert (out.state.status, out.state.error, out.state.cause) == (
        "FAILED",
        "States.Timeout",
        None,
    )
    assert out.history[-1]["executionFailedEventDetails"] == {"error": "States.Timeout"}


def test_a_heartbeat_without_a_timeout_schedules_the_heartbeat_only() -> None:
    """``timeouts/test_heartbeats.snapshot.json`` ``test_heartbeat_no_timeout``: the
    TaskScheduled event names ``heartbeatInSeconds`` and no ``timeoutInSeconds``; the missed
    heartbeat ends the execution with ``States.Timeout`` and no cause."""
    body = _task(CALLBACK, caught=False)
    del body["TimeoutSeconds"]
    m = machine({"T": body})
    step = start(m, {})
    [scheduled] = [e for e in step.history if e["type"] == "TaskScheduled"]
    timing = scheduled["taskScheduledEventDetails"]
    assert timing["heartbeatInSeconds"] == 2
    assert "timeoutInSeconds" not in timing
    missed = TaskTimedOut(only_invoke(step).token, "States.HeartbeatTimeout")
    out = advance(m, step.state, missed, T0 + 2)
    assert [e["type"] for e in out.history] == ["TaskTimedOut", "ExecutionFailed"]
    assert out.history[-1]["executionFailedEventDetails"] == {"error": "States.Timeout"}
