"""run_virtual: drives the interpreter to the end on a virtual clock."""

from __future__ import annotations

from sagaway.interpreter import InvokeTask, TaskFailed, TaskSucceeded
from sagaway.interpreter.messages import Event
from tests.interpreter.kit import LAMBDA_ARN, T0, drive, echo, iso, machine, types


def test_waits_cost_no_real_time_and_advance_the_clock() -> None:
    m = machine(
        {
            "W1": {"Type": "Wait", "Seconds": 3600, "Next": "W2"},
            "W2": {"Type": "Wait", "Seconds": 60, "Next": "Stamp"},
            "Stamp": {"Type": "Pass", "Parameters": {"at.$": "$$.State.EnteredTime"}, "End": True},
        }
    )
    out = drive(m, {})
    assert out.status == "SUCCEEDED"
    assert out.output == {"at": iso(T0 + 3660)}
    assert out.history[-1]["timestamp"] == T0 + 3660


def test_task_duration_moves_the_clock() -> None:
    m = machine({"T": {"Type": "Task", "Resource": LAMBDA_ARN, "End": True}})

    def slow(cmd: InvokeTask) -> tuple[Event, float]:
        return TaskSucceeded(cmd.token, {"done": True}), 12.5

    out = drive(m, {}, slow)
    assert out.output == {"done": True}
    assert out.history[-1]["timestamp"] == T0 + 12.5


def test_timeout_seconds_with_a_slow_invoker_is_states_timeout() -> None:
    m = machine({"T": {"Type": "Task", "Resource": LAMBDA_ARN, "TimeoutSeconds": 5, "End": True}})

    def slow(cmd: InvokeTask) -> tuple[Event, float]:
        return TaskSucceeded(cmd.token, "too late"), 60.0

    out = drive(m, {}, slow)
    assert out.status == "FAILED"
    assert out.error == "States.Timeout"
    assert "LambdaFunctionTimedOut" in types(out.history)
    assert out.history[-1]["type"] == "ExecutionFailed"
    assert out.history[-1]["timestamp"] == T0 + 5


def test_timeout_can_be_retried_then_succeed() -> None:
    m = machine(
        {
            "T": {
                "Type": "Task",
                "Resource": LAMBDA_ARN,
                "TimeoutSeconds": 5,
                "Retry": [
                    {"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 2, "MaxAttempts": 1}
                ],
                "End": True,
            }
        }
    )
    calls: list[float] = []

    def sometimes_slow(cmd: InvokeTask) -> tuple[Event, float]:
        calls.append(1)
        return TaskSucceeded(cmd.token, len(calls)), 60.0 if len(calls) == 1 else 1.0

    out = drive(m, {}, sometimes_slow)
    assert out.status == "SUCCEEDED"
    assert out.output == 2
    # 5 s timeout + 2 s retry interval + 1 s second call.
    assert out.history[-1]["timestamp"] == T0 + 8


def test_retry_backoff_on_the_virtual_clock() -> None:
    m = machine(
        {
            "T": {
                "Type": "Task",
                "Resource": LAMBDA_ARN,
                "Retry": [
                    {
                        "ErrorEquals": ["Busy"],
                        "IntervalSeconds": 1,
                        "BackoffRate": 2,
                        "MaxAttempts": 3,
                    }
                ],
                "End": True,
            }
        }
    )
    times: list[str] = []

    def busy(cmd: InvokeTask) -> tuple[Event, float]:
        times.append(cmd.context["State"]["EnteredTime"])
        return TaskFailed(cmd.token, "Busy", "try later"), 0.0

    out = drive(m, {}, busy)
    assert out.status == "FAILED"
    assert (out.error, out.cause) == ("Busy", "try later")
    scheduled = [e["timestamp"] for e in out.history if e["type"] == "LambdaFunctionScheduled"]
    assert scheduled == [T0, T0 + 1, T0 + 3, T0 + 7]


def test_outcome_history_ids_are_contiguous() -> None:
    m = machine(
        {
            "P": {"Type": "Pass", "Next": "T"},
            "T": {"Type": "Task", "Resource": LAMBDA_ARN, "Next": "S"},
            "S": {"Type": "Succeed"},
        }
    )
    out = drive(m, {"a": 1}, echo)
    assert [e["id"] for e in out.history] == list(range(1, len(out.history) + 1))
    assert out.output == {"a": 1}
    assert out.state is not None and out.state.status == "SUCCEEDED"


def test_map_with_max_concurrency_under_run_virtual() -> None:
    m = machine(
        {
            "M": {
                "Type": "Map",
                "MaxConcurrency": 2,
                "ItemProcessor": {
                    "StartAt": "T",
                    "States": {"T": {"Type": "Task", "Resource": LAMBDA_ARN, "End": True}},
                },
                "End": True,
            }
        }
    )
    live: list[int] = []

    def timed(cmd: InvokeTask) -> tuple[Event, float]:
        live.append(cmd.payload)
        return TaskSucceeded(cmd.token, cmd.payload * 10), float(cmd.payload)

    out = drive(m, [3, 1, 2, 1], timed)
    assert out.output == [30, 10, 20, 10]
    # Two at a time: items 0 and 1 start at once; item 2 when item 1 ends (t=1),
    # item 3 when item 0 ends (t=3); the last ends at t=4.
    scheduled = [e["timestamp"] for e in out.history if e["type"] == "LambdaFunctionScheduled"]
    assert scheduled == [T0, T0, T0 + 1, T0 + 3]
    assert out.history[-1]["timestamp"] == T0 + 4
