"""Pass state: input, Result, Parameters, ResultPath and OutputPath."""

from __future__ import annotations

from typing import Any

import pytest

from tests.interpreter.kit import machine, start, types


@pytest.mark.parametrize(
    ("spec", "value", "output"),
    [
        ({}, {"a": 1}, {"a": 1}),
        ({"Result": {"b": 2}}, {"a": 1}, {"b": 2}),
        ({"Result": "x", "ResultPath": "$.r"}, {"a": 1}, {"a": 1, "r": "x"}),
        (
            {"Result": {"c": 3}, "ResultPath": "$.deep.er"},
            {"a": 1},
            {"a": 1, "deep": {"er": {"c": 3}}},
        ),
        ({"Result": {"b": 2}, "ResultPath": "$.r", "OutputPath": "$.r.b"}, {"a": 1}, 2),
        ({"Result": 1, "ResultPath": None}, {"a": 1}, {"a": 1}),
        ({"InputPath": "$.a"}, {"a": [1, 2]}, [1, 2]),
        ({"Parameters": {"x.$": "$.a", "fixed": True}}, {"a": 5}, {"x": 5, "fixed": True}),
        ({"Result": None}, {"a": 1}, None),
    ],
)
def test_pass_pipeline(spec: dict[str, Any], value: Any, output: Any) -> None:
    m = machine({"P": {"Type": "Pass", **spec, "End": True}})
    step = start(m, value)
    assert step.state.status == "SUCCEEDED"
    assert step.state.output == output


def test_pass_chain_feeds_output_to_next_input() -> None:
    m = machine(
        {
            "One": {"Type": "Pass", "Result": 1, "ResultPath": "$.one", "Next": "Two"},
            "Two": {"Type": "Pass", "Result": 2, "ResultPath": "$.two", "End": True},
        }
    )
    step = start(m, {})
    assert step.state.output == {"one": 1, "two": 2}
    assert types(step.history) == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]


def test_result_path_into_a_scalar_input_is_a_result_path_failure() -> None:
    m = machine({"P": {"Type": "Pass", "Result": 1, "ResultPath": "$.x.y", "End": True}})
    step = start(m, {"x": "scalar"})
    assert step.state.status == "FAILED"
    assert step.state.error == "States.ResultPathMatchFailure"
