"""Hostile JSON gets AWS's client errors from a real `sagaway serve`, never a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions
import httpx
import pytest

from tests.api.hostile_bodies import DEEP, DEFINITION, bodies, operations
from tests.api.serve_process import ServeProcess, serve_process

ROLE = "arn:aws:iam::123456789012:role/r"
NOT_JSON = {
    "deep": DEEP,
    "NaN": '{"a": NaN}',
    "Infinity": '{"a": -Infinity}',
    "1e400": '{"a": 1e400}',
    "400 digits": '{"a": ' + "9" * 400 + "}",
    "over the journal's depth": "[" * 201 + "]" * 201,
    # Valid JSON, but no Unicode text: no journal snapshot could keep it.
    "a lone surrogate": '{"a": "\\ud800"}',
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    folder: Path = tmp_path_factory.mktemp("serve")
    with serve_process(folder, "--poll-timeout", "0.2") as running:
        yield running
    assert "Traceback" not in running.output()


def post(http: httpx.Client, action: str, body: bytes | str) -> httpx.Response:
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": f"AWSStepFunctions.{action}",
    }
    return http.post("/", headers=headers, content=body)


def code(call: Any, **params: Any) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(**params)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    error: str = caught.value.response["Error"]["Code"]
    return error


def test_every_action_answers_hostile_members_with_a_client_error(server: ServeProcess) -> None:
    arn = server.sfn.create_state_machine(name="fuzz", definition=DEFINITION, roleArn=ROLE)[
        "stateMachineArn"
    ]
    answered = 0
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for op in operations():
            if op.name == "DeleteStateMachine":
                continue  # keeps the machine the other actions aim at
            for what, body in bodies(op, arn):
                response = post(http, op.name, body)
                assert response.status_code < 500, (op.name, what, response.text)
                if response.status_code >= 400:
                    assert response.json()["__type"], (op.name, what)
                answered += 1
    assert answered > 500
    assert server.proc.poll() is None


def test_json_text_members_get_the_error_of_their_action(server: ServeProcess) -> None:
    sfn = server.sfn
    arn = sfn.create_state_machine(name="plain", definition=DEFINITION, roleArn=ROLE)[
        "stateMachineArn"
    ]
    express = sfn.create_state_machine(
        name="quick", definition=DEFINITION, roleArn=ROLE, type="EXPRESS"
    )["stateMachineArn"]
    for what, text in NOT_JSON.items():
        assert code(sfn.start_execution, stateMachineArn=arn, input=text) == (
            "InvalidExecutionInput"
        ), what
        assert code(sfn.start_sync_execution, stateMachineArn=express, input=text) == (
            "InvalidExecutionInput"
        ), what
        result = json.loads(DEFINITION)
        definition = json.dumps(result).replace('"End": true', f'"Result": {text}, "End": true')
        create = sfn.create_state_machine
        assert code(create, name="bad", definition=definition, roleArn=ROLE) == (
            "InvalidDefinition"
        ), what
        assert code(sfn.send_task_success, taskToken="t", output=text) == "InvalidOutput", what
    # A lone surrogate itself (not its escape) in a member: the request body refused whole.
    assert code(sfn.start_execution, stateMachineArn=arn, input='["\udfff"]') == (
        "SerializationException"
    )
    # The limits sit where they say: 200 levels are accepted.
    fine = sfn.start_execution(stateMachineArn=arn, input="[" * 200 + "]" * 200)
    assert sfn.describe_execution(executionArn=fine["executionArn"])["status"] != "FAILED"


def test_expressions_nested_past_any_stack_are_invalid_definitions(server: ServeProcess) -> None:
    fields = [
        ("JSONata", {"Output": "{% " + "(" * 5000 + "1" + ")" * 5000 + " %}"}),
        ("JSONPath", {"Parameters": {"a.$": "States.Array(" * 5000 + "1" + ")" * 5000}}),
        ("JSONPath", {"InputPath": "$[?(" + "(" * 5000 + "@.a" + ")" * 5000 + ")]"}),
    ]
    for language, field in fields:
        state = {"Type": "Pass", "End": True, **field}
        definition = {"QueryLanguage": language, "StartAt": "P", "States": {"P": state}}
        text = json.dumps(definition)
        create = server.sfn.create_state_machine
        assert code(create, name="nested", definition=text, roleArn=ROLE) == "InvalidDefinition"


def test_malformed_bodies_are_serialization_errors(server: ServeProcess) -> None:
    cases = {
        "1e400": b'{"maxResults": 1e400}',
        "400 digits": b'{"maxResults": ' + b"9" * 400 + b"}",
        "NaN": b'{"maxResults": NaN}',
        "10,000 deep": b'{"a": ' + DEEP.encode() + b"}",
        "deeper than any request": b'{"a": ' + b"[" * 40 + b"]" * 40 + b"}",
    }
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for what, body in cases.items():
            response = post(http, "ListStateMachines", body)
            assert response.status_code == 400, what
            assert response.json()["__type"] == "SerializationException", what
        assert post(http, "ListStateMachines", b'{"maxResults": 2}').status_code == 200
