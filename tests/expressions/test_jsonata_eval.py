"""JSONata evaluation with AWS Step Functions' semantics.

Expected values come from the AWS documentation ("Transforming data with JSONata in Step
Functions", "JSONata functions provided by Step Functions") and from the recorded AWS answers
in the conformance corpus (causes are quoted without the state prefix the interpreter adds).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest

from sagaway.expressions.errors import QueryEvaluationError
from sagaway.expressions.jsonata_eval import (
    UNDEFINED,
    InvalidJsonata,
    check_result_type,
    compile_jsonata,
    compile_template,
    is_jsonata_template,
    template_expression,
)
from sagaway.expressions.scope import Scope

SCOPE = Scope(input=None, variables={}, now=1_700_000_000.5, entropy=7)


def run(expr: str, states: dict[str, Any] | None = None, scope: Scope = SCOPE) -> Any:
    return compile_jsonata(expr).evaluate(states or {}, scope, "Output")


def cause_of(expr: str, states: dict[str, Any] | None = None, field: str = "Output") -> str:
    with pytest.raises(QueryEvaluationError) as raised:
        compile_jsonata(expr).evaluate_defined(states or {}, SCOPE, field)
    assert raised.value.error == "States.QueryEvaluationError"
    return raised.value.cause


# --- template recognition ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("{% $states.input %}", True),
        ("{%$states.input%}", True),
        (" {% states.input %} ", False),  # AWS keeps this literal (recorded TestState case)
        ("{% $x %} ", False),
        (" {% $x %}", False),
        ("$states.input", False),
        ("{%%}", True),
        ("{%}", False),
        (42, False),
        (None, False),
    ],
)
def test_is_jsonata_template(value: Any, expected: bool) -> None:
    assert is_jsonata_template(value) is expected


def test_template_expression_is_trimmed_like_aws_quotes_it() -> None:
    assert template_expression("{% $doesNotExist %}") == "$doesNotExist"


# --- $states and variables -----------------------------------------------------------------


def test_states_binding_exposes_input_context_result_and_error_output() -> None:
    states = {
        "input": {"title": "Doctor"},
        "context": {"Execution": {"Name": "e1"}},
        "result": {"Payload": 3},
        "errorOutput": {"Error": "E", "Cause": "c"},
    }
    assert run("$states.input.title", states) == "Doctor"
    assert run("$states.context.Execution.Name", states) == "e1"
    assert run("$states.result.Payload", states) == 3
    assert run("$states.errorOutput.Error", states) == "E"


def test_every_variable_is_bound_by_name() -> None:
    scope = Scope(input=None, variables={"customerName": "María", "var_constant_1": 10})
    states = {"input": {"input_values": [1, 2, 3]}}
    expr = "$sum($states.input.input_values) + $var_constant_1"
    assert run(expr, states, scope) == 16
    assert run("$customerName", states, scope) == "María"


def test_null_is_a_value_and_missing_is_undefined() -> None:
    scope = Scope(input=None, variables={"nothing": None})
    states = {"input": {"bar": None, "list": [None, 1]}}
    assert run("$states.input.bar", states) is None
    assert run("$exists($states.input.bar)", states) is True
    assert run("$type($nothing)", states, scope) == "null"
    assert run("$map($states.input.list, function($v){ $type($v) })", states) == [
        "null",
        "number",
    ]
    assert run("$states.input.absent", states) is UNDEFINED
    assert run("$undeclared", states) is UNDEFINED


def test_there_is_no_context_item() -> None:
    assert run("$", {"input": {"a": 1}}) is UNDEFINED


def test_arrays_in_the_input_are_not_flattened_into_sequences() -> None:
    states = {"input": {"Values": [[1, 2], [3]]}}
    assert run("$states.input.Values", states) == [[1, 2], [3]]
    assert run("$count($states.input.Values)", states) == 2


def test_expressions_are_compiled_once() -> None:
    assert compile_jsonata("$states.input.a") is compile_jsonata("$states.input.a")


def test_regular_expressions_from_the_corpus() -> None:
    assert run("$contains('hello$world', /^hello\\$/)") is True
    assert run("$contains('hello$world', /^hello\\ /)") is False


# --- numbers --------------------------------------------------------------------------------


def test_integral_results_are_integers_as_aws_renders_them() -> None:
    three = run("1.5 * 2")
    assert three == 3 and isinstance(three, int)
    assert run("$sum([1.5, 1.5])") == 3
    assert run("{'v': 6 / 2, 'l': [4 / 2]}") == {"v": 3, "l": [2]}
    assert isinstance(run("6 / 2"), int)
    assert run("0.1 + 0.2") == pytest.approx(0.3)
    assert isinstance(run("0.5 + 0"), float)


def test_large_integral_doubles_stay_floats() -> None:
    # JavaScript prints 1e21 in exponent form; an int would print every digit.
    assert isinstance(run("1e21"), float)


def test_negative_zero_is_zero() -> None:
    assert run("$parse('-0')") == 0


# --- templates ------------------------------------------------------------------------------


def test_template_nests_expressions_in_objects_and_arrays() -> None:
    template = compile_template(
        {
            "static": "Hello",
            "title": "{% $states.input.title %}",
            "not-evaluated": "$customerName",
            "list": [1, "{% $number('2') %}", 3, {"deep": "{% $states.input.title %}"}],
            "keep.$": "$",
            "spaced": " {% $states.input.title %} ",
            "nothing": None,
        }
    )
    value = template.evaluate({"input": {"title": "Doctor"}}, SCOPE, "Arguments")
    assert value == {
        "static": "Hello",
        "title": "Doctor",
        "not-evaluated": "$customerName",
        "list": [1, 2, 3, {"deep": "Doctor"}],
        "keep.$": "$",
        "spaced": " {% $states.input.title %} ",
        "nothing": None,
    }


def test_template_whole_value_expression() -> None:
    template = compile_template("{% $states.input %}")
    assert template.evaluate({"input": [1, 2]}, SCOPE, "Output") == [1, 2]


def test_template_results_are_fresh_copies() -> None:
    template = compile_template({"a": {"b": [1]}})
    assert template.is_constant
    first = template.evaluate({}, SCOPE, "Output")
    first["a"]["b"].append(2)
    assert template.evaluate({}, SCOPE, "Output") == {"a": {"b": [1]}}


def test_template_null_from_an_expression_is_kept() -> None:
    template = compile_template({"v": "{% $states.input.bar %}"})
    assert template.evaluate({"input": {"bar": None}}, SCOPE, "Output") == {"v": None}


@pytest.mark.parametrize(
    ("template", "field", "expression", "path"),
    [
        (
            {"FunctionName": "{% $doesNotExist %}"},
            "Arguments",
            "$doesNotExist",
            "Arguments/FunctionName",
        ),
        ({"error": "{% $stateError %}"}, "Output", "$stateError", "Output/error"),
        ({"a": {"b": [0, "{% $nope %}"]}}, "Output", "$nope", "Output/a/b[1]"),
        ("{% $nope %}", "Output", "$nope", "Output"),
    ],
)
def test_template_undefined_fails_the_field(
    template: Any, field: str, expression: str, path: str
) -> None:
    with pytest.raises(QueryEvaluationError) as raised:
        compile_template(template).evaluate({"input": {}}, SCOPE, field)
    assert raised.value.cause == (
        f"The JSONata expression '{expression}' specified for the field '{path}' "
        "returned nothing (undefined)."
    )


def test_template_with_a_syntax_error_fails_to_compile() -> None:
    with pytest.raises(InvalidJsonata):
        compile_template({"a": ["{% a[1,2) %}"]})


# --- errors ---------------------------------------------------------------------------------


def test_calling_an_unknown_function_is_t1006() -> None:
    states = {"input": {"FunctionInput": {"fst": 0}}}
    cause = cause_of(
        "$randomSeeded($states.input.FunctionInput.fst)", states, "Output/FunctionResult"
    )
    assert cause == (
        "The JSONata expression '$randomSeeded($states.input.FunctionInput.fst)' specified for "
        "the field 'Output/FunctionResult' threw an error during evaluation. "
        "T1006: Attempted to invoke a non-function"
    )


def test_eval_is_not_available() -> None:
    assert cause_of("$eval('1 + 1')").endswith("T1006: Attempted to invoke a non-function")


def test_library_messages_use_the_jsonata_js_wording() -> None:
    states = {"input": {"a": [1, None], "s": "x"}}
    assert cause_of("$sum($states.input.a)", states).endswith(
        'T0412: Argument 1 of function "sum" must be an array of "numbers"'
    )
    assert cause_of("$abs($states.input.s)", states).endswith(
        'T0410: Argument 1 of function "abs" does not match function signature'
    )
    assert cause_of("$states.input.s + 1", states).endswith(
        'T2001: The left side of the "+" operator must evaluate to a number'
    )


def test_a_function_result_is_an_unsupported_result_type() -> None:
    assert cause_of("$fn := function($x){$x}", field="Items") == (
        "The JSONata expression '$fn := function($x){$x}' specified for the field 'Items' "
        "returned an unsupported result type."
    )


def test_syntax_errors_raise_invalid_jsonata() -> None:
    with pytest.raises(InvalidJsonata) as raised:
        compile_jsonata("(")
    assert raised.value.code == "S0203"
    assert str(raised.value) == 'S0203: Expected ")" before end of expression'


# --- result types ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "message_tail"),
    [
        ("true", "Expected 'array', but was 'boolean' for value: true"),
        ("null", "Expected 'array', but was 'null' for value: null"),
        ("1", "Expected 'array', but was 'number' for value: 1"),
        ("{'foo': 'bar'}", "Expected 'array', but was 'object' for value: {\"foo\":\"bar\"}"),
        ("'string'", "Expected 'array', but was 'string' for value: \"string\""),
    ],
)
def test_items_must_be_an_array(expr: str, message_tail: str) -> None:
    with pytest.raises(QueryEvaluationError) as raised:
        compile_jsonata(expr).evaluate_as({}, SCOPE, "Items", "array")
    assert raised.value.cause == (
        f"The JSONata expression '{expr}' specified for the field 'Items' returned an "
        f"unexpected result type. {message_tail}"
    )


def test_check_result_type_accepts_matching_values() -> None:
    check_result_type([1], "array", "$x", "Items")
    check_result_type(3, "integer", "$x", "Seconds")
    check_result_type(2.5, "number", "$x", "ToleratedFailurePercentage")
    check_result_type(True, "boolean", "$x", "Condition")
    with pytest.raises(QueryEvaluationError):
        check_result_type(2.5, "integer", "$x", "Seconds")
    with pytest.raises(QueryEvaluationError):
        check_result_type(True, "integer", "$x", "MaxConcurrency")
    assert compile_jsonata("$variable := 1").evaluate_as({}, SCOPE, "MaxConcurrency", "integer")


# --- functions Step Functions adds ----------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("0, 9, 3", [0, 3, 6, 9]),
        ("0, 10, 3", [0, 3, 6, 9]),
        ("1, 9, 9", 1),  # a single value comes back bare
        ("1, 9, 2", [1, 3, 5, 7, 9]),
        ("0, 10, 2", [0, 2, 4, 6, 8, 10]),
        ("10, 0, -5", [10, 5, 0]),
        ("-1.7, 2, 1", [-1, 0, 1, 2]),
    ],
)
def test_range(args: str, expected: Any) -> None:
    assert run(f"$range({args})") == expected


@pytest.mark.parametrize("args", ["1, 9", "1, 9, 0", "1, 9, -1", "9, 1, 1"])
def test_range_without_a_usable_step_is_undefined(args: str) -> None:
    assert run(f"$range({args})") is UNDEFINED


def test_partition() -> None:
    assert run("$partition([1, 2, 3, 4, 5, 6, 7, 8, 9], 3)") == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert run("$partition([1, 2, 3, 4, 5], 2)") == [[1, 2], [3, 4], [5]]
    assert run("$partition([1, 2, 3], 2.9)") == [[1, 2], [3]]
    assert run("$partition([1, 2, 3], 0)") is UNDEFINED
    assert run("$partition([], 2)") is UNDEFINED


@pytest.mark.parametrize(
    ("algorithm", "name"),
    [
        ("MD5", "md5"),
        ("SHA-1", "sha1"),
        ("SHA-256", "sha256"),
        ("SHA-384", "sha384"),
        ("SHA-512", "sha512"),
    ],
)
def test_hash_matches_hashlib(algorithm: str, name: str) -> None:
    expected = hashlib.new(name, "input data ✓".encode()).hexdigest()
    assert run(f"$hash('input data ✓', '{algorithm}')") == expected


def test_hash_algorithm_names_are_case_sensitive() -> None:
    assert "'sha-256' is not supported" in cause_of("$hash('x', 'sha-256')")
    assert run("$hash('x')") is UNDEFINED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-0", 0),
        ("1", 1),
        ("1.1", 1.1),
        ("true", True),
        ('"HelloWorld"', "HelloWorld"),
        ('[1, 2, "HelloWorld"]', [1, 2, "HelloWorld"]),
        ('{"Arg1": 1, "Arg2": []}', {"Arg1": 1, "Arg2": []}),
        ("null", None),
    ],
)
def test_parse(text: str, expected: Any) -> None:
    result = run("$parse($states.input.FunctionInput)", {"input": {"FunctionInput": text}})
    assert result == expected and type(result) is type(expected)


def test_parse_of_invalid_json_fails() -> None:
    assert "threw an error during evaluation" in cause_of("$parse('{oops')")


def test_random_is_deterministic_for_the_scope_entropy() -> None:
    first = run("[$random(), $random()]")
    assert first == run("[$random(), $random()]")
    assert first[0] != first[1]
    assert all(0 <= value < 1 for value in first)
    other = Scope(input=None, entropy=8)
    assert run("$random()", scope=other) != first[0]


def test_random_with_a_seed_is_reproducible_on_its_own() -> None:
    other = Scope(input=None, entropy=99)
    assert run("$random(42)") == run("$random(42)", scope=other)
    assert run("$random(42)") != run("$random(43)")


def test_uuid_is_a_deterministic_version_4_uuid() -> None:
    value = run("$uuid()")
    pattern = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
    assert re.fullmatch(pattern, value)
    assert run("$uuid()") == value
    assert run("$uuid() = $uuid()") is False


def test_fields_draw_different_random_values() -> None:
    template = compile_template({"a": "{% $uuid() %}", "b": "{% $uuid() %}"})
    value = template.evaluate({}, SCOPE, "Output")
    assert value["a"] != value["b"]


def test_clock_functions_read_the_scope_time() -> None:
    assert run("$millis()") == 1_700_000_000_500
    assert run("$now()") == "2023-11-14T22:13:20.500Z"


def test_a_variable_shadows_a_function_of_the_same_name() -> None:
    scope = Scope(input=None, variables={"uuid": "mine", "partition": 5})
    assert run("[$uuid, $partition]", scope=scope) == ["mine", 5]
