"""validate_definition: the top level, state fields, transitions and the graph (ASL spec)."""

from __future__ import annotations

import json
from typing import Any

from sagaway.asl.diagnostics import Diagnostic, format_invalid_definition
from sagaway.asl.validate import validate_definition

PASS_END: dict[str, Any] = {"Type": "Pass", "End": True}


def machine(states: dict[str, Any], start: str | None = None, **top: Any) -> str:
    return json.dumps({"StartAt": start or next(iter(states)), "States": states, **top})


def found(text: str, machine_type: str = "STANDARD") -> list[tuple[str | None, str, str]]:
    return [
        (d.location, d.code, d.message)
        for d in validate_definition(text, machine_type=machine_type)
    ]


def test_minimal_machine_is_valid() -> None:
    assert validate_definition(machine({"A": PASS_END})) == []


def test_blank_text_is_not_an_object() -> None:
    assert validate_definition("  ") == [
        Diagnostic("SCHEMA_VALIDATION_FAILED", "Definition must be a valid JSON object", None)
    ]


def test_json_array_is_not_an_object() -> None:
    assert found("[]") == [
        (None, "SCHEMA_VALIDATION_FAILED", "Definition must be a valid JSON object")
    ]


def test_syntax_error_quotes_jackson_locator() -> None:
    (diagnostic,) = validate_definition("not a definition")
    locator = '[Source: (String)"not a definition"; line: 1, column: 4]'
    assert diagnostic.code == "INVALID_JSON_DESCRIPTION"
    assert diagnostic.location == locator
    assert diagnostic.message.startswith("Unrecognized token 'not': was expecting (JSON String")
    assert diagnostic.message.endswith(f"\n at {locator}")


def test_syntax_error_on_second_line_counts_lines() -> None:
    (diagnostic,) = validate_definition('{\n  "StartAt": }')
    assert diagnostic.location is not None and "line: 2" in diagnostic.location


def test_required_top_level_fields_are_listed_together() -> None:
    assert found("{}") == [
        ("/", "SCHEMA_VALIDATION_FAILED", "These fields are required: [States, StartAt]")
    ]
    assert found('{"States": {"A": {"Type": "Succeed"}}}') == [
        ("/", "SCHEMA_VALIDATION_FAILED", "These fields are required: [StartAt]")
    ]


def test_unknown_top_level_field() -> None:
    text = machine({"A": PASS_END}, Foo=1)
    assert found(text) == [("/", "SCHEMA_VALIDATION_FAILED", "Field 'Foo' is not supported")]


def test_unknown_state_field_is_reported_at_the_state() -> None:
    text = machine({"A": {"Type": "Pass", "End": True, "Bogus": 1}})
    assert found(text) == [
        ("/States/A", "SCHEMA_VALIDATION_FAILED", "Field 'Bogus' is not supported")
    ]


def test_timeout_seconds_is_not_a_map_field() -> None:
    processor = {"StartAt": "P", "States": {"P": PASS_END}}
    text = machine(
        {"M": {"Type": "Map", "ItemProcessor": processor, "TimeoutSeconds": 5, "End": True}}
    )
    assert found(text) == [
        ("/States/M", "SCHEMA_VALIDATION_FAILED", "Field 'TimeoutSeconds' is not supported")
    ]


def test_missing_type() -> None:
    text = machine({"A": {"End": True}})
    assert ("/States/A", "SCHEMA_VALIDATION_FAILED", "These fields are required: [Type]") in found(
        text
    )


def test_unknown_type() -> None:
    text = machine({"A": {"Type": "Sleep", "End": True}})
    assert [loc for loc, _, _ in found(text)] == ["/States/A/Type"]


def test_state_name_longer_than_80_characters() -> None:
    name = "S" * 81
    assert [code for _, code, _ in found(machine({name: PASS_END}))] == ["INVALID_STATE_NAME"]
    assert found(machine({"S" * 80: PASS_END})) == []


def test_duplicate_state_name() -> None:
    text = '{"StartAt": "A", "States": {"A": {"Type": "Succeed"}, "A": {"Type": "Succeed"}}}'
    assert found(text) == [("/States/A", "DUPLICATE_STATE_NAME", "Duplicate State name: A")]


def test_next_and_end_are_exclusive_and_one_is_required() -> None:
    both = machine({"A": {"Type": "Pass", "Next": "B", "End": True}, "B": PASS_END})
    neither = machine({"A": {"Type": "Pass"}})
    assert [loc for loc, _, _ in found(both)] == ["/States/A"]
    assert [loc for loc, _, _ in found(neither)] == ["/States/A", None]


def test_end_must_be_true() -> None:
    text = machine({"A": {"Type": "Pass", "End": False}, "B": {"Type": "Succeed"}})
    assert (
        "/States/A/End",
        "SCHEMA_VALIDATION_FAILED",
        "The value for the field 'End' must be true",
    ) in found(text)


def test_terminal_states_take_no_transition() -> None:
    text = machine({"A": {"Type": "Succeed", "Next": "A"}})
    assert found(text) == [
        ("/States/A", "SCHEMA_VALIDATION_FAILED", "Field 'Next' is not supported")
    ]


def test_missing_targets_use_the_word_next_everywhere() -> None:
    text = machine(
        {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "Nope1"}],
                "Default": "Nope2",
            }
        },
        start="Nope0",
    )
    assert found(text)[:3] == [
        ("/StartAt", "MISSING_TRANSITION_TARGET", "Missing 'Next' target: Nope0"),
        ("/States/C/Default", "MISSING_TRANSITION_TARGET", "Missing 'Next' target: Nope2"),
        ("/States/C/Choices[0]/Next", "MISSING_TRANSITION_TARGET", "Missing 'Next' target: Nope1"),
    ]


def test_unreachable_state() -> None:
    text = machine({"A": PASS_END, "B": PASS_END})
    assert found(text) == [
        ("/States/B", "MISSING_TRANSITION_TARGET", 'State "B" is not reachable.')
    ]


def test_catch_next_makes_a_state_reachable() -> None:
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handler"}],
        "End": True,
    }
    assert found(machine({"T": task, "Handler": {"Type": "Fail"}})) == []


def test_loop_without_terminal_state_suppresses_reachability() -> None:
    text = machine(
        {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Pass", "Next": "A"},
            "C": {"Type": "Pass", "Next": "A"},
        }
    )
    assert found(text) == [(None, "MISSING_END_STATE", "Workflow has no terminal state")]


def test_format_invalid_definition_joins_diagnostics() -> None:
    diagnostics = [
        Diagnostic(
            "MISSING_TRANSITION_TARGET", "Missing 'Next' target: pass3", "/States/pass1/Next"
        ),
        Diagnostic("MISSING_TRANSITION_TARGET", 'State "pass2" is not reachable.', "/States/pass2"),
        Diagnostic("MISSING_END_STATE", "Workflow has no terminal state", None),
    ]
    assert format_invalid_definition(diagnostics) == (
        "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: "
        'pass3 at /States/pass1/Next, MISSING_TRANSITION_TARGET: State "pass2" is not '
        "reachable. at /States/pass2, MISSING_END_STATE: Workflow has no terminal state at null'"
    )


def test_format_invalid_definition_label_form_quotes_the_definition() -> None:
    diagnostics = [Diagnostic("INVALID_LABEL_NAME", "Label cannot be empty", "/States/M/Label")]
    assert format_invalid_definition(diagnostics, "{}") == (
        "Error=ValueError Args=['Label cannot be empty'] in definition '{}'."
    )
