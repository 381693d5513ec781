"""A server with credentials: boto3 signs as usual; unsigned, wrongly signed and read-only
writes are refused with AWS's codes; a rebound DNS name is refused on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from sagaway.api import ApiSecurity, Credential, Role
from tests.api.conftest import ROLE, Server, client, registry

KEYS = {
    "AKIDOPERATOR": Credential("AKIDOPERATOR", "operator-secret", Role.FULL),
    "AKIDAUDITOR": Credential("AKIDAUDITOR", "auditor-secret", Role.READ_ONLY),
}
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
LIST = {"X-Amz-Target": "AWSStepFunctions.ListStateMachines",
        "Content-Type": "application/x-amz-json-1.0"}  # fmt: skip


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[Server]:
    with Server(tmp_path / "auth.db", registry(), security=ApiSecurity(KEYS)) as running:
        yield running


def code(call: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    error: str = caught.value.response["Error"]["Code"]
    return error


def test_boto3_with_a_full_credential_drives_the_engine(guarded: Server) -> None:
    sfn = client(guarded.url, "AKIDOPERATOR", "operator-secret")
    arn = sfn.create_state_machine(name="m", definition=PASS, roleArn=ROLE)["stateMachineArn"]
    started = sfn.start_execution(stateMachineArn=arn, input='{"a": 1}')
    assert sfn.describe_execution(executionArn=started["executionArn"])["status"] in (
        "RUNNING", "SUCCEEDED")  # fmt: skip


def test_wrong_secret_unknown_key_and_read_only_writes_are_refused(guarded: Server) -> None:
    wrong = client(guarded.url, "AKIDOPERATOR", "not-the-secret")
    assert code(wrong.list_state_machines) == "InvalidSignatureException"
    unknown = client(guarded.url, "AKIDSTRANGER", "operator-secret")
    assert code(unknown.list_state_machines) == "UnrecognizedClientException"
    auditor = client(guarded.url, "AKIDAUDITOR", "auditor-secret")
    assert auditor.list_state_machines()["stateMachines"] == []
    create = lambda: auditor.create_state_machine(name="m", definition=PASS, roleArn=ROLE)  # noqa: E731
    assert code(create) == "AccessDeniedException"


def test_an_unsigned_request_is_missing_its_token(guarded: Server) -> None:
    answer = httpx.post(guarded.url, headers=LIST, content=b"{}")
    assert answer.status_code == 403
    assert answer.json()["__type"] == "MissingAuthenticationToken"


def test_unsigned_reads_may_be_allowed_but_never_writes(tmp_path: Path) -> None:
    security = ApiSecurity(KEYS, anonymous=Role.READ_ONLY)
    with Server(tmp_path / "anon.db", registry(), security=security) as running:
        assert httpx.post(running.url, headers=LIST, content=b"{}").json() == {
            "stateMachines": []}  # fmt: skip
        create = {**LIST, "X-Amz-Target": "AWSStepFunctions.CreateStateMachine"}
        body = json.dumps({"name": "m", "definition": PASS, "roleArn": ROLE})
        answer = httpx.post(running.url, headers=create, content=body)
        assert answer.json()["__type"] == "AccessDeniedException"


def test_a_host_header_that_is_not_loopback_is_refused(server: Server) -> None:
    rebound = {**LIST, "Host": "attacker.example:8083"}
    answer = httpx.post(server.url, headers=rebound, content=b"{}")
    assert answer.status_code == 403
    assert "attacker.example" in answer.text
    named = {**LIST, "Host": f"localhost:{server.port}"}
    assert httpx.post(server.url, headers=named, content=b"{}").status_code == 200


def test_an_authorization_header_without_a_signature_is_incomplete(guarded: Server) -> None:
    cut = {**LIST, "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDOPERATOR/20261205/"
           "us-east-1/states/aws4_request, SignedHeaders=host;x-amz-date",
           "X-Amz-Date": "20261205T000000Z"}  # fmt: skip
    answer = httpx.post(guarded.url, headers=cut, content=b"{}")
    assert answer.status_code == 400
    assert answer.json()["__type"] == "IncompleteSignature"
    assert "requires 'Signature' parameter" in answer.json()["message"]
