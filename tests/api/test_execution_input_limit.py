"""The size limit of an execution's input when it starts.

https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html and
API_StartSyncExecution.html, input: "Length constraints apply to the payload size, and are
expressed as bytes in UTF-8 encoding", "Maximum length of 262144" (botocore's model carries
the same words); a request that breaks a length constraint is a ValidationException
(https://docs.aws.amazon.com/step-functions/latest/apireference/CommonErrors.html). So the
bound is 262,144 UTF-8 bytes: two-byte characters reach it at half as many characters.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import ROLE

LIMIT = 262_144
REFUSAL = (
    "1 validation error detected: Value at 'input' failed to satisfy constraint: "
    "Member must have length less than or equal to 262144"
)


def _input(size: int, char: str) -> str:
    """A JSON string of exactly ``size`` UTF-8 bytes made of ``char``."""
    width = len(char.encode())
    assert (size - 2) % width == 0
    return json.dumps(char * ((size - 2) // width), ensure_ascii=False)


def _machine(sfn: Any, kind: str) -> str:
    definition = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    made = sfn.create_state_machine(name=kind, definition=definition, roleArn=ROLE, type=kind)
    return str(made["stateMachineArn"])


@pytest.mark.parametrize("char", ["a", "é"])
def test_an_input_of_262144_utf8_bytes_starts_one_more_is_refused(sfn: Any, char: str) -> None:
    standard, express = _machine(sfn, "STANDARD"), _machine(sfn, "EXPRESS")
    fits = _input(LIMIT, char)
    assert sfn.start_execution(stateMachineArn=standard, input=fits)["executionArn"]
    assert sfn.start_sync_execution(stateMachineArn=express, input=fits)["status"] == "SUCCEEDED"
    beyond = _input(LIMIT + len(char.encode()), char)
    for start, arn in ((sfn.start_execution, standard), (sfn.start_sync_execution, express)):
        with pytest.raises(ClientError) as raised:
            start(stateMachineArn=arn, input=beyond)
        error = raised.value.response["Error"]
        assert (error["Code"], error["Message"]) == ("ValidationException", REFUSAL)
