"""Values AWS refuses are refused at the boundary, and a step the engine cannot record
fails its execution instead of wedging it (a real ``sagaway serve``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.api.serve_kit import ServeProcess, machine, wait_end

ACCOUNT = "arn:aws:lambda:us-east-1:111111111111:function:"


def task(function: str) -> str:
    return json.dumps({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": ACCOUNT + function, "End": True}}})  # fmt: skip


BIG_RESULT = (
    '{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"n": 1%s}, "End": true}}}'
)
WAITS = json.dumps({"StartAt": "W", "TimeoutSeconds": 3, "States": {
    "W": {"Type": "Wait", "Seconds": 600, "End": True}}})  # fmt: skip
NESTS = json.dumps({"StartAt": "Wrap", "States": {
    "Wrap": {"Type": "Pass", "Parameters": {"v.$": "$"}, "Next": "Check"},
    "Check": {"Type": "Choice", "Default": "Wrap",
              "Choices": [{"Variable": "$.stop", "IsPresent": True, "Next": "Done"}]},
    "Done": {"Type": "Succeed"}}})  # fmt: skip


BAD_INPUTS = ['{"n": NaN}', '{"n": Infinity}', "[1e400]", '{"n": 1%s}' % ("0" * 400),
              "[" * 5000 + "]" * 5000]  # fmt: skip
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})


def test_boundaries_refuse_what_aws_refuses_and_faults_fail_one_execution(
    tmp_path: Path,
) -> None:
    with ServeProcess(tmp_path / "faults.db") as server:
        sfn = server.sfn()
        plain = machine(sfn, "plain", PASS)
        for text in BAD_INPUTS:
            with pytest.raises(ClientError) as raised:
                sfn.start_execution(stateMachineArn=plain, input=text)
            assert raised.value.response["Error"]["Code"] == "InvalidExecutionInput", text
        assert sfn.list_executions(stateMachineArn=plain)["executions"] == []

        outcomes = {}
        for function in ("huge_integer", "not_a_number", "infinity", "deep_list",
                         "unprintable_error"):  # fmt: skip
            arn = machine(sfn, function, task(function))
            started = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
            outcomes[function] = wait_end(sfn, started)
        for function in ("huge_integer", "not_a_number", "infinity", "deep_list"):
            assert outcomes[function]["status"] == "FAILED"
            assert outcomes[function]["error"] == "Runtime.MarshalError", function
        assert outcomes["unprintable_error"]["error"] == "Unprintable"
        assert "<exception str() failed>" in outcomes["unprintable_error"]["cause"]

        # A 400-digit integer in a definition is refused when the definition is read.
        with pytest.raises(ClientError) as raised:
            machine(sfn, "big", BIG_RESULT % ("0" * 400))
        assert raised.value.response["Error"]["Code"] == "InvalidDefinition"
        # State nested deeper on every turn: the step cannot be journaled, so the execution
        # fails (never stays RUNNING).
        arn = machine(sfn, "nests", NESTS)
        started = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
        ended = wait_end(sfn, started)
        assert ended["status"] == "FAILED"
        assert ended["error"] == "States.Runtime"
        assert "while recording a step" in ended["cause"]

        # TimeoutSeconds and StopExecution still work, also after a SIGKILL and restart.
        waits = machine(sfn, "waits", WAITS)
        timed = sfn.start_execution(stateMachineArn=waits, input="{}")["executionArn"]
        endless = machine(sfn, "endless", WAITS.replace('"TimeoutSeconds": 3, ', ""))
        stopped = sfn.start_execution(stateMachineArn=endless, input="{}")["executionArn"]
        server.kill()
        server.start()
        sfn = server.sfn()
        sfn.stop_execution(executionArn=stopped, error="Operator", cause="enough")
        assert wait_end(sfn, stopped)["status"] == "ABORTED"
        assert wait_end(sfn, timed)["status"] == "TIMED_OUT"
