"""Succeed state: ends the execution (or branch) successfully, InputPath/OutputPath applied."""

from __future__ import annotations

from tests.interpreter.kit import machine, start, types


def test_succeed_ends_with_its_input() -> None:
    step = start(machine({"S": {"Type": "Succeed"}}), {"a": 1})
    assert step.state.status == "SUCCEEDED"
    assert step.state.output == {"a": 1}
    assert types(step.history) == [
        "ExecutionStarted",
        "SucceedStateEntered",
        "SucceedStateExited",
        "ExecutionSucceeded",
    ]
    assert step.history[-1]["executionSucceededEventDetails"]["output"] == '{"a":1}'


def test_succeed_applies_input_path_then_output_path() -> None:
    m = machine({"S": {"Type": "Succeed", "InputPath": "$.order", "OutputPath": "$.id"}})
    assert start(m, {"order": {"id": "o-9"}, "x": 1}).state.output == "o-9"


def test_succeed_inside_a_parallel_branch_ends_only_that_branch() -> None:
    m = machine(
        {
            "Par": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Stop", "States": {"Stop": {"Type": "Succeed"}}},
                    {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 2, "End": True}}},
                ],
                "Next": "After",
            },
            "After": {"Type": "Pass", "End": True},
        }
    )
    step = start(m, 1)
    assert step.state.status == "SUCCEEDED"
    assert step.state.output == [1, 2]
    assert step.history[-1]["type"] == "ExecutionSucceeded"
