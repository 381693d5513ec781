"""TestState rules from the API reference, checked through a real server with boto3.

- https://docs.aws.amazon.com/step-functions/latest/apireference/API_InspectionErrorDetails.html:
  ``catchIndex`` ("the array index of the Catch which handled the exception"), ``retryIndex``
  and ``retryBackoffIntervalSeconds`` ("the duration in seconds of the backoff"), each an
  Integer of at least 0.
- https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestState.html: a Map
  state is tested with a mock (its iterations do not run); the page does not say what
  happens when ItemsPath does not select an array. AWS's recorded answer does (LocalStack's
  AWS-validated ``test_state/test_state_context_object.snapshot.json``,
  ``test_state_map_context_object[ALL]`` and ``[EXECUTION_INPUT]``): status FAILED,
  ``States.Runtime``, cause ``Reference path "<path>" must point to array.`` (a context path
  ``$$...`` is shown with one ``$``), and inspectionData stops after ``afterInputPath``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Server, client, registry

ROLE = "arn:aws:iam::111111111111:role/test"
CONTEXT = {
    "Execution": {"Id": "arn:aws:states:::execution:M:e", "Input": {"values": [1, 2]}},
    "StateMachine": {"Id": "arn:aws:states:::stateMachine:M", "Name": "M"},
    "State": {"Name": "TestState"},
}
FAILING_TASK = {"mock": {"errorOutput": {"error": "Boom", "cause": "it broke"}}}


@pytest.fixture(scope="module")
def sfn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with Server(Path(tmp_path_factory.mktemp("tsdocs")) / "ts.db", registry()) as running:
        yield client(running.url)


def _task(**fields: Any) -> str:
    body = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True}
    body["Parameters"] = {"FunctionName": "identity", "Payload.$": "$"}
    return json.dumps({**body, **fields})


def _map(items_path: str) -> str:
    processor = {"StartAt": "H", "States": {"H": {"Type": "Pass", "End": True}}}
    body = {"Type": "Map", "ItemsPath": items_path, "MaxConcurrency": 1, "End": True}
    return json.dumps({**body, "ItemProcessor": processor})


def test_a_retried_error_names_its_retrier_and_whole_seconds_of_backoff(sfn: Any) -> None:
    retry = [
        {"ErrorEquals": ["Other"], "MaxAttempts": 1},
        {"ErrorEquals": ["Boom"], "IntervalSeconds": 3, "BackoffRate": 1.5},
    ]
    answer = sfn.test_state(
        definition=_task(Retry=retry),
        roleArn=ROLE,
        inspectionLevel="DEBUG",
        stateConfiguration={"retrierRetryCount": 1},
        **FAILING_TASK,
    )
    assert (answer["status"], answer["error"], answer["cause"]) == ("RETRIABLE", "Boom", "it broke")
    details = answer["inspectionData"]["errorDetails"]
    # 3 s after one retry at rate 1.5 is 4.5 s: the member is an Integer.
    assert details == {"retryIndex": 1, "retryBackoffIntervalSeconds": 4}
    assert isinstance(details["retryBackoffIntervalSeconds"], int)


def test_a_caught_error_names_its_catcher(sfn: Any) -> None:
    catch = [
        {"ErrorEquals": ["Other"], "Next": "A"},
        {"ErrorEquals": ["States.ALL"], "Next": "B"},
    ]
    answer = sfn.test_state(
        definition=_task(Catch=catch), roleArn=ROLE, inspectionLevel="TRACE", **FAILING_TASK
    )
    assert (answer["status"], answer["nextState"]) == ("CAUGHT_ERROR", "B")
    assert answer["inspectionData"]["errorDetails"] == {"catchIndex": 1}
    assert json.loads(answer["output"]) == {"Error": "Boom", "Cause": "it broke"}


def test_no_error_details_when_nothing_failed(sfn: Any) -> None:
    answer = sfn.test_state(
        definition=_task(), roleArn=ROLE, inspectionLevel="TRACE", mock={"result": "{}"}
    )
    assert "errorDetails" not in answer["inspectionData"]


@pytest.mark.parametrize(
    ("items_path", "shown"),
    [("$$", "$"), ("$$.Execution.Id", "$.Execution.Id"), ("$.a", "$.a")],
)
def test_a_map_whose_items_path_is_no_array_fails(sfn: Any, items_path: str, shown: str) -> None:
    answer = sfn.test_state(
        definition=_map(items_path),
        input=json.dumps({"a": {"b": 1}}),
        inspectionLevel="TRACE",
        context=json.dumps(CONTEXT),
        mock={"result": "[1, 2]"},
    )
    assert (answer["status"], answer["error"]) == ("FAILED", "States.Runtime")
    assert answer["cause"] == f'Reference path "{shown}" must point to array.'
    assert {k: json.loads(v) for k, v in answer["inspectionData"].items()} == {
        "input": {"a": {"b": 1}},
        "afterInputPath": {"a": {"b": 1}},
    }


def test_a_map_whose_items_path_is_an_array_runs_on_the_mock(sfn: Any) -> None:
    answer = sfn.test_state(
        definition=_map("$$.Execution.Input.values"),
        input="{}",
        inspectionLevel="TRACE",
        context=json.dumps(CONTEXT),
        mock={"result": "[1, 2]"},
    )
    assert (answer["status"], json.loads(answer["output"])) == ("SUCCEEDED", [1, 2])
    assert json.loads(answer["inspectionData"]["afterItemsPath"]) == [1, 2]
    assert answer["inspectionData"]["maxConcurrency"] == 1


def test_a_map_without_items_path_needs_an_array_input(sfn: Any) -> None:
    answer = sfn.test_state(
        definition=_map("$").replace('"ItemsPath": "$", ', ""),
        input='{"a": 1}',
        mock={"result": "[]"},
    )
    assert (answer["status"], answer["cause"]) == (
        "FAILED",
        'Reference path "$" must point to array.',
    )


def test_without_a_context_the_state_runs_in_a_fresh_express_execution(sfn: Any) -> None:
    """The API reference does not say what ``$$`` holds when no ``context`` is given;
    AWS's recorded answers (LocalStack's AWS-validated ``test_test_state_scenarios``
    snapshot, ``test_base_map_state_inspect_trace`` and ``test_state_with_variables``) show
    an EXPRESS execution of a throwaway state machine, each named afresh (the recordings
    mask both names), the tested state named ``StateName`` and ``RoleArn`` null when
    no roleArn is given."""
    definition = json.dumps({"Type": "Pass", "Parameters": {"c.$": "$$"}, "End": True})
    seen = []
    for _ in range(2):
        answer = sfn.test_state(definition=definition, input='{"x": 1}')
        context = json.loads(answer["output"])["c"]
        execution, machine = context["Execution"], context["StateMachine"]
        prefix = "arn:aws:states:us-east-1:111111111111"
        assert machine["Id"] == f"{prefix}:stateMachine:{machine['Name']}"
        assert execution["Id"] == f"{prefix}:express:{machine['Name']}:{execution['Name']}"
        assert execution["Name"] != machine["Name"]
        assert (execution["Input"], execution["RoleArn"]) == ({"x": 1}, None)
        assert context["State"]["Name"] == "StateName"
        seen.append((execution["Name"], machine["Name"]))
    assert seen[0][0] != seen[1][0] and seen[0][1] != seen[1][1]


@pytest.mark.parametrize("given", [{}, {"Execution": {}, "State": {}, "StateMachine": {}}, CONTEXT])
def test_a_given_context_is_the_whole_context_object(sfn: Any, given: dict[str, Any]) -> None:
    """API_TestState.html, context: "A JSON string representing a valid Context object for
    the state under test". AWS's recorded answers show ``$$`` is then exactly what was given,
    nothing generated added (``test_state_context_object`` snapshot,
    ``test_state_context_object_edge_cases[EMPTY]`` and ``[EMPTY_OBJECTS]``)."""
    definition = json.dumps({"Type": "Pass", "Parameters": {"c.$": "$$"}, "End": True})
    answer = sfn.test_state(definition=definition, input="{}", context=json.dumps(given))
    assert json.loads(answer["output"]) == {"c": given}


def test_a_retrier_out_of_attempts_is_still_named(sfn: Any) -> None:
    """retryIndex is "the array index of the Retry which handled the exception"; AWS's
    recorded answers (``test_state_configuration`` snapshot,
    ``test_state_configuration_retrier_retry_count``) name it on a FAILED state whose retrier
    has no attempts left, without a backoff; with one attempt left the backoff is the
    interval grown by BackoffRate per retry already made (1 s * 2^4 = 16 s)."""
    retry = [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "MaxAttempts": 5, "BackoffRate": 2}]
    answers = [
        sfn.test_state(
            definition=_task(Retry=retry),
            roleArn=ROLE,
            inspectionLevel="DEBUG",
            stateConfiguration={"retrierRetryCount": made},
            **FAILING_TASK,
        )
        for made in (4, 5)
    ]
    assert [a["status"] for a in answers] == ["RETRIABLE", "FAILED"]
    assert answers[0]["inspectionData"]["errorDetails"] == {
        "retryIndex": 0,
        "retryBackoffIntervalSeconds": 16,
    }
    assert answers[1]["inspectionData"]["errorDetails"] == {"retryIndex": 0}
    assert (answers[1]["error"], answers[1]["cause"]) == ("Boom", "it broke")
