"""Wait state: Seconds, Timestamp, SecondsPath, TimestampPath -> StartTimer; TimerFired resumes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sagaway.interpreter import StartTimer, TimerFired, advance
from tests.interpreter.kit import T0, machine, start, types


def _wait(spec: dict[str, Any]) -> Any:
    return machine(
        {"W": {"Type": "Wait", **spec, "Next": "After"}, "After": {"Type": "Pass", "End": True}}
    )


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).timestamp()


@pytest.mark.parametrize(
    ("spec", "value", "fire_at"),
    [
        ({"Seconds": 30}, {}, T0 + 30),
        ({"Seconds": 0}, {}, T0),
        ({"SecondsPath": "$.delay"}, {"delay": 45}, T0 + 45),
        ({"Timestamp": "2024-01-01T00:00:00Z"}, {}, _epoch("2024-01-01T00:00:00Z")),
        ({"Timestamp": "2024-01-01T02:00:00+02:00"}, {}, _epoch("2024-01-01T00:00:00Z")),
        (
            {"TimestampPath": "$.when"},
            {"when": "2023-11-15T00:00:00.500Z"},
            _epoch("2023-11-15T00:00:00Z"),  # milliseconds truncated, as AWS documents
        ),
    ],
)
def test_wait_schedules_a_timer_at_the_right_time(
    spec: dict[str, Any], value: Any, fire_at: float
) -> None:
    m = _wait(spec)
    step = start(m, value)
    [timer] = step.commands
    assert isinstance(timer, StartTimer)
    assert timer.fire_at == pytest.approx(fire_at)
    assert step.state.status == "RUNNING"
    assert types(step.history) == ["ExecutionStarted", "WaitStateEntered"]


def test_timer_fired_continues_with_the_input() -> None:
    m = _wait({"Seconds": 5})
    step = start(m, {"keep": True})
    [timer] = step.commands
    done = advance(m, step.state, TimerFired(timer.token), T0 + 5)
    assert types(done.history) == [
        "WaitStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert done.state.output == {"keep": True}
    assert done.history[0]["timestamp"] == T0 + 5


def test_wait_with_input_and_output_path() -> None:
    m = machine(
        {
            "W": {
                "Type": "Wait",
                "SecondsPath": "$.d",
                "InputPath": "$.inner",
                "OutputPath": "$.d",
                "End": True,
            }
        }
    )
    step = start(m, {"inner": {"d": 3}})
    [timer] = step.commands
    assert timer.fire_at == T0 + 3
    assert advance(m, step.state, TimerFired(timer.token), T0 + 3).state.output == 3


def test_a_wrong_timer_token_does_not_wake_the_wait() -> None:
    m = _wait({"Seconds": 5})
    step = start(m, {})
    woken = advance(m, step.state, TimerFired("someone-else"), T0 + 5)
    assert woken.history == []
    assert woken.state.status == "RUNNING"


@pytest.mark.parametrize(
    ("spec", "value"),
    [
        ({"SecondsPath": "$.delay"}, {"delay": "ten"}),
        ({"SecondsPath": "$.delay"}, {}),
        ({"TimestampPath": "$.when"}, {"when": "tomorrow"}),
    ],
)
def test_bad_wait_paths_are_states_runtime(spec: dict[str, Any], value: Any) -> None:
    step = start(_wait(spec), value)
    assert step.state.status == "FAILED"
    assert step.state.error == "States.Runtime"
    assert step.commands == []
