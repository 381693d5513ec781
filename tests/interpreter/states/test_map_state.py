"""Map state: results in item order, MaxConcurrency, ItemSelector with $$.Map.Item, tolerance."""

from __future__ import annotations

from typing import Any

from sagaway.interpreter import TaskFailed, TaskSucceeded, advance
from tests.interpreter.kit import LAMBDA_ARN, T0, invokes, machine, start, types


def _map(concurrency: int | None = None, **extra: Any) -> Any:
    spec: dict[str, Any] = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"},
            "StartAt": "Work",
            "States": {"Work": {"Type": "Task", "Resource": LAMBDA_ARN, "End": True}},
        },
        "End": True,
        **extra,
    }
    if concurrency is not None:
        spec["MaxConcurrency"] = concurrency
    return machine({"M": spec})


def _outstanding(state: Any) -> int:
    return len([t for t in state.tokens if "#" in t])


def test_results_follow_item_order_whatever_the_finish_order() -> None:
    m = _map()
    step = start(m, {"items": [10, 20, 30]})
    calls = invokes(step)
    assert [c.payload for c in calls] == [10, 20, 30]
    state = step.state
    for call in reversed(calls):
        step = advance(m, state, TaskSucceeded(call.token, call.payload * 2), T0 + 1)
        state = step.state
    assert state.status == "SUCCEEDED"
    assert state.output == [20, 40, 60]


def test_max_concurrency_bounds_outstanding_invocations() -> None:
    m = _map(concurrency=2)
    step = start(m, {"items": list(range(5))})
    pending = invokes(step)
    assert [c.payload for c in pending] == [0, 1]
    seen, peak, state = [0, 1], 2, step.state
    while pending:
        call = pending.pop(0)
        step = advance(m, state, TaskSucceeded(call.token, call.payload + 100), T0 + 1)
        state = step.state
        new = invokes(step)
        seen += [c.payload for c in new]
        pending += new
        peak = max(peak, len(pending))
        assert len(pending) <= 2
        assert _outstanding(state) == len(pending)
    assert seen == [0, 1, 2, 3, 4]
    assert peak == 2
    assert state.output == [100, 101, 102, 103, 104]


def test_max_concurrency_zero_means_no_limit() -> None:
    assert len(invokes(start(_map(concurrency=0), {"items": list(range(7))}))) == 7


def test_item_selector_sees_map_item_index_and_value_and_the_input() -> None:
    m = _map(
        ItemSelector={
            "index.$": "$$.Map.Item.Index",
            "value.$": "$$.Map.Item.Value",
            "batch.$": "$.batch",
        },
    )
    calls = invokes(start(m, {"items": ["a", "b"], "batch": 7}))
    assert [c.payload for c in calls] == [
        {"index": 0, "value": "a", "batch": 7},
        {"index": 1, "value": "b", "batch": 7},
    ]


def test_empty_items_succeed_with_an_empty_list() -> None:
    step = start(_map(), {"items": []})
    assert step.state.status == "SUCCEEDED"
    assert step.state.output == []


def test_items_path_must_select_an_array() -> None:
    step = start(_map(), {"items": {"not": "array"}})
    assert step.state.status == "FAILED"
    assert step.state.error == "States.Runtime"


def test_inline_iteration_failure_fails_the_map_and_cancels_the_rest() -> None:
    m = _map()
    step = start(m, {"items": [1, 2, 3]})
    first, second, third = invokes(step)
    failed = advance(m, step.state, TaskFailed(second.token, "Bad", "item 2"), T0 + 1)
    assert failed.state.status == "FAILED"
    assert (failed.state.error, failed.state.cause) == ("Bad", "item 2")
    cancelled = {c.token for c in failed.commands if type(c).__name__ == "CancelTask"}
    assert cancelled == {first.token, third.token}
    assert "MapStateFailed" in types(failed.history)


def test_map_history_for_inline_iterations() -> None:
    m = machine(
        {
            "M": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
                "End": True,
            }
        }
    )
    step = start(m, ["x"])
    assert types(step.history) == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapIterationStarted",
        "PassStateEntered",
        "PassStateExited",
        "MapIterationSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]
    started = step.history[2]
    assert started["mapStateStartedEventDetails"] == {"length": 1}
    assert step.history[3]["mapIterationStartedEventDetails"] == {"index": 0, "name": "M"}


def _distributed(**extra: Any) -> Any:
    return _map(
        ItemProcessor={
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Work",
            "States": {"Work": {"Type": "Task", "Resource": LAMBDA_ARN, "End": True}},
        },
        **extra,
    )


def test_distributed_tolerated_failure_count_allows_that_many_failures() -> None:
    m = _distributed(ToleratedFailureCount=1)
    step = start(m, {"items": [1, 2, 3]})
    a, b, c = invokes(step)
    step = advance(m, step.state, TaskFailed(b.token, "Bad"), T0 + 1)
    assert step.state.status == "RUNNING"
    step = advance(m, step.state, TaskSucceeded(a.token, "A"), T0 + 2)
    step = advance(m, step.state, TaskSucceeded(c.token, "C"), T0 + 3)
    assert step.state.status == "SUCCEEDED"
    assert step.state.output == ["A", None, "C"]


def test_distributed_exceeding_tolerance_is_exceed_tolerated_failure_threshold() -> None:
    m = _distributed(ToleratedFailureCount=1)
    step = start(m, {"items": [1, 2, 3]})
    a, b, _c = invokes(step)
    step = advance(m, step.state, TaskFailed(a.token, "Bad"), T0 + 1)
    step = advance(m, step.state, TaskFailed(b.token, "Bad"), T0 + 2)
    assert step.state.status == "FAILED"
    assert step.state.error == "States.ExceedToleratedFailureThreshold"
    assert "MapRunFailed" in types(step.history)


def test_distributed_iterations_stay_out_of_the_parent_history() -> None:
    step = start(_distributed(), {"items": [1, 2]})
    names = types(step.history)
    assert "MapRunStarted" in names
    assert "TaskStateEntered" not in names
    assert "MapIterationStarted" not in names
    assert len(invokes(step)) == 2


def test_map_iterations_read_outer_variables_and_keep_their_own() -> None:
    m = machine(
        {
            "Set": {"Type": "Pass", "Assign": {"rate": 3}, "Next": "M"},
            "M": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "Keep",
                    "States": {
                        "Keep": {"Type": "Pass", "Assign": {"mine.$": "$"}, "Next": "Calc"},
                        "Calc": {
                            "Type": "Pass",
                            "Parameters": {"rate.$": "$rate", "mine.$": "$mine"},
                            "End": True,
                        },
                    },
                },
                "Next": "Leak",
            },
            "Leak": {"Type": "Pass", "Parameters": {"m.$": "$mine"}, "End": True},
        }
    )
    step = start(m, [1, 2])
    map_exit = next(e for e in step.history if e["type"] == "MapStateExited")
    assert (
        map_exit["stateExitedEventDetails"]["output"] == '[{"rate":3,"mine":1},{"rate":3,"mine":2}]'
    )
    assert step.state.error == "States.Runtime"


def test_an_item_selector_error_caught_leaves_no_iteration_behind() -> None:
    # Item 2's "x" is a string: ItemSelector fails (States.QueryEvaluationError, which a
    # Catch can catch) after iterations 0 and 1 were spawned. The Catch moves on, and
    # neither of those iterations may run afterwards.
    work = {"Type": "Task", "Resource": LAMBDA_ARN, "End": True}
    processor = {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Work", "States": {"Work": work}}
    m = machine({
        "M": {"Type": "Map", "Items": "{% $states.input.items %}", "ItemProcessor": processor,
              "ItemSelector": {"v": "{% $states.context.Map.Item.Value.x + 1 %}"},
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "Next": "Caught"},
        "Caught": {"Type": "Pass", "End": True},
    }, QueryLanguage="JSONata")  # fmt: skip
    step = start(m, {"items": [{"x": 1}, {"x": 2}, {"x": "a"}]})
    assert invokes(step) == []
    assert step.state.status == "SUCCEEDED"
    assert [f.id for f in step.state.frames.values() if f.parent is not None] == []
    assert "TaskScheduled" not in types(step.history)
