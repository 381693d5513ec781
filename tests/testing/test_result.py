"""SagaResult: the questions a test asks of a finished execution."""

from __future__ import annotations

import pytest

from sagaway.testing import run_saga
from tests.testing.sagas import definition, task

LOOP = definition(
    {
        "Count": {
            "Type": "Pass",
            "Parameters": {"n.$": "States.MathAdd($.n, 1)"},
            "Next": "Enough?",
        },
        "Enough?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericLessThan": 3, "Next": "Count"}],
            "Default": "Report",
        },
        "Report": task("report", End=True),
    }
)


def test_states_entered_repeats_states_entered_again() -> None:
    result = run_saga(LOOP, {"n": 0}, mocks={"Report": {"Return": "ok"}})
    assert result.states_entered() == ["Count", "Enough?"] * 3 + ["Report"]


def test_state_output_is_the_last_exit_and_state_outputs_all_of_them() -> None:
    result = run_saga(LOOP, {"n": 0}, mocks={"Report": {"Return": "ok"}})
    assert result.state_outputs("Count") == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert result.state_output("Count") == {"n": 3}
    with pytest.raises(LookupError, match=r"'Nope' never exited.*Count, Enough\?, Report"):
        result.state_output("Nope")


def test_task_calls_refuses_names_that_are_not_task_states() -> None:
    result = run_saga(LOOP, {"n": 0}, mocks={"Report": {"Return": "ok"}})
    assert result.task_calls("Report") == [{"n": 3}]
    with pytest.raises(LookupError, match=r"'Count' is not a Task state.*Task states: Report"):
        result.task_calls("Count")


def test_events_filters_by_type_and_elapsed_is_zero_without_waits() -> None:
    result = run_saga(LOOP, {"n": 0}, mocks={"Report": {"Return": "ok"}})
    assert result.events()[0]["type"] == "ExecutionStarted"
    assert len(result.events("PassStateEntered")) == 3
    assert result.elapsed == 0
    assert result.succeeded and result.output == "ok"
    assert "history" not in repr(result)  # failure messages stay readable
