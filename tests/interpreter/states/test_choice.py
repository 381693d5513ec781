"""Choice state: rules in order, *Path operands, Is* tests, And/Or/Not, Default."""

from __future__ import annotations

from typing import Any

import pytest

from tests.interpreter.kit import machine, start, types


def _route(rule: dict[str, Any], value: Any, **choice: Any) -> str | None:
    """Run a Choice with one rule going to Yes (Default: No); the name of the state reached."""
    m = machine(
        {
            "C": {
                "Type": "Choice",
                "Choices": [{**rule, "Next": "Yes"}],
                "Default": "No",
                **choice,
            },
            "Yes": {"Type": "Pass", "Result": "Yes", "End": True},
            "No": {"Type": "Pass", "Result": "No", "End": True},
        }
    )
    step = start(m, value)
    return step.state.output if step.state.status == "SUCCEEDED" else step.state.error


DATA = {
    "name": "widget",
    "qty": 7,
    "limit": 10,
    "paid": True,
    "at": "2024-05-01T10:00:00Z",
    "deadline": "2024-05-02T00:00:00Z",
    "file": "report-2024.csv",
    "nothing": None,
}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"Variable": "$.name", "StringEquals": "widget"}, "Yes"),
        ({"Variable": "$.name", "StringEqualsPath": "$.name"}, "Yes"),
        ({"Variable": "$.name", "StringLessThan": "a"}, "No"),
        ({"Variable": "$.name", "StringGreaterThanEquals": "widget"}, "Yes"),
        ({"Variable": "$.file", "StringMatches": "report-*.csv"}, "Yes"),
        ({"Variable": "$.file", "StringMatches": "*.json"}, "No"),
        ({"Variable": "$.qty", "NumericEquals": 7}, "Yes"),
        ({"Variable": "$.qty", "NumericLessThanPath": "$.limit"}, "Yes"),
        ({"Variable": "$.limit", "NumericLessThanEqualsPath": "$.qty"}, "No"),
        ({"Variable": "$.qty", "NumericGreaterThan": 7}, "No"),
        ({"Variable": "$.paid", "BooleanEquals": True}, "Yes"),
        ({"Variable": "$.paid", "BooleanEqualsPath": "$.paid"}, "Yes"),
        ({"Variable": "$.at", "TimestampLessThan": "2024-05-01T10:00:01Z"}, "Yes"),
        ({"Variable": "$.at", "TimestampLessThanPath": "$.deadline"}, "Yes"),
        ({"Variable": "$.deadline", "TimestampEqualsPath": "$.at"}, "No"),
        ({"Variable": "$.nothing", "IsNull": True}, "Yes"),
        ({"Variable": "$.qty", "IsNumeric": True}, "Yes"),
        ({"Variable": "$.name", "IsString": False}, "No"),
        ({"Variable": "$.paid", "IsBoolean": True}, "Yes"),
        ({"Variable": "$.at", "IsTimestamp": True}, "Yes"),
        ({"Variable": "$.absent", "IsPresent": False}, "Yes"),
        ({"Variable": "$.qty", "IsPresent": True}, "Yes"),
        ({"Variable": "$.name", "NumericEquals": 1}, "No"),  # wrong type: false, not an error
    ],
)
def test_operator_families(rule: dict[str, Any], expected: str) -> None:
    assert _route(rule, DATA) == expected


def test_and_or_not_combinators() -> None:
    both = {
        "And": [
            {"Variable": "$.qty", "NumericGreaterThan": 5},
            {"Not": {"Variable": "$.name", "StringEquals": "gadget"}},
        ]
    }
    either = {
        "Or": [
            {"Variable": "$.qty", "NumericGreaterThan": 50},
            {"Variable": "$.paid", "BooleanEquals": False},
        ]
    }
    assert _route(both, DATA) == "Yes"
    assert _route(either, DATA) == "No"
    assert _route({"Not": either}, DATA) == "Yes"


def test_first_matching_rule_wins() -> None:
    m = machine(
        {
            "C": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.n", "NumericGreaterThan": 1, "Next": "First"},
                    {"Variable": "$.n", "NumericGreaterThan": 0, "Next": "Second"},
                ],
            },
            "First": {"Type": "Pass", "Result": 1, "End": True},
            "Second": {"Type": "Pass", "Result": 2, "End": True},
        }
    )
    assert start(m, {"n": 5}).state.output == 1
    assert start(m, {"n": 0.5}).state.output == 2


def test_no_match_without_default_fails_with_no_choice_matched() -> None:
    m = machine(
        {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "E"}],
            },
            "E": {"Type": "Succeed"},
        }
    )
    step = start(m, {"n": 2})
    assert step.state.status == "FAILED"
    assert step.state.error == "States.NoChoiceMatched"
    assert types(step.history) == ["ExecutionStarted", "ChoiceStateEntered", "ExecutionFailed"]


def test_missing_variable_is_states_runtime() -> None:
    assert _route({"Variable": "$.absent", "StringEquals": "x"}, DATA) == "States.Runtime"


def test_choice_passes_input_through_with_input_and_output_path() -> None:
    m = machine(
        {
            "C": {
                "Type": "Choice",
                "InputPath": "$.order",
                "OutputPath": "$.lines",
                "Choices": [{"Variable": "$.kind", "StringEquals": "big", "Next": "E"}],
            },
            "E": {"Type": "Succeed"},
        }
    )
    step = start(m, {"order": {"kind": "big", "lines": [1, 2]}})
    assert step.state.output == [1, 2]


def test_choice_rule_can_compare_against_variables_and_context() -> None:
    m = machine(
        {
            "Set": {"Type": "Pass", "Assign": {"max": 3}, "Next": "C"},
            "C": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.n", "NumericLessThanPath": "$max", "Next": "Small"},
                    {"Variable": "$$.State.Name", "StringEquals": "C", "Next": "Big"},
                ],
            },
            "Small": {"Type": "Pass", "Result": "small", "End": True},
            "Big": {"Type": "Pass", "Result": "big", "End": True},
        }
    )
    assert start(m, {"n": 2}).state.output == "small"
    assert start(m, {"n": 9}).state.output == "big"
