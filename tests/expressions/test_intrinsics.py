"""Intrinsic functions: parsing, the eighteen functions, and their failures."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagaway.expressions.errors import StatesError
from sagaway.expressions.intrinsics import (
    IntrinsicPathNotFound,
    InvalidIntrinsic,
    compile_intrinsic,
    escape_string,
    is_intrinsic,
)
from sagaway.expressions.scope import Scope

INPUT: dict[str, Any] = {
    "Id": 123456,
    "inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9],
    "duplicates": [1, 2, 3, 3, 3, 3, 3, 3, 4],
    "json1": {"a": {"a1": 1, "a2": 2}, "b": 2},
    "json2": {"a": {"a3": 1, "a4": 2}, "c": 3},
    "name": "Arnav",
    "obj": {"Arg1": 1, "Arg2": []},
}
SCOPE = Scope(
    input=INPUT,
    context={"Execution": {"Name": "exec-1"}, "StateMachine": {"Name": "sm-a-b"}},
    variables={"greeting": "Hi {}!", "n": 5},
    entropy=42,
)


def run(text: str, scope: Scope = SCOPE) -> Any:
    return compile_intrinsic(text).evaluate(scope)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("States.Array($.Id)", [123456]),
        ("States.Array()", []),
        ("States.Array('a', 1, 1.5, true, false, null)", ["a", 1, 1.5, True, False, None]),
        ("States.ArrayPartition($.inputArray, 4)", [[1, 2, 3, 4], [5, 6, 7, 8], [9]]),
        ("States.ArrayContains($.inputArray, 5)", True),
        ("States.ArrayContains($.inputArray, '5')", False),
        ("States.ArrayRange(1, 9, 2)", [1, 3, 5, 7, 9]),
        ("States.ArrayRange(0, 10, 3)", [0, 3, 6, 9]),
        ("States.ArrayRange(5, 1, -2)", [5, 3, 1]),
        ("States.ArrayGetItem($.inputArray, 5)", 6),
        ("States.ArrayLength($.inputArray)", 9),
        ("States.ArrayUnique($.duplicates)", [1, 2, 3, 4]),
        ("States.Base64Encode('Data to encode')", "RGF0YSB0byBlbmNvZGU="),
        ("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", "Data to encode"),
        ("States.Hash('input data', 'SHA-1')", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
        ("States.Hash('input data', 'MD5')", "812f45842bc6d66ee14572ce20db8e86"),
        ("States.JsonMerge($.json1, $.json2, false)", {"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3}),
        ('States.StringToJson(\'{"foo": "bar"}\')', {"foo": "bar"}),
        ("States.JsonToString($.obj)", '{"Arg1":1,"Arg2":[]}'),
        ("States.MathAdd(111, -1)", 110),
        ("States.MathAdd($n, 0.4)", 5),
        ("States.StringSplit('1,2,3,4,5', ',')", ["1", "2", "3", "4", "5"]),
        (
            "States.StringSplit('This.is+a,test=string', '.+,=')",
            ["This", "is", "a", "test", "string"],
        ),
        ("States.StringSplit(',,,,', ',')", []),
        ("States.Format('Hello, my name is {}.', $.name)", "Hello, my name is Arnav."),
        ("States.Format('{} and {}', $.obj, null)", "{Arg1=1, Arg2=[]} and null"),
        ("States.Format('{}', 1.5)", "1.5"),
        ("States.Format($greeting, $$.Execution.Name)", "Hi exec-1!"),
        ("States.Format('\\{\\} {}', 'x')", "{} x"),
        ("States.Format('It\\'s {}', 'me')", "It's me"),
        ("States.Format('a\\\\b')", "a\\b"),
    ],
)
def test_functions_follow_the_aws_documentation(text: str, expected: Any) -> None:
    assert run(text) == expected


def test_nested_calls() -> None:
    text = (
        "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), "
        "States.MathAdd(States.ArrayLength(States.StringSplit($$.StateMachine.Name, '-')), -1))"
    )
    assert run(text) == "b"


def test_randomness_comes_only_from_the_scope_entropy() -> None:
    uuid = run("States.UUID()")
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", uuid
    )
    assert run("States.UUID()") == uuid
    assert run("States.UUID()", Scope(input={}, entropy=7)) != uuid
    first, second = run("States.Array(States.UUID(), States.UUID())")
    assert first != second
    number = run("States.MathRandom(1, 999)")
    assert 1 <= number < 999 and number == run("States.MathRandom(1, 999)")
    assert run("States.MathRandom(0, 999, 3)") == run("States.MathRandom(0, 999, 3)")


@pytest.mark.parametrize(
    "text",
    [
        "States.ArrayGetItem($.inputArray, 9)",
        "States.ArrayPartition($.inputArray, 0)",
        "States.ArrayRange(1, 2, 0)",
        "States.ArrayRange(0, 2000, 1)",
        "States.ArrayLength($.name)",
        "States.StringToJson('{')",
        "States.Base64Decode('***')",
        "States.Hash('x', 'SHA-999')",
        "States.JsonMerge($.json1, $.json2, true)",
        "States.JsonMerge($.json1, $.name, false)",
        "States.MathAdd('1', 2)",
        "States.MathRandom(5, 1)",
        "States.Format('{} {}', 'only one')",
        "States.Format($.Id)",
    ],
)
def test_bad_arguments_fail_with_intrinsic_failure(text: str) -> None:
    with pytest.raises(StatesError) as caught:
        run(text)
    assert caught.value.error == "States.IntrinsicFailure"
    assert caught.value.cause.startswith("Invalid arguments in States.")


def test_missing_path_argument_is_a_runtime_error() -> None:
    with pytest.raises(IntrinsicPathNotFound) as caught:
        run("States.Format('{}', $.nothing)", Scope(input={"a": 1}))
    assert caught.value.error == "States.Runtime"
    assert caught.value.path == "$.nothing"
    assert (
        caught.value.cause == "The JSONPath '$.nothing' could not be found in the input '{\"a\":1}'"
    )


@pytest.mark.parametrize(
    "text",
    [
        "States.Nope(1)",
        "States.UUID(1)",
        "States.MathAdd(1)",
        "States.MathRandom(1, 2, 3, 4)",
        "States.Format()",
        "States.Format(1)",
        "States.Format('He said, \\\"Hello\\\"')",
        "States.Array('unterminated)",
        "States.Array(1 2)",
        "States.Array(1) trailing",
        "States.Array($.a[)",
        "States.Array(nope)",
    ],
)
def test_definition_errors_are_rejected_at_compile_time(text: str) -> None:
    with pytest.raises(InvalidIntrinsic):
        compile_intrinsic(text)


def test_is_intrinsic() -> None:
    assert is_intrinsic("States.Format('{}', $.a)")
    assert is_intrinsic("States.UUID()")
    assert not is_intrinsic("$.States")
    assert not is_intrinsic("States.Format")


@given(st.lists(st.text(max_size=8), max_size=4))
def test_string_literals_round_trip_through_states_array(texts: list[str]) -> None:
    call = "States.Array(" + ", ".join(escape_string(text) for text in texts) + ")"
    assert run(call) == texts


@given(st.text(max_size=12), st.text(max_size=12))
def test_escaped_braces_are_never_placeholders(prefix: str, argument: str) -> None:
    call = f"States.Format({escape_string(prefix)[:-1]}{{}}', {escape_string(argument)})"
    assert run(call) == prefix + argument
