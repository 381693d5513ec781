"""InputPath -> Parameters -> (task) -> ResultSelector -> ResultPath -> OutputPath, the context
object ``$$`` and workflow variables (Assign), as the Step Functions guide describes them."""

from __future__ import annotations

from sagaway.interpreter import InvokeTask, TaskFailed, TaskSucceeded
from sagaway.interpreter.messages import Event
from tests.interpreter.kit import (
    EXEC_ARN,
    EXEC_NAME,
    LAMBDA_ARN,
    SM_ARN,
    SM_NAME,
    T0,
    T0_ISO,
    drive,
    fail,
    iso,
    machine,
    only_invoke,
    start,
    succeed,
)

ORDER = {"order": {"id": "o-1", "total": 30, "lines": [{"sku": "A"}, {"sku": "B"}]}, "meta": "m"}


def test_full_jsonpath_pipeline_on_a_task() -> None:
    m = machine(
        {
            "Charge": {
                "Type": "Task",
                "Resource": LAMBDA_ARN,
                "InputPath": "$.order",
                "Parameters": {"amount.$": "$.total", "ref.$": "$.id", "currency": "EUR"},
                "ResultSelector": {"status.$": "$.Status", "fee.$": "$.Fee"},
                "ResultPath": "$.payment",
                "OutputPath": "$.payment",
                "End": True,
            }
        }
    )
    first = start(m, ORDER)
    assert only_invoke(first).payload == {"amount": 30, "ref": "o-1", "currency": "EUR"}
    done = succeed(m, first, {"Status": "OK", "Fee": 1, "Noise": True})
    assert done.state.output == {"status": "OK", "fee": 1}


def test_result_path_merges_into_the_raw_state_input() -> None:
    m = machine(
        {
            "Charge": {
                "Type": "Task",
                "Resource": LAMBDA_ARN,
                "InputPath": "$.order",
                "ResultPath": "$.charge",
                "End": True,
            }
        }
    )
    done = succeed(m, start(m, ORDER), {"ok": True})
    # ResultPath writes into the state's original input, not the InputPath selection.
    assert done.state.output == {**ORDER, "charge": {"ok": True}}


def test_result_path_null_discards_the_result_and_keeps_the_input() -> None:
    m = machine(
        {"Charge": {"Type": "Task", "Resource": LAMBDA_ARN, "ResultPath": None, "End": True}}
    )
    done = succeed(m, start(m, {"keep": 1}), {"dropped": True})
    assert done.state.output == {"keep": 1}


def test_output_path_null_gives_an_empty_object() -> None:
    m = machine({"P": {"Type": "Pass", "OutputPath": None, "End": True}})
    assert start(m, {"a": 1}).state.output == {}


def test_input_path_null_gives_an_empty_object() -> None:
    m = machine(
        {"Charge": {"Type": "Task", "Resource": LAMBDA_ARN, "InputPath": None, "End": True}}
    )
    assert only_invoke(start(m, {"a": 1})).payload == {}


def test_missing_input_path_is_states_runtime() -> None:
    m = machine({"P": {"Type": "Pass", "InputPath": "$.absent", "End": True}})
    step = start(m, {"a": 1})
    assert step.state.status == "FAILED"
    assert step.state.error == "States.Runtime"
    assert "$.absent" in (step.state.cause or "")


def test_result_path_replaces_an_existing_field() -> None:
    m = machine({"P": {"Type": "Pass", "Result": "new", "ResultPath": "$.meta", "End": True}})
    assert start(m, ORDER).state.output == {**ORDER, "meta": "new"}


def test_parameters_with_intrinsic_and_context() -> None:
    m = machine(
        {
            "P": {
                "Type": "Pass",
                "Parameters": {
                    "greeting.$": "States.Format('order {} of {}', $.order.id, $$.Execution.Name)",
                    "count.$": "States.ArrayLength($.order.lines)",
                },
                "End": True,
            }
        }
    )
    assert start(m, ORDER).state.output == {"greeting": f"order o-1 of {EXEC_NAME}", "count": 2}


def test_context_object_fields() -> None:
    m = machine(
        {
            "First": {"Type": "Pass", "Next": "Later"},
            "Later": {"Type": "Wait", "Seconds": 5, "Next": "Look"},
            "Look": {
                "Type": "Pass",
                "Parameters": {
                    "id.$": "$$.Execution.Id",
                    "name.$": "$$.Execution.Name",
                    "input.$": "$$.Execution.Input",
                    "started.$": "$$.Execution.StartTime",
                    "state.$": "$$.State.Name",
                    "entered.$": "$$.State.EnteredTime",
                    "machine.$": "$$.StateMachine.Id",
                    "machineName.$": "$$.StateMachine.Name",
                },
                "End": True,
            },
        }
    )
    out = drive(m, {"x": [1, 2]})
    assert out.status == "SUCCEEDED"
    assert out.output == {
        "id": EXEC_ARN,
        "name": EXEC_NAME,
        "input": {"x": [1, 2]},
        "started": T0_ISO,
        "state": "Look",
        "entered": iso(T0 + 5),
        "machine": SM_ARN,
        "machineName": SM_NAME,
    }


def test_state_retry_count_counts_retries_of_the_current_state() -> None:
    m = machine(
        {
            "Work": {
                "Type": "Task",
                "Resource": LAMBDA_ARN,
                "Parameters": {"try.$": "$$.State.RetryCount"},
                "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 3}],
                "End": True,
            }
        }
    )
    seen: list[int] = []

    def invoker(cmd: InvokeTask) -> tuple[Event, float]:
        seen.append(cmd.payload["try"])
        if len(seen) < 3:
            return TaskFailed(cmd.token, "Flaky"), 0.0
        return TaskSucceeded(cmd.token, cmd.payload), 0.0

    out = drive(m, {}, invoker)
    assert seen == [0, 1, 2]
    assert out.output == {"try": 2}


def test_first_task_attempt_sees_retry_count_zero() -> None:
    m = machine(
        {
            "Work": {
                "Type": "Task",
                "Resource": LAMBDA_ARN,
                "Parameters": {"try.$": "$$.State.RetryCount", "name.$": "$$.State.Name"},
                "Retry": [{"ErrorEquals": ["Flaky"]}],
                "End": True,
            }
        }
    )
    assert only_invoke(start(m, {})).payload == {"try": 0, "name": "Work"}


def test_assign_reads_variables_as_they_were_when_the_state_started() -> None:
    # The guide's swap example: both right-hand sides see the values from before the state.
    m = machine(
        {
            "Init": {"Type": "Pass", "Assign": {"x": 1, "y": 2}, "Next": "Swap"},
            "Swap": {"Type": "Pass", "Assign": {"x.$": "$y", "y.$": "$x"}, "Next": "Show"},
            "Show": {"Type": "Pass", "Parameters": {"x.$": "$x", "y.$": "$y"}, "End": True},
        }
    )
    assert start(m, {}).state.output == {"x": 2, "y": 1}


def test_assigned_variables_reach_later_states() -> None:
    m = machine(
        {
            "Set": {
                "Type": "Pass",
                "Parameters": {"seen.$": "$.who"},
                "Assign": {"customer.$": "$.seen", "limit": 100},
                "Next": "Use",
            },
            "Use": {
                "Type": "Pass",
                "Parameters": {"customer.$": "$customer", "limit.$": "$limit"},
                "End": True,
            },
        }
    )
    assert start(m, {"who": "ada"}).state.output == {"customer": "ada", "limit": 100}


def test_assign_on_task_reads_the_task_result() -> None:
    m = machine(
        {
            "Fetch": {
                "Type": "Task",
                "Resource": LAMBDA_ARN,
                "Assign": {"price.$": "$.price"},
                "ResultPath": None,
                "Next": "Use",
            },
            "Use": {"Type": "Pass", "Parameters": {"p.$": "$price", "in.$": "$"}, "End": True},
        }
    )
    done = succeed(m, start(m, {"sku": "A"}), {"price": 9})
    assert done.state.output == {"p": 9, "in": {"sku": "A"}}


def test_catch_assign_reads_the_error_output() -> None:
    m = machine(
        {
            "Work": {
                "Type": "Task",
                "Resource": LAMBDA_ARN,
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "Assign": {"why.$": "$.Cause"},
                        "Next": "Report",
                    }
                ],
                "End": True,
            },
            "Report": {"Type": "Pass", "Parameters": {"why.$": "$why"}, "End": True},
        }
    )
    done = fail(m, start(m, {}), "Oops", "disk full")
    assert done.state.output == {"why": "disk full"}
