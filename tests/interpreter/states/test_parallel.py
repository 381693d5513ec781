"""Parallel state: every branch on the same input; output is the list in branch order."""

from __future__ import annotations

from sagaway.interpreter import CancelTask, TaskFailed, TaskSucceeded, TimerFired, advance
from tests.interpreter.kit import LAMBDA_ARN, T0, invokes, machine, start, types


def _branch(name: str, state: dict[str, object]) -> dict[str, object]:
    return {"StartAt": name, "States": {name: {**state, "End": True}}}


PAR = machine(
    {
        "Par": {
            "Type": "Parallel",
            "Branches": [
                _branch("Slow", {"Type": "Task", "Resource": LAMBDA_ARN, "Parameters": {"b": 0}}),
                _branch("Fast", {"Type": "Task", "Resource": LAMBDA_ARN, "Parameters": {"b": 1}}),
                _branch("Const", {"Type": "Pass", "Result": "two"}),
            ],
            "ResultPath": "$.results",
            "End": True,
        }
    }
)


PAR_START = start(PAR, {"in": 1})


def test_branches_start_together_and_output_keeps_branch_order() -> None:
    step = start(PAR, {"in": 1})
    slow, fast = invokes(step)
    assert [slow.payload, fast.payload] == [{"b": 0}, {"b": 1}]
    # Answer the second branch first: the output order is still the branch order.
    step = advance(PAR, step.state, TaskSucceeded(fast.token, "one"), T0 + 1)
    assert step.state.status == "RUNNING"
    step = advance(PAR, step.state, TaskSucceeded(slow.token, "zero"), T0 + 2)
    assert step.state.status == "SUCCEEDED"
    assert step.state.output == {"in": 1, "results": ["zero", "one", "two"]}
    assert types(step.history)[-2:] == ["ParallelStateExited", "ExecutionSucceeded"]
    assert "ParallelStateStarted" in types(PAR_START.history)


def test_branches_receive_the_effective_input() -> None:
    m = machine(
        {
            "Par": {
                "Type": "Parallel",
                "Parameters": {"v.$": "$.x"},
                "Branches": [
                    _branch("A", {"Type": "Pass"}),
                    _branch("B", {"Type": "Pass", "OutputPath": "$.v"}),
                ],
                "End": True,
            }
        }
    )
    assert start(m, {"x": 4}).state.output == [{"v": 4}, 4]


def test_a_failing_branch_aborts_the_others_and_fails_the_parallel() -> None:
    step = start(PAR, {})
    slow, fast = invokes(step)
    failed = advance(PAR, step.state, TaskFailed(fast.token, "Boom", "bad"), T0 + 1)
    assert failed.state.status == "FAILED"
    assert (failed.state.error, failed.state.cause) == ("Boom", "bad")
    assert CancelTask(slow.token) in failed.commands
    assert "ParallelStateFailed" in types(failed.history)
    late = advance(PAR, failed.state, TaskSucceeded(slow.token, "late"), T0 + 2)
    assert late.history == []


def test_parallel_retry_reruns_every_branch() -> None:
    m = machine(
        {
            "Par": {
                "Type": "Parallel",
                "Branches": [_branch("T", {"Type": "Task", "Resource": LAMBDA_ARN})],
                "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 2}],
                "End": True,
            }
        }
    )
    step = start(m, {})
    [first] = invokes(step)
    failed = advance(m, step.state, TaskFailed(first.token, "Boom"), T0)
    [timer] = failed.commands
    assert timer.fire_at == T0 + 2  # type: ignore[union-attr]
    again = advance(m, failed.state, TimerFired(timer.token), T0 + 2)
    [second] = invokes(again)
    assert second.token != first.token
    done = advance(m, again.state, TaskSucceeded(second.token, 7), T0 + 3)
    assert done.state.output == [7]


def test_branch_variables_read_outer_scope_and_stay_inside() -> None:
    m = machine(
        {
            "Set": {"Type": "Pass", "Assign": {"outer": "o"}, "Next": "Par"},
            "Par": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "In",
                        "States": {
                            "In": {"Type": "Pass", "Assign": {"inner": "i"}, "Next": "Read"},
                            "Read": {
                                "Type": "Pass",
                                "Parameters": {"o.$": "$outer", "i.$": "$inner"},
                                "End": True,
                            },
                        },
                    }
                ],
                "Next": "After",
            },
            "After": {
                "Type": "Pass",
                "Parameters": {"branch.$": "$[0]", "o.$": "$outer"},
                "Next": "Leak",
            },
            "Leak": {"Type": "Pass", "Parameters": {"i.$": "$inner"}, "End": True},
        }
    )
    step = start(m, {})
    exited = [e for e in step.history if e["type"] == "PassStateExited"]
    after = next(e for e in exited if e["stateExitedEventDetails"]["name"] == "After")
    assert after["stateExitedEventDetails"]["output"] == '{"branch":{"o":"o","i":"i"},"o":"o"}'
    # The branch's own variable is not visible after the Parallel.
    assert step.state.status == "FAILED"
    assert step.state.error == "States.Runtime"
