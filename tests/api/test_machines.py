"""State machine actions through boto3 against a real server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import ROLE

PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})


def error_code(info: pytest.ExceptionInfo[ClientError]) -> str:
    code: str = info.value.response["Error"]["Code"]
    return code


def test_create_describe_list_update_delete(sfn: Any) -> None:
    created = sfn.create_state_machine(name="m1", definition=PASS, roleArn=ROLE)
    arn = created["stateMachineArn"]
    assert arn == "arn:aws:states:us-east-1:111111111111:stateMachine:m1"
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert described["definition"] == PASS
    assert described["status"] == "ACTIVE"
    assert described["type"] == "STANDARD"
    assert [m["name"] for m in sfn.list_state_machines()["stateMachines"]] == ["m1"]
    changed = PASS.replace('"P"', '"Q"')
    updated = sfn.update_state_machine(stateMachineArn=arn, definition=changed)
    assert updated["revisionId"] != described["revisionId"]
    assert sfn.describe_state_machine(stateMachineArn=arn)["definition"] == changed
    sfn.delete_state_machine(stateMachineArn=arn)
    with pytest.raises(ClientError) as info:
        sfn.describe_state_machine(stateMachineArn=arn)
    assert error_code(info) == "StateMachineDoesNotExist"
    assert info.value.response["Error"]["Message"] == f"State Machine Does Not Exist: '{arn}'"


def test_create_is_idempotent_and_refuses_a_different_machine(sfn: Any) -> None:
    first = sfn.create_state_machine(name="same", definition=PASS, roleArn=ROLE)
    again = sfn.create_state_machine(name="same", definition=PASS, roleArn=ROLE)
    assert again["stateMachineArn"] == first["stateMachineArn"]
    other = PASS.replace('"P"', '"Z"')
    with pytest.raises(ClientError) as info:
        sfn.create_state_machine(name="same", definition=other, roleArn=ROLE)
    assert error_code(info) == "StateMachineAlreadyExists"


def test_invalid_definition_name_and_logging(sfn: Any) -> None:
    with pytest.raises(ClientError) as info:
        sfn.create_state_machine(name="bad", definition='{"StartAt": "X"}', roleArn=ROLE)
    assert error_code(info) == "InvalidDefinition"
    with pytest.raises(ClientError) as info:
        sfn.create_state_machine(name="has space", definition=PASS, roleArn=ROLE)
    assert error_code(info) == "InvalidName"
    with pytest.raises(ClientError) as info:
        sfn.create_state_machine(
            name="logs", definition=PASS, roleArn=ROLE, loggingConfiguration={"level": "ALL"}
        )
    assert error_code(info) == "InvalidLoggingConfiguration"


def test_update_needs_something_to_change(sfn: Any) -> None:
    arn = sfn.create_state_machine(name="u", definition=PASS, roleArn=ROLE)["stateMachineArn"]
    with pytest.raises(ClientError) as info:
        sfn.update_state_machine(stateMachineArn=arn)
    assert error_code(info) == "MissingRequiredParameter"


def test_validate_state_machine_definition(sfn: Any) -> None:
    assert sfn.validate_state_machine_definition(definition=PASS)["result"] == "OK"
    bad = {"StartAt": "X", "States": {"Y": {"Type": "Pass", "End": True}}}
    answer = sfn.validate_state_machine_definition(definition=json.dumps(bad))
    assert answer["result"] == "FAIL"
    assert answer["diagnostics"][0]["code"]


def test_invalid_arn(sfn: Any) -> None:
    with pytest.raises(ClientError) as info:
        sfn.describe_state_machine(stateMachineArn="not-an-arn")
    assert error_code(info) == "InvalidArn"


def test_list_pagination(sfn: Any) -> None:
    for i in range(5):
        sfn.create_state_machine(name=f"p{i}", definition=PASS, roleArn=ROLE)
    first = sfn.list_state_machines(maxResults=2)
    assert len(first["stateMachines"]) == 2 and first["nextToken"]
    names = [m["name"] for m in first["stateMachines"]]
    token = first["nextToken"]
    while token:
        more = sfn.list_state_machines(maxResults=2, nextToken=token)
        names += [m["name"] for m in more["stateMachines"]]
        token = more.get("nextToken")
    assert names == [f"p{i}" for i in range(5)]
    paginator = sfn.get_paginator("list_state_machines")
    pages = list(paginator.paginate(PaginationConfig={"PageSize": 2}))
    assert sum(len(p["stateMachines"]) for p in pages) == 5
