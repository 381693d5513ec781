"""Child frames of Parallel and Map: aborting nested work cancels every outstanding task."""

from __future__ import annotations

from sagaway.interpreter import CancelTask, Stop, advance
from tests.interpreter.kit import LAMBDA_ARN, T0, invokes, machine, start, types


def test_stop_cancels_tasks_in_nested_map_inside_parallel() -> None:
    m = machine(
        {
            "Par": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "M",
                        "States": {
                            "M": {
                                "Type": "Map",
                                "ItemProcessor": {
                                    "StartAt": "T",
                                    "States": {
                                        "T": {"Type": "Task", "Resource": LAMBDA_ARN, "End": True}
                                    },
                                },
                                "End": True,
                            }
                        },
                    },
                    {
                        "StartAt": "T2",
                        "States": {"T2": {"Type": "Task", "Resource": LAMBDA_ARN, "End": True}},
                    },
                ],
                "End": True,
            }
        }
    )
    step = start(m, [1, 2])
    tokens = {c.token for c in invokes(step)}
    assert len(tokens) == 3
    stopped = advance(m, step.state, Stop(), T0 + 1)
    assert {c.token for c in stopped.commands if isinstance(c, CancelTask)} == tokens
    assert stopped.state.tokens == {}
    names = types(stopped.history)
    assert names.count("TaskStateAborted") == 3
    assert "MapStateAborted" in names and "ParallelStateAborted" in names
    assert names[-1] == "ExecutionAborted"
