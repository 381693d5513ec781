"""Mocked Task results per state: Return, Throw, Delay, call by call, and bad configs."""

from __future__ import annotations

from typing import Any

import pytest

from sagaway.testing import MockConfigError, MockResponse, SagaTest, run_saga
from tests.testing.sagas import compensation_saga, definition, task

BUSY = {"Throw": {"Error": "Busy", "Cause": "try later"}}


def _retrying_charge(**retrier: Any) -> dict[str, Any]:
    return definition(
        {
            "Charge": task(
                "charge",
                Retry=[{"ErrorEquals": ["Busy"], **retrier}],
                End=True,
            )
        }
    )


def test_retry_attempts_get_the_responses_in_order_and_backoff_is_virtual() -> None:
    saga = _retrying_charge(IntervalSeconds=2, BackoffRate=2, MaxAttempts=3)
    result = run_saga(saga, {"n": 1}, mocks={"Charge": [BUSY, BUSY, {"Return": {"ok": True}}]})
    assert result.status == "SUCCEEDED"
    assert result.output == {"ok": True}
    assert [call.attempt for call in result.calls] == [0, 1, 2]
    assert result.task_calls("Charge") == [{"n": 1}] * 3
    # Waited 2 s, then 2 * 2 = 4 s, before the third attempt.
    assert result.elapsed == 2 + 4
    assert [call.time - result.start_time for call in result.calls] == [0, 2, 6]


def test_retries_exhausted_fail_with_the_last_mocked_error() -> None:
    saga = _retrying_charge(IntervalSeconds=1, MaxAttempts=2)
    result = run_saga(saga, mocks={"Charge": BUSY})  # one response: it repeats
    assert (result.status, result.error, result.cause) == ("FAILED", "Busy", "try later")
    assert len(result.calls) == 3
    assert result.elapsed == 1 + 2


def test_a_delay_beyond_timeout_seconds_is_states_timeout_and_can_be_caught() -> None:
    saga = definition(
        {
            "Charge": task(
                "charge",
                TimeoutSeconds=30,
                Catch=[{"ErrorEquals": ["States.Timeout"], "Next": "TimedOut"}],
                End=True,
            ),
            "TimedOut": {"Type": "Pass", "End": True},
        }
    )
    result = run_saga(saga, mocks={"Charge": {"Return": "late", "Delay": 45}})
    assert result.status == "SUCCEEDED"
    assert result.states_entered() == ["Charge", "TimedOut"]
    assert result.output == {"Error": "States.Timeout", "Cause": ""}
    assert result.events("LambdaFunctionTimedOut")
    assert result.elapsed == 30


def test_a_delay_within_timeout_seconds_just_takes_that_long() -> None:
    saga = definition({"Charge": task("charge", TimeoutSeconds=30, End=True)})
    result = run_saga(saga, mocks={"Charge": {"Return": "in time", "Delay": 29}})
    assert (result.status, result.output, result.elapsed) == ("SUCCEEDED", "in time", 29)


def test_a_delay_beyond_heartbeat_seconds_is_a_heartbeat_timeout() -> None:
    # Reported as States.Timeout, as AWS does; Catch can name it States.HeartbeatTimeout.
    saga = definition({"Charge": task("charge", TimeoutSeconds=300, HeartbeatSeconds=20, End=True)})
    result = run_saga(saga, mocks={"Charge": {"Return": "late", "Delay": 100}})
    assert (result.status, result.error) == ("FAILED", "States.Timeout")
    assert result.elapsed == 20


def test_the_last_response_repeats_for_every_map_iteration() -> None:
    saga = definition(
        {
            "Each": {
                "Type": "Map",
                "ItemProcessor": definition({"Price": task("price", End=True)}),
                "End": True,
            }
        }
    )
    result = run_saga(saga, [1, 2, 3], mocks={"Price": [{"Return": 10}, {"Return": 20}]})
    assert result.output == [10, 20, 20]
    assert sorted(result.task_calls("Price")) == [1, 2, 3]


def test_states_inside_parallel_branches_can_be_mocked() -> None:
    saga = definition(
        {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    definition({"A": task("a", End=True)}),
                    definition({"B": task("b", End=True)}),
                ],
                "End": True,
            }
        }
    )
    result = run_saga(saga, mocks={"A": {"Return": "a"}, "B": {"Return": "b"}})
    assert result.output == ["a", "b"]


def test_returned_values_are_fresh_copies_per_call() -> None:
    value = {"items": [1]}
    saga = definition({"Charge": task("charge", End=True)})
    mocks = {"Charge": MockResponse.returning(value)}
    value["items"].append(2)  # the mock took a copy when it was made
    assert run_saga(saga, mocks=mocks).output == {"items": [1]}


def test_response_helpers_build_the_same_responses_as_json() -> None:
    assert MockResponse.returning(1, delay=3) == MockResponse(result=1, delay=3.0)
    assert MockResponse.throwing("E", "c") == MockResponse(error="E", cause="c")
    assert MockResponse.throwing("E").throws


def test_an_unknown_state_lists_the_task_states() -> None:
    with pytest.raises(MockConfigError) as info:
        SagaTest(compensation_saga(), mocks={"Shipp": {"Return": 1}})
    message = str(info.value)
    assert "'Shipp'" in message
    assert "Charge, Reserve, Ship, UndoCharge, UndoReserve" in message


def test_a_mock_for_a_non_task_state_is_refused() -> None:
    with pytest.raises(MockConfigError, match=r"'Failed', a Fail state; only Task states"):
        SagaTest(compensation_saga(), mocks={"Failed": {"Return": 1}})
    saga = SagaTest(compensation_saga())
    with pytest.raises(MockConfigError, match="a Succeed state"):
        saga.run({}, mocks={"Done": {"Return": 1}})


@pytest.mark.parametrize(
    ("mock", "message"),
    [
        ({"Return": 1, "Throw": {"Error": "E"}}, "exactly one of Return and Throw"),
        ({}, "exactly one of Return and Throw"),
        ({"Returns": 1}, "unknown field"),
        ({"Throw": {"Cause": "c"}}, "Throw.Error must be a non-empty string"),
        ({"Throw": "E"}, "Throw is an object"),
        ({"Throw": {"Error": "E", "Cause": 3}}, "Throw.Cause must be a string"),
        ({"Throw": {"Error": "E", "Message": "m"}}, "unknown field"),
        ({"Return": 1, "Delay": -1}, "Delay must be a finite number >= 0"),
        ({"Return": 1, "Delay": "5"}, "Delay must be a number"),
        ({"Return": object()}, "JSON-serialisable"),
        ([], "list of responses is empty"),
        ("Return", "expected a response or a list"),
        ([{"Return": 1}, 2], "response 1: a mocked response is an object"),
    ],
)
def test_malformed_responses_are_refused_with_the_reason(mock: Any, message: str) -> None:
    with pytest.raises(MockConfigError, match=message) as info:
        SagaTest(compensation_saga(), mocks={"Ship": mock})
    assert "'Ship'" in str(info.value)
