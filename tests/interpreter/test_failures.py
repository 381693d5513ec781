"""Retry and Catch, as the Step Functions error-handling guide specifies them."""

from __future__ import annotations

import pytest

from sagaway.asl.model import Catcher, Retrier
from sagaway.interpreter import StartTimer, TaskSucceeded, TimerFired, advance
from sagaway.interpreter.failures import Failure, matches, pick_catcher, pick_retrier, retry_delay
from tests.interpreter.kit import LAMBDA_ARN, T0, fail, machine, only_invoke, start, timers


def test_failure_as_output_has_error_and_cause() -> None:
    assert Failure("E", "c").as_output() == {"Error": "E", "Cause": "c"}
    assert Failure("E").as_output() == {"Error": "E"}


def test_failure_without_an_error_name_hands_on_both_as_null() -> None:
    # SendTaskFailure with neither error nor cause: AWS's Catch output has both, null.
    assert Failure(None, None).as_output() == {"Error": None, "Cause": None}  # type: ignore[arg-type]


def test_heartbeat_timeout_is_matched_only_for_a_missed_heartbeat() -> None:
    assert matches(("States.HeartbeatTimeout",), "States.Timeout", heartbeat=True)
    assert not matches(("States.HeartbeatTimeout",), "States.Timeout")
    assert matches(("States.Timeout",), "States.Timeout", heartbeat=True)
    assert not matches(("States.TaskFailed",), "States.Timeout", heartbeat=True)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ("Custom", True),
        ("States.Timeout", True),
        ("States.TaskFailed", True),
        ("States.Runtime", False),
    ],
)
def test_states_all_matches_everything_but_states_runtime(error: str, expected: bool) -> None:
    assert matches(("States.ALL",), error) is expected


def test_named_errors_match_exactly_and_case_sensitively() -> None:
    assert matches(("Busy", "Gone"), "Gone")
    assert not matches(("Busy",), "busy")
    assert not matches(("Busy",), "Busy.Sub")


def test_task_failed_stands_for_task_errors_not_timeouts() -> None:
    assert matches(("States.TaskFailed",), "Lambda.ServiceException")
    assert not matches(("States.TaskFailed",), "States.Timeout")


def test_first_matching_retrier_and_catcher_win() -> None:
    retriers = (Retrier(("A",)), Retrier(("States.ALL",)), Retrier(("B",)))
    assert pick_retrier(retriers, "A") == 0
    assert pick_retrier(retriers, "B") == 1
    assert pick_retrier(retriers, "States.Runtime") is None
    catchers = (Catcher(("X",), "OnX"), Catcher(("States.ALL",), "Any"))
    assert pick_catcher(catchers, "X").next == "OnX"  # type: ignore[union-attr]
    assert pick_catcher(catchers, "Y").next == "Any"  # type: ignore[union-attr]


def test_retry_delay_is_interval_times_backoff_to_the_attempt() -> None:
    retrier = Retrier(("E",), interval_seconds=3, backoff_rate=2.0)
    assert [retry_delay(retrier, n, seed=0) for n in range(4)] == [3.0, 6.0, 12.0, 24.0]


def test_retry_delay_capped_by_max_delay_seconds() -> None:
    retrier = Retrier(("E",), interval_seconds=2, backoff_rate=3.0, max_delay_seconds=10)
    assert [retry_delay(retrier, n, seed=0) for n in range(4)] == [2.0, 6.0, 10.0, 10.0]


def test_default_retrier_is_one_second_doubling() -> None:
    retrier = Retrier(("E",))
    assert (retrier.interval_seconds, retrier.max_attempts, retrier.backoff_rate) == (1, 3, 2.0)
    assert [retry_delay(retrier, n, seed=0) for n in range(3)] == [1.0, 2.0, 4.0]


def test_full_jitter_stays_within_zero_and_the_capped_delay() -> None:
    retrier = Retrier(
        ("E",), interval_seconds=4, backoff_rate=2.0, max_delay_seconds=20, jitter_strategy="FULL"
    )
    delays = [retry_delay(retrier, n, seed=s) for n in range(6) for s in range(50)]
    for n in range(6):
        cap = min(4 * 2**n, 20)
        chunk = delays[n * 50 : (n + 1) * 50]
        assert all(0 <= d <= cap for d in chunk)
    assert len(set(delays)) > 100  # really random-looking, not the constant cap
    assert retry_delay(retrier, 2, seed=9) == retry_delay(retrier, 2, seed=9)


def _retrying_task(**retrier: object) -> object:
    return machine(
        {
            "Work": {
                "Type": "Task",
                "Resource": LAMBDA_ARN,
                "Retry": [{"ErrorEquals": ["Busy"], **retrier}],
                "End": True,
            }
        }
    )


def test_retry_schedule_through_advance() -> None:
    m = _retrying_task(IntervalSeconds=2, BackoffRate=3, MaxAttempts=4, MaxDelaySeconds=15)
    step = start(m, {"n": 1})
    now = T0
    fire_times = []
    for _ in range(4):
        failed = fail(m, step, "Busy", now=now)
        [timer] = timers(failed)
        fire_times.append(timer.fire_at - now)
        now = timer.fire_at
        step = advance(m, failed.state, TimerFired(timer.token), now)
        assert only_invoke(step).payload == {"n": 1}
    assert fire_times == [2, 6, 15, 15]
    exhausted = fail(m, step, "Busy", "still busy", now=now)
    assert exhausted.state.status == "FAILED"
    assert (exhausted.state.error, exhausted.state.cause) == ("Busy", "still busy")


def test_max_attempts_zero_never_retries() -> None:
    m = _retrying_task(MaxAttempts=0)
    failed = fail(m, start(m, {}), "Busy")
    assert failed.state.status == "FAILED"
    assert timers(failed) == []


def test_unmatched_error_is_not_retried() -> None:
    m = _retrying_task()
    failed = fail(m, start(m, {}), "Other")
    assert failed.state.status == "FAILED"
    assert failed.state.error == "Other"


def test_each_retrier_counts_its_own_attempts() -> None:
    m = machine(
        {
            "Work": {
                "Type": "Task",
                "Resource": LAMBDA_ARN,
                "Retry": [
                    {"ErrorEquals": ["A"], "MaxAttempts": 1, "IntervalSeconds": 1},
                    {"ErrorEquals": ["B"], "MaxAttempts": 1, "IntervalSeconds": 5},
                ],
                "End": True,
            }
        }
    )
    step = start(m, {})
    a = fail(m, step, "A")
    assert [t.fire_at for t in timers(a)] == [T0 + 1]
    step = advance(m, a.state, TimerFired(timers(a)[0].token), T0 + 1)
    b = fail(m, step, "B", now=T0 + 1)
    assert [t.fire_at for t in timers(b)] == [T0 + 6]
    step = advance(m, b.state, TimerFired(timers(b)[0].token), T0 + 6)
    assert fail(m, step, "A", now=T0 + 6).state.error == "A"


def test_catch_with_result_path_keeps_input_and_adds_error_output() -> None:
    m = machine(
        {
            "Work": {
                "Type": "Task",
                "Resource": LAMBDA_ARN,
                "Catch": [{"ErrorEquals": ["Declined"], "ResultPath": "$.error", "Next": "Refund"}],
                "End": True,
            },
            "Refund": {"Type": "Pass", "End": True},
        }
    )
    done = fail(m, start(m, {"order": 9}), "Declined", "card expired")
    assert done.state.status == "SUCCEEDED"
    assert done.state.output == {
        "order": 9,
        "error": {"Error": "Declined", "Cause": "card expired"},
    }


def test_catch_default_result_path_replaces_input_with_error_output() -> None:
    m = machine(
        {
            "Work": {
                "Type": "Task",
                "Resource": LAMBDA_ARN,
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handle"}],
                "End": True,
            },
            "Handle": {"Type": "Pass", "End": True},
        }
    )
    done = fail(m, start(m, {"order": 9}), "Boom")
    assert done.state.output == {"Error": "Boom"}


def test_retry_is_exhausted_before_catch() -> None:
    m = machine(
        {
            "Work": {
                "Type": "Task",
                "Resource": LAMBDA_ARN,
                "Retry": [{"ErrorEquals": ["Busy"], "MaxAttempts": 1, "IntervalSeconds": 1}],
                "Catch": [{"ErrorEquals": ["Busy"], "ResultPath": "$.err", "Next": "Park"}],
                "End": True,
            },
            "Park": {"Type": "Pass", "End": True},
        }
    )
    first = fail(m, start(m, {}), "Busy")
    assert first.state.status == "RUNNING"
    assert isinstance(first.commands[0], StartTimer)
    again = advance(m, first.state, TimerFired(first.commands[0].token), T0 + 1)
    caught = fail(m, again, "Busy", "x", now=T0 + 1)
    assert caught.state.output == {"err": {"Error": "Busy", "Cause": "x"}}


def test_states_all_does_not_catch_states_runtime() -> None:
    m = machine(
        {
            "Work": {
                "Type": "Task",
                "Resource": LAMBDA_ARN,
                "OutputPath": "$.missing",
                "Retry": [{"ErrorEquals": ["States.ALL"]}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handle"}],
                "End": True,
            },
            "Handle": {"Type": "Pass", "End": True},
        }
    )
    step = start(m, {})
    done = advance(m, step.state, TaskSucceeded(only_invoke(step).token, {"a": 1}), T0)
    assert done.state.status == "FAILED"
    assert done.state.error == "States.Runtime"
    assert timers(done) == []


def test_no_choice_matched_ends_the_execution_without_a_default() -> None:
    m = machine(
        {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "E"}],
            },
            "E": {"Type": "Succeed"},
        }
    )
    out = start(m, {})
    assert out.state.status == "FAILED"
    assert out.state.error == "States.NoChoiceMatched"
