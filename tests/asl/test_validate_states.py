"""validate_definition: the per-state-type rules (ASL spec and AWS's Step Functions docs)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sagaway.asl.validate import validate_definition

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:fn"
PROCESSOR: dict[str, Any] = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def one(
    state: dict[str, Any], machine_type: str = "STANDARD", **top: Any
) -> list[tuple[str | None, str]]:
    """(location, message) of each diagnostic of a machine of state S (and a final T)."""
    states = {"S": state, "T": {"Type": "Succeed"}} if state["Type"] == "Choice" else {"S": state}
    text = json.dumps({"StartAt": "S", "States": states, **top})
    return [(d.location, d.message) for d in validate_definition(text, machine_type=machine_type)]


def task(**fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": LAMBDA, "End": True, **fields}


# Wait


@pytest.mark.parametrize(
    "timestamp",
    ["2016-12-05 21:29:29Z", "2016-12-05T21:29:29", "2016-13-05T21:29:29Z", "05-12-2016T21:29:29Z"],
)
def test_wait_timestamp_must_be_rfc3339(timestamp: str) -> None:
    state = {"Type": "Wait", "Timestamp": timestamp, "End": True}
    assert one(state) == [("/States/S/Timestamp", "String does not match RFC3339 timestamp")]


@pytest.mark.parametrize("timestamp", ["2016-03-14T01:59:00Z", "2016-03-14T01:59:00.123+02:00"])
def test_wait_timestamp_accepts_rfc3339(timestamp: str) -> None:
    assert one({"Type": "Wait", "Timestamp": timestamp, "End": True}) == []


def test_wait_needs_exactly_one_duration_field() -> None:
    assert len(one({"Type": "Wait", "End": True})) == 1
    assert len(one({"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": True})) == 1


def test_wait_seconds_is_a_non_negative_integer() -> None:
    assert one({"Type": "Wait", "Seconds": -1, "End": True})[0][0] == "/States/S/Seconds"


def test_jsonata_wait_seconds_may_be_an_expression() -> None:
    state = {"Type": "Wait", "Seconds": "{% $states.input.n %}", "End": True}
    assert one(state, QueryLanguage="JSONata") == []


# Task


def test_task_needs_a_resource() -> None:
    assert one({"Type": "Task", "End": True}) == [
        ("/States/S", "These fields are required: [Resource]")
    ]


def test_unknown_optimised_action_is_not_recognised() -> None:
    resource = "arn:aws:states:::dynamodb:query"
    assert one(task(Resource=resource)) == [
        (
            "/States/S/Resource",
            f"The resource provided {resource} is not recognized. The value is not a valid "
            "resource ARN, or the resource is not available in this region.",
        )
    ]


@pytest.mark.parametrize(
    "resource",
    [
        LAMBDA,
        LAMBDA + ":prod",
        "arn:aws:states:us-east-1:111111111111:activity:work",
        "arn:aws:states:::lambda:invoke",
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "arn:aws:states:::states:startExecution.sync:2",
        "arn:aws:states:::aws-sdk:dynamodb:query",
    ],
)
def test_recognised_resources(resource: str) -> None:
    assert one(task(Resource=resource)) == []


def test_timeout_seconds_and_path_are_exclusive() -> None:
    assert [loc for loc, _ in one(task(TimeoutSeconds=5, TimeoutSecondsPath="$.t"))] == [
        "/States/S"
    ]


def test_heartbeat_must_be_below_timeout() -> None:
    assert [loc for loc, _ in one(task(TimeoutSeconds=5, HeartbeatSeconds=5))] == [
        "/States/S/HeartbeatSeconds"
    ]


def test_credentials_require_a_role_arn() -> None:
    state = task(Credentials={"InvalidField": "invalid"})
    assert one(state) == [
        ("/States/S/Credentials", "The field 'RoleArn' is required but was missing")
    ]
    assert one(task(Credentials={"RoleArn.$": "$.role"})) == []


# Fail


def test_fail_error_and_error_path_are_exclusive() -> None:
    assert len(one({"Type": "Fail", "Error": "E", "ErrorPath": "$.e"})) == 1


def test_fail_cause_path_may_be_an_intrinsic() -> None:
    assert one({"Type": "Fail", "CausePath": "States.Format('{}', $.c)"}) == []


# Choice


def choice(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"Type": "Choice", "Choices": list(rules), "Default": "T"}


def test_choice_rule_needs_next_and_one_operator() -> None:
    rule = {"Variable": "$.x", "NumericEquals": 1, "StringEquals": "a"}
    assert one(choice(rule)) == [
        ("/States/S/Choices[0]", "These fields are required: [Next]"),
        ("/States/S/Choices[0]", "A Choice Rule must have exactly one comparison operator"),
    ]


def test_choice_operator_value_types() -> None:
    rule = {"Variable": "$.x", "NumericEquals": "1", "Next": "T"}
    assert [loc for loc, _ in one(choice(rule))] == ["/States/S/Choices[0]/NumericEquals"]


def test_nested_boolean_rules_are_checked() -> None:
    rule = {
        "And": [{"Variable": "$.x", "IsPresent": True}, {"Variable": "x", "IsNull": True}],
        "Next": "T",
    }
    assert [loc for loc, _ in one(choice(rule))] == ["/States/S/Choices[0]/And[1]/Variable"]


def test_choices_must_not_be_empty() -> None:
    state = {"Type": "Choice", "Choices": [], "Default": "T"}
    assert [loc for loc, _ in one(state)] == ["/States/S/Choices"]


def test_jsonata_choice_rules_use_condition() -> None:
    rule = {"Condition": "{% $states.input.x > 1 %}", "Next": "T"}
    assert one(choice(rule), QueryLanguage="JSONata") == []


# Retry and Catch


def test_retrier_fields() -> None:
    retry = [{"ErrorEquals": ["States.ALL"], "BackoffRate": 0.5, "MaxAttempts": -1, "Foo": 1}]
    assert sorted(str(loc) for loc, _ in one(task(Retry=retry))) == [
        "/States/S/Retry[0]",
        "/States/S/Retry[0]/BackoffRate",
        "/States/S/Retry[0]/MaxAttempts",
    ]


def test_states_all_must_be_alone_and_last() -> None:
    retry = [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["Other"]}]
    assert [loc for loc, _ in one(task(Retry=retry))] == ["/States/S/Retry[0]/ErrorEquals"]


def test_catcher_needs_error_equals_and_next() -> None:
    assert one(task(Catch=[{}])) == [
        ("/States/S/Catch[0]", "These fields are required: [ErrorEquals, Next]")
    ]


# Map and Parallel


def map_state(**fields: Any) -> dict[str, Any]:
    return {"Type": "Map", "ItemProcessor": PROCESSOR, "End": True, **fields}


def test_map_needs_a_processor() -> None:
    assert one({"Type": "Map", "End": True}) == [
        ("/States/S", "These fields are required: [ItemProcessor]")
    ]


def test_map_processor_mode() -> None:
    processor = {**PROCESSOR, "ProcessorConfig": {"Mode": "SIDEWAYS"}}
    assert [loc for loc, _ in one(map_state(ItemProcessor=processor))] == [
        "/States/S/ItemProcessor/ProcessorConfig/Mode"
    ]


def test_item_processor_cannot_declare_a_query_language() -> None:
    processor = {**PROCESSOR, "QueryLanguage": "JSONata"}
    assert one(map_state(ItemProcessor=processor)) == [
        ("/States/S/ItemProcessor", "Field 'QueryLanguage' is not supported")
    ]


def test_nested_states_are_validated_with_their_locations() -> None:
    processor = {
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "End": True}, "Q": {"Type": "Succeed"}},
    }
    assert one(map_state(ItemProcessor=processor)) == [
        ("/States/S/ItemProcessor/States/Q", 'State "Q" is not reachable.')
    ]


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("", "Label cannot be empty"),
        ("x" * 41, "Label cannot exceed 40 characters"),
        ("a b", "Label contains invalid character: ' '"),
        ("a\nb", "Label contains invalid character: '\\n'"),
        ("a\x85", "Label contains invalid character: '\\x85'"),
    ],
)
def test_map_label_rules(label: str, message: str) -> None:
    assert one(map_state(Label=label)) == [("/States/S/Label", message)]


def test_parallel_branches() -> None:
    assert [loc for loc, _ in one({"Type": "Parallel", "Branches": [], "End": True})] == [
        "/States/S/Branches"
    ]
    branch = {"StartAt": "X", "States": {"B": {"Type": "Succeed"}}}
    assert ("/States/S/Branches[0]/StartAt", "Missing 'Next' target: X") in one(
        {"Type": "Parallel", "Branches": [branch], "End": True}
    )


# QueryLanguage and expressions


def test_jsonpath_state_under_jsonata_machine() -> None:
    state = {"Type": "Pass", "End": True, "QueryLanguage": "JSONPath"}
    assert one(state, QueryLanguage="JSONata") == [
        (
            "/States/S",
            "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
        )
    ]


def test_fields_of_the_other_query_language() -> None:
    assert one({"Type": "Pass", "End": True, "Output": 1}) == [
        (
            "/States/S",
            "The QueryLanguage is set to 'JSONPath', but field 'Output' is only supported for "
            "the 'JSONata' QueryLanguage",
        )
    ]
    assert one({"Type": "Pass", "End": True, "InputPath": "$"}, QueryLanguage="JSONata") == [
        (
            "/States/S",
            "The QueryLanguage is set to 'JSONata', but field 'InputPath' is only supported for "
            "the 'JSONPath' QueryLanguage",
        )
    ]


def test_dollar_fields_need_a_path_or_intrinsic() -> None:
    state = {"Type": "Pass", "End": True, "Parameters": {"a": {"b.$": "not a path"}}}
    assert one(state) == [
        (
            "/States/S/Parameters",
            "The value for the field 'b.$' must be a valid JSONPath or a valid intrinsic "
            "function call",
        )
    ]


def test_intrinsic_with_illegal_escape() -> None:
    value = "States.Format('He said, \\\"Hello, {}!\\\"', 'x')"
    state = {"Type": "Pass", "End": True, "Parameters": {"parsed.$": value}}
    assert [loc for loc, _ in one(state)] == ["/States/S/Parameters"]


def test_path_fields_must_be_paths() -> None:
    state = {"Type": "Pass", "End": True, "InputPath": "nope", "ResultPath": None}
    assert one(state) == [
        ("/States/S/InputPath", "The value for the field 'InputPath' must be a valid JSONPath")
    ]


def test_jsonata_expressions_must_parse() -> None:
    state = {"Type": "Pass", "End": True, "Output": {"x": "{% 1 + %}"}}
    found = validate_definition(
        json.dumps({"QueryLanguage": "JSONata", "StartAt": "S", "States": {"S": state}})
    )
    assert [(d.code, d.location) for d in found] == [
        ("INVALID_JSONATA_EXPRESSION", "/States/S/Output/x")
    ]
