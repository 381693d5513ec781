"""Helpers of one advance call: timestamps, history detail keys, payload text."""

from __future__ import annotations

from sagaway.interpreter.run import details_key, event_payload, iso_time


def test_iso_time_has_milliseconds_and_z() -> None:
    assert iso_time(0) == "1970-01-01T00:00:00.000Z"
    assert iso_time(1_700_000_000.987654) == "2023-11-14T22:13:20.987Z"


def test_details_key_follows_history_field_names() -> None:
    assert details_key("PassStateEntered") == "stateEnteredEventDetails"
    assert details_key("MapStateExited") == "stateExitedEventDetails"
    assert details_key("ExecutionStarted") == "executionStartedEventDetails"
    assert details_key("LambdaFunctionScheduled") == "lambdaFunctionScheduledEventDetails"
    assert details_key("MapIterationStarted") == "mapIterationStartedEventDetails"


def test_event_payload_is_compact_json_text() -> None:
    assert event_payload("input", {"a": [1, "x"]}) == {
        "input": '{"a":[1,"x"]}',
        "inputDetails": {"truncated": False},
    }
