"""Fail state: Error/Cause literal or from ErrorPath/CausePath."""

from __future__ import annotations

from tests.interpreter.kit import machine, start, types


def test_fail_with_literal_error_and_cause() -> None:
    step = start(machine({"F": {"Type": "Fail", "Error": "OutOfStock", "Cause": "sku A1"}}), {})
    assert step.state.status == "FAILED"
    assert (step.state.error, step.state.cause) == ("OutOfStock", "sku A1")
    assert types(step.history) == ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]
    assert step.history[-1]["executionFailedEventDetails"] == {
        "error": "OutOfStock",
        "cause": "sku A1",
    }


def test_fail_with_error_path_and_cause_path() -> None:
    m = machine(
        {"F": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "States.Format('bad {}', $.n)"}}
    )
    step = start(m, {"e": "Custom", "n": 3})
    assert (step.state.error, step.state.cause) == ("Custom", "bad 3")


def test_fail_without_error_or_cause() -> None:
    step = start(machine({"F": {"Type": "Fail"}}), {})
    assert step.state.status == "FAILED"
    assert step.state.error is None and step.state.cause is None
    assert "executionFailedEventDetails" in step.history[-1]
    assert step.history[-1]["executionFailedEventDetails"] == {}


def test_fail_in_a_branch_fails_the_parallel_which_can_catch_it() -> None:
    m = machine(
        {
            "Par": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "F",
                        "States": {"F": {"Type": "Fail", "Error": "E1", "Cause": "c1"}},
                    }
                ],
                "Catch": [{"ErrorEquals": ["E1"], "ResultPath": "$.err", "Next": "Handled"}],
                "End": True,
            },
            "Handled": {"Type": "Pass", "End": True},
        }
    )
    step = start(m, {"in": 1})
    assert step.state.status == "SUCCEEDED"
    assert step.state.output == {"in": 1, "err": {"Error": "E1", "Cause": "c1"}}
