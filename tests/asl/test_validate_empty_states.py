"""An empty States object still has to hold the state StartAt names."""

from __future__ import annotations

from sagaway.asl.validate import validate_definition


def test_empty_states_reports_the_missing_start_target() -> None:
    found = validate_definition('{"StartAt": "X", "States": {}}')
    assert [(d.code, d.location) for d in found] == [("MISSING_TRANSITION_TARGET", "/StartAt")]
    assert found[0].message == "Missing 'Next' target: X"
