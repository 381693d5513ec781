"""TestState requests AWS refuses: mocks a state cannot take or needs, and context objects
that are not one.

https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestState.html: "TestState
only supports the following when a mock is specified: Activity tasks, .sync or
.waitForTaskToken service integration patterns, Parallel, or Map states"; ``context`` is "a
valid Context object for the state under test", whose fields
https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html lists.
The wording of each refusal is AWS's, from its recorded answers (LocalStack's AWS-validated
``test_state/test_state_mock_validation.snapshot.json`` and
``test_state/test_state_context_object.snapshot.json``, and
``test_test_state_scenarios.snapshot.json`` for a Task tested without a mock or a role,
``test_test_state_mock_scenarios.snapshot.json`` for a mocked result that is not JSON).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import Server, client, registry

PROCESSOR = {"StartAt": "H", "States": {"H": {"Type": "Pass", "End": True}}}
MAP = {"Type": "Map", "ItemProcessor": PROCESSOR, "End": True}
PARALLEL = {"Type": "Parallel", "Branches": [PROCESSOR, PROCESSOR], "End": True}
TASK = {
    "Type": "Task",
    "Resource": "arn:aws:states:::lambda:invoke",
    "Parameters": {"FunctionName": "identity", "Payload.$": "$"},
    "End": True,
}
RESULT = {"result": "{}"}
NEEDS_MOCK = (
    "TestState API does not support Map or Parallel states. Supported state types include: "
    "[Task, Wait, Pass, Succeed, Fail, Choice]"
)


@pytest.fixture(scope="module")
def sfn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with Server(Path(tmp_path_factory.mktemp("tsreq")) / "ts.db", registry()) as running:
        yield client(running.url)


def _refusal(sfn: Any, body: dict[str, Any], **request: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        sfn.test_state(definition=json.dumps(body), input="[1, 2]", **request)
    error = raised.value.response["Error"]
    return error["Code"], error["Message"]


@pytest.mark.parametrize(
    ("body", "request_", "code", "message"),
    [
        ({"Type": "Pass", "End": True}, {"mock": RESULT}, "ValidationException",
         "State type 'Pass' is not supported when a mock is specified"),
        ({"Type": "Succeed"}, {"mock": {"errorOutput": {"error": "E"}}}, "ValidationException",
         "State type 'Succeed' is not supported when a mock is specified"),
        (MAP, {}, "InvalidDefinition", NEEDS_MOCK),
        (PARALLEL, {}, "InvalidDefinition", NEEDS_MOCK),
        (TASK, {"mock": {**RESULT, "errorOutput": {"error": "E"}}}, "ValidationException",
         "A test mock should have only one of the following fields: [result, errorOutput]."),
        (TASK, {"mock": {"result": "not JSON string"}}, "ValidationException",
         "Mocked result must be valid JSON"),
        (TASK, {"mock": RESULT, "revealSecrets": True}, "ValidationException",
         "TestState does not support RevealSecrets when a mock is specified."),
        (MAP, {"mock": RESULT}, "ValidationException", "Mocked result must be an array."),
        ({**MAP, "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject"}},
         {"mock": {"result": "[]"}}, "ValidationException",
         "Mocked result must be a JSON object."),
        (PARALLEL, {"mock": {"result": "[1]"}}, "ValidationException",
         "Mocked result must contain the same number of items as number of Parallel branches."),
        (TASK, {}, "ValidationException", "RoleArn must be specified when testing a Task state"),
        (MAP, {"stateConfiguration": {"mapIterationFailureCount": 0}}, "ValidationException",
         "TestState does not support MapIterationFailureCount when a mock is not specified."),
        (MAP, {"mock": {"result": "[1]"}, "stateConfiguration": {"mapIterationFailureCount": 2}},
         "ValidationException",
         "Map iteration failure count must be less than or equal to the number of Map "
         "iterations"),
    ],
)  # fmt: skip
def test_mocks_a_state_cannot_take_or_needs(
    sfn: Any, body: dict[str, Any], request_: dict[str, Any], code: str, message: str
) -> None:
    assert _refusal(sfn, body, **request_) == (code, message)


@pytest.mark.parametrize(
    ("context", "reason"),
    [
        ({"Execution": {"Id": 1}}, "Execution.Id must be a string"),
        ({"Map": {}}, "'Map' field is not supported when mocking a Context object"),
        ({"Execution": {"pokemon": "squirtle"}}, "Field 'pokemon' is not allowed"),
        ({"Pokedex": {}}, "Field 'Pokedex' is not allowed"),
        ({"Task": {"Token": "abc"}},
         "Context object contains 'Task' when state is not a Task state with a '.sync' or "
         "'.waitForTaskToken' service integration pattern"),
    ],
)  # fmt: skip
def test_context_objects_that_are_not_one(sfn: Any, context: Any, reason: str) -> None:
    request = {"mock": RESULT, "context": json.dumps(context)}
    assert _refusal(sfn, TASK, **request) == (
        "ValidationException",
        f"Invalid Context object provided: {reason}",
    )


def test_a_callback_task_may_be_given_its_token(sfn: Any) -> None:
    body = {**TASK, "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken"}
    body["Parameters"] = {"FunctionName": "identity", "Payload": {"t.$": "$$.Task.Token"}}
    answer = sfn.test_state(
        definition=json.dumps(body),
        input="{}",
        inspectionLevel="TRACE",
        context=json.dumps({"Task": {"Token": "abc"}}),
        mock=RESULT,
    )
    assert answer["status"] == "SUCCEEDED"
    parameters = json.loads(answer["inspectionData"]["afterParameters"])
    assert parameters["Payload"] == {"t": "abc"}


MACHINE = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}


@pytest.mark.parametrize("state_name", ["dne", '"A"'])
def test_a_state_name_not_in_the_definition(sfn: Any, state_name: str) -> None:
    """``test_test_state_machine_scenarios`` snapshot,
    ``test_base_state_name_validation_failures``: the name is not echoed."""
    assert _refusal(sfn, MACHINE, stateName=state_name) == (
        "ValidationException",
        "State not found in definition",
    )


def test_a_whole_machine_is_checked_whole(sfn: Any) -> None:
    """``test_state_name_invalid_state_definition``: a machine whose tested state has an
    unknown Type is an invalid definition, in the words CreateStateMachine uses."""
    machine = {"StartAt": "Bad", "States": {"Bad": {"Type": "Nope", "End": True}}}
    assert _refusal(sfn, machine, stateName="Bad") == (
        "InvalidDefinition",
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The field 'Type' should "
        "have one of these values: [Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map] "
        "at /States/Bad/Type'",
    )
