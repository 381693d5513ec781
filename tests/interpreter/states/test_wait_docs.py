"""Wait as the AWS documentation states it.

https://docs.aws.amazon.com/step-functions/latest/dg/state-wait.html: Seconds is an integer
from 0 to 99999999; SecondsPath must select an integer; timestamps follow RFC 3339 with an
uppercase T and Z; "if you specify the wait time as a timestamp, Step Functions considers
the time value up to seconds and truncates milliseconds".
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sagaway.interpreter import StartTimer
from tests.interpreter.kit import T0, machine, start


def _wait(spec: dict[str, Any]) -> Any:
    return machine(
        {"W": {"Type": "Wait", **spec, "Next": "After"}, "After": {"Type": "Pass", "End": True}}
    )


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).timestamp()


@pytest.mark.parametrize(
    "spec",
    [
        {"Timestamp": "2024-01-01T00:00:00.999Z"},
        {"TimestampPath": "$.when"},
    ],
)
def test_timestamps_are_truncated_to_the_second(spec: dict[str, Any]) -> None:
    step = start(_wait(spec), {"when": "2024-01-01T00:00:00.999Z"})
    [timer] = step.commands
    assert isinstance(timer, StartTimer)
    assert timer.fire_at == _epoch("2024-01-01T00:00:00Z")


@pytest.mark.parametrize("seconds", [1.5, -1.5, "5", True])
def test_seconds_path_must_select_an_integer(seconds: Any) -> None:
    step = start(_wait({"SecondsPath": "$.s"}), {"s": seconds})
    assert step.state.status == "FAILED"
    assert step.history[-1]["type"] == "ExecutionFailed"
    details = step.history[-1]["executionFailedEventDetails"]
    assert details["error"] == "States.Runtime"
    assert "The SecondsPath parameter cannot be parsed as a long value: $.s == " in details["cause"]


def test_a_negative_seconds_path_does_not_wait() -> None:
    step = start(_wait({"SecondsPath": "$.s"}), {"s": -1})
    [timer] = step.commands
    assert isinstance(timer, StartTimer)
    assert timer.fire_at <= T0


@pytest.mark.parametrize("stamp", ["2024-01-01T00:00:00", "2024-01-01T00:00:00.000000",
                                   "2024-01-01 00:00:00Z", "2024-01-01t00:00:00Z"])  # fmt: skip
def test_timestamp_path_needs_an_uppercase_t_and_a_zone(stamp: str) -> None:
    step = start(_wait({"TimestampPath": "$.when"}), {"when": stamp})
    assert step.state.status == "FAILED"
    cause = step.history[-1]["executionFailedEventDetails"]["cause"]
    assert "The TimestampPath parameter does not reference a valid ISO-8601 extended offset" in (
        cause
    )


def test_seconds_path_beyond_a_long_cannot_be_parsed() -> None:
    """The cause names a "long value": integers past Java's 64-bit range are refused alike."""
    step = start(_wait({"SecondsPath": "$.s"}), {"s": 2**63})
    assert step.state.status == "FAILED"
    cause = step.history[-1]["executionFailedEventDetails"]["cause"]
    assert "The SecondsPath parameter cannot be parsed as a long value: $.s == " in cause
