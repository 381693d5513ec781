"""DescribeExecution of an execution that ran past its TimeoutSeconds.

https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html:
``error`` and ``cause`` are "the error string / the cause string if the state machine
execution failed"; a TIMED_OUT execution's description has neither, while its history ends
in ExecutionTimedOut with error States.Timeout.
"""

from __future__ import annotations

import json
import time
from typing import Any

from tests.api.conftest import ROLE


def test_a_timed_out_execution_is_described_without_error_or_cause(sfn: Any) -> None:
    definition = {
        "TimeoutSeconds": 1,
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}},
    }
    arn = sfn.create_state_machine(
        name="global-timeout", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    deadline = time.monotonic() + 15
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert described["status"] == "TIMED_OUT"
    assert "error" not in described and "cause" not in described
    events = sfn.get_execution_history(executionArn=execution)["events"]
    assert events[-1]["type"] == "ExecutionTimedOut"
    assert events[-1]["executionTimedOutEventDetails"]["error"] == "States.Timeout"
