"""Requests no SDK would send: AWS's error shapes, and the server stays up."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import httpx

from tests.api.conftest import Server

HEADERS = {"Content-Type": "application/x-amz-json-1.0"}


def call(server: Server, action: str, body: bytes | str) -> httpx.Response:
    headers = {**HEADERS, "X-Amz-Target": f"AWSStepFunctions.{action}"}
    return httpx.post(server.url + "/", headers=headers, content=body, timeout=30)


def test_bad_requests_get_aws_error_shapes(server: Server, sfn: Any) -> None:
    cases = [
        ("ListStateMachines", b"{not json", "SerializationException"),
        ("ListStateMachines", b"[1, 2]", "SerializationException"),
        ("Frobnicate", b"{}", "UnknownOperationException"),
        ("CreateStateMachine", json.dumps({"name": 5, "definition": "{}", "roleArn": "r"}),
         "SerializationException"),
        ("CreateStateMachine", json.dumps({"definition": "{}"}), "ValidationException"),
        ("DescribeExecution", json.dumps({"executionArn": "arn:nope"}), "InvalidArn"),
    ]  # fmt: skip
    for action, body, code in cases:
        response = call(server, action, body)
        assert response.status_code == 400, (action, response.text)
        assert response.headers["content-type"] == "application/x-amz-json-1.0"
        assert response.json()["__type"] == code, (action, response.text)
        assert response.json()["message"]
    assert sfn.list_state_machines()["stateMachines"] == []  # still serving


def test_oversized_input_is_refused(server: Server, sfn: Any) -> None:
    definition = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    arn = sfn.create_state_machine(name="big", definition=definition, roleArn="arn:r")[
        "stateMachineArn"
    ]
    big = json.dumps({"blob": "a" * (257 * 1024)})
    response = call(server, "StartExecution", json.dumps({"stateMachineArn": arn, "input": big}))
    assert response.status_code == 400
    assert response.json()["__type"] == "ValidationException"
    assert "262144" in response.json()["message"]
    huge = b'{"x": "' + b"a" * (3 * 1024 * 1024) + b'"}'
    response = call(server, "ListStateMachines", huge)
    assert response.status_code == 413
    assert response.json()["__type"] == "RequestEntityTooLargeException"


def test_client_disconnecting_mid_long_poll(server: Server, sfn: Any) -> None:
    activity = sfn.create_activity(name="gone")["activityArn"]
    body = json.dumps({"activityArn": activity}).encode()
    request = (
        f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: AWSStepFunctions.GetActivityTask"
        f"\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(request)
        time.sleep(0.3)  # the poll is waiting now; hang up
    task_def = {"Type": "Task", "Resource": activity, "End": True}
    arn = sfn.create_state_machine(
        name="after", roleArn="arn:r",
        definition=json.dumps({"StartAt": "A", "States": {"A": task_def}}),
    )["stateMachineArn"]  # fmt: skip
    sfn.start_execution(stateMachineArn=arn, input='{"k": 1}')
    # The task went to no dead poller: the next worker gets it.
    task = sfn.get_activity_task(activityArn=activity)
    assert json.loads(task["input"]) == {"k": 1}
