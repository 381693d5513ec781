"""RedriveExecution, including Sagaway's edited-input extension."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import Server
from tests.api.test_executions import LAMBDA, machine, wait_done
from tests.api.test_machines import error_code

SAGA = json.dumps({
    "StartAt": "First",
    "States": {
        "First": {"Type": "Task", "Resource": LAMBDA + "double", "ResultPath": "$.first",
                  "Next": "Second"},
        "Second": {"Type": "Task", "Resource": LAMBDA + "flaky", "End": True,
                   "Retry": [{"ErrorEquals": ["ValueError"], "MaxAttempts": 1,
                              "IntervalSeconds": 1}]},
    },
})  # fmt: skip


def test_redrive_from_the_failed_state(sfn: Any, server: Server) -> None:
    arn = machine(sfn, "saga", SAGA)
    ex = sfn.start_execution(stateMachineArn=arn, input='{"value": 1, "fail": true}')
    failed = wait_done(sfn, ex["executionArn"], timeout=15)
    assert (failed["status"], failed["error"], failed["redriveStatus"]) == (
        "FAILED", "ValueError", "REDRIVABLE",
    )  # fmt: skip
    # Plain AWS redrive: same input, fails the same way, First does not run again.
    sfn.redrive_execution(executionArn=ex["executionArn"])
    again = wait_done(sfn, ex["executionArn"], timeout=15)
    assert again["status"] == "FAILED" and again["redriveCount"] == 1
    # Sagaway's extension: the failed state's input, edited (a field boto3 does not know).
    edited = json.dumps({"value": 1, "first": {"value": 2}, "fail": False})
    response = httpx.post(
        server.url + "/",
        headers={"X-Amz-Target": "AWSStepFunctions.RedriveExecution",
                 "Content-Type": "application/x-amz-json-1.0"},
        content=json.dumps({"executionArn": ex["executionArn"], "input": edited}),
    )  # fmt: skip
    assert response.status_code == 200, response.text
    done = wait_done(sfn, ex["executionArn"], timeout=15)
    assert done["status"] == "SUCCEEDED" and done["redriveCount"] == 2
    assert json.loads(done["output"])["ok"] is True
    events = sfn.get_execution_history(executionArn=ex["executionArn"])["events"]
    types = [e["type"] for e in events]
    assert types.count("ExecutionRedriven") == 2
    assert types.count("LambdaFunctionSucceeded") == 2  # First once, Second at the end
    ids = [e["id"] for e in events]
    assert ids == list(range(1, len(ids) + 1))
    redriven = events[types.index("ExecutionRedriven")]
    assert redriven["executionRedrivenEventDetails"] == {"redriveCount": 1}
    assert types[types.index("ExecutionRedriven") + 1] == "TaskStateEntered"


def test_succeeded_execution_is_not_redrivable(sfn: Any) -> None:
    arn = machine(sfn, "ok", SAGA)
    ex = sfn.start_execution(stateMachineArn=arn, input='{"value": 1}')["executionArn"]
    assert wait_done(sfn, ex)["status"] == "SUCCEEDED"
    with pytest.raises(ClientError) as info:
        sfn.redrive_execution(executionArn=ex)
    assert error_code(info) == "ExecutionNotRedrivable"
