"""The corpus's validation cases through the API (CreateStateMachine and
ValidateStateMachineDefinition over HTTP), including the API-level refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sagaway.conformance.corpus import default_dir, iter_cases, load_compare
from sagaway.conformance.validation import CREATE_PREFIX, api_level_reason

CORPUS = default_dir()
pytestmark = pytest.mark.skipif(not (CORPUS / "index.json").is_file(), reason="no corpus")
ROLE = "arn:aws:iam::111111111111:role/r"
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})


def _cases() -> list[dict[str, Any]]:
    return list(iter_cases(CORPUS, "validation")) if (CORPUS / "index.json").is_file() else []


def _create(sfn: Any, case: dict[str, Any], name: str) -> dict[str, Any]:
    request = case["request"]
    kwargs: dict[str, Any] = {"name": name, "definition": case["definition_str"],
                              "roleArn": ROLE, "type": request.get("type", "STANDARD")}  # fmt: skip
    if "loggingConfiguration" in request:
        kwargs["loggingConfiguration"] = request["loggingConfiguration"]
    try:
        sfn.create_state_machine(**kwargs)
    except ClientError as exc:
        error = exc.response["Error"]
        return {"Error": {"Code": error["Code"], "Message": error["Message"]},
                "message": error["Message"],
                "exception_typename": error["Code"],
                "exception_value": str(exc)}  # fmt: skip
    return {"accepted": True}


def _api_level(sfn: Any, case: dict[str, Any]) -> str:
    """Play the case's scenario; the error code AWS's API layer answered."""
    expected = case["expected"]
    code = expected.get("Error", {}).get("Code") or expected["exception_typename"]
    definition = case.get("definition_str") or PASS
    try:
        if code == "StateMachineAlreadyExists":
            sfn.create_state_machine(name="dup", definition=definition, roleArn=ROLE)
            other = json.loads(definition)
            other["Comment"] = "changed"
            sfn.create_state_machine(name="dup", definition=json.dumps(other), roleArn=ROLE)
        elif code == "MissingRequiredParameter":
            arn = sfn.create_state_machine(name="upd", definition=definition, roleArn=ROLE)
            sfn.update_state_machine(stateMachineArn=arn["stateMachineArn"])
        elif code == "StateMachineDoesNotExist" and "stateMachineArn" in case["request"]:
            sfn.update_state_machine(stateMachineArn=case["request"]["stateMachineArn"],
                                     definition=definition)  # fmt: skip
        elif code == "StateMachineDoesNotExist":
            sfn.list_executions(stateMachineArn="ssm_nonexistent_arn")
        elif code == "InvalidLoggingConfiguration" and "stateMachineArn" in case["request"]:
            arn = sfn.create_state_machine(name="logs", definition=definition, roleArn=ROLE)
            logging = _logging(case["request"]["loggingConfiguration"])
            sfn.update_state_machine(stateMachineArn=arn["stateMachineArn"],
                                     loggingConfiguration=logging)  # fmt: skip
        else:
            logging = _logging(case["request"]["loggingConfiguration"])
            sfn.create_state_machine(name="logs", definition=definition, roleArn=ROLE,
                                     loggingConfiguration=logging)  # fmt: skip
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return "accepted"


def _logging(config: dict[str, Any]) -> dict[str, Any]:
    group = "arn:aws:logs:us-east-1:111111111111:log-group:g:*"
    destinations = [{"cloudWatchLogsLogGroup": {"logGroupArn": group}}
                    for _ in config.get("destinations", [])]  # fmt: skip
    return {**config, "destinations": destinations} if destinations else config


def test_validation_cases_through_the_api(sfn: Any) -> None:
    compare = load_compare(CORPUS)
    passed, failed, api_cases = 0, [], 0
    for i, case in enumerate(_cases()):
        expected = case["expected"]
        if api_level_reason(case):
            api_cases += 1
            code = expected.get("Error", {}).get("Code") or expected["exception_typename"]
            for machine in sfn.list_state_machines()["stateMachines"]:
                sfn.delete_state_machine(stateMachineArn=machine["stateMachineArn"])
            outcome = _api_level(sfn, case)
            ok = outcome == code
        elif "diagnostics" in expected:
            answer = sfn.validate_state_machine_definition(
                definition=case["definition_str"], type=case["request"].get("type", "STANDARD")
            )
            actual = {k: answer[k] for k in ("diagnostics", "result", "truncated")}
            ok = compare.snapshot_normalize({"r": actual}, case["normalize"])["r"] == expected
        else:
            got = _create(sfn, case, f"v{i}")
            if "exception_value" in expected:
                got = {"exception_typename": got.get("exception_typename"),
                       "exception_value": got.get("exception_value", "")}  # fmt: skip
                assert not expected["exception_value"] or CREATE_PREFIX
            else:
                got = {k: got[k] for k in ("Error", "message") if k in got}
            ok = compare.snapshot_normalize({"r": got}, case["normalize"])["r"] == expected
        if ok:
            passed += 1
        else:
            failed.append(case["id"])
    print(f"validation cases through the API: {passed} passed, {len(failed)} failed "
          f"({api_cases} API-level)")  # fmt: skip
    assert api_cases == 11
    assert not failed, failed
