"""Payload templates (Parameters, ResultSelector, ItemSelector, Assign in JSONPath mode)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagaway.expressions.errors import StatesError
from sagaway.expressions.payload import (
    InvalidPayload,
    compile_payload,
    compile_reference,
    evaluate_reference,
)
from sagaway.expressions.scope import Scope

SCOPE = Scope(
    input={"comment": "Example for Parameters.", "product": {"details": {"color": "blue"}}},
    context={"Execution": {"Id": "arn:exec"}, "Map": {"Item": {"Value": "Pikachu"}}},
    variables={"template": "It's {}!", "items": [1, 2]},
)


def test_documented_parameters_example() -> None:
    template = {
        "comment": "Selecting what I care about.",
        "MyDetails": {"color.$": "$.product.details.color", "exec.$": "$$.Execution.Id"},
        "items.$": "$items",
        "announce.$": "States.Format($template, $$.Map.Item.Value)",
        "list": [{"c.$": "$.comment"}, "$.not.a.path"],
    }
    assert compile_payload(template).evaluate(SCOPE, "Parameters") == {
        "comment": "Selecting what I care about.",
        "MyDetails": {"color": "blue", "exec": "arn:exec"},
        "items": [1, 2],
        "announce": "It's Pikachu!",
        "list": [{"c": "Example for Parameters."}, "$.not.a.path"],
    }


def test_whole_input_and_context() -> None:
    payload = compile_payload({"all.$": "$", "ctx.$": "$$"})
    assert payload.evaluate(SCOPE, "Parameters") == {"all": SCOPE.input, "ctx": SCOPE.context}


def test_missing_path_names_the_field() -> None:
    payload = compile_payload({"outer": {"Value.$": "$.x"}})
    with pytest.raises(StatesError) as caught:
        payload.evaluate(Scope(input={"a": 1}), "Parameters")
    assert caught.value.error == "States.Runtime"
    assert caught.value.cause == (
        "The JSONPath '$.x' specified for the field 'Value.$' could not be found "
        "in the input '{\"a\":1}'"
    )


def test_missing_path_inside_intrinsic_names_the_field() -> None:
    payload = compile_payload({"Value.$": "States.Format('{}', $.x)"})
    with pytest.raises(StatesError) as caught:
        payload.evaluate(Scope(input={}), "Parameters")
    assert caught.value.cause == (
        "The JSONPath '$.x' specified for the field 'Value.$' could not be found in the input '{}'"
    )


def test_reference_fields_such_as_error_path() -> None:
    reference = compile_reference("ErrorPath", "$.ErrorX")
    with pytest.raises(StatesError) as caught:
        evaluate_reference(reference, Scope(input={"Error": "e"}), "ErrorPath")
    assert caught.value.cause == (
        "The JSONPath '$.ErrorX' specified for the field 'ErrorPath' could not be found "
        'in the input \'{"Error":"e"}\''
    )
    cause = compile_reference("CausePath", "States.Format('{} caused', $.Error)")
    assert evaluate_reference(cause, Scope(input={"Error": "e"}), "CausePath") == "e caused"


@pytest.mark.parametrize(
    ("template", "key"),
    [
        ({"a.$": "not a path"}, "a.$"),
        ({"nested": {"b.$": 5}}, "b.$"),
        ({"c.$": "States.Nope()"}, "c.$"),
        ({"d.$": "$.a["}, "d.$"),
        ([{"e.$": "States.Format('\\\"')"}], "e.$"),
    ],
)
def test_invalid_dynamic_values_name_the_key(template: Any, key: str) -> None:
    with pytest.raises(InvalidPayload) as caught:
        compile_payload(template)
    assert caught.value.key == key
    assert f"The value for the field '{key}' must be a valid JSONPath" in str(caught.value)


json_keys = st.text(max_size=6).filter(lambda key: not key.endswith(".$"))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(json_keys, inner, max_size=3),
    max_leaves=10,
)


@given(json_values)
def test_template_without_dynamic_keys_evaluates_to_itself(template: Any) -> None:
    assert compile_payload(template).evaluate(SCOPE, "Parameters") == template


@given(st.dictionaries(st.text(min_size=1, max_size=5), json_values, max_size=4))
def test_dollar_keys_copy_input_fields(data: dict[str, Any]) -> None:
    template = {f"{key}.$": f"$['{key}']" for key in data if "'" not in key and "\\" not in key}
    result = compile_payload(template).evaluate(Scope(input=data), "Parameters")
    assert result == {key[:-2]: data[key[:-2]] for key in template}
