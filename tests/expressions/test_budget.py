"""Every expression evaluation is bounded in time, depth and size, and fails its state."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from sagaway.expressions import budget
from sagaway.expressions.errors import StatesError
from sagaway.expressions.intrinsics import InvalidIntrinsic, compile_intrinsic
from sagaway.expressions.jsonata_eval import InvalidJsonata, compile_jsonata
from sagaway.expressions.jsonpath import InvalidPath, compile_path
from sagaway.expressions.scope import Scope
from tests.interpreter.kit import machine, start

TAIL_LOOP = "($f := function($x){ $f($x + 1) }; $f(1))"
DEEP_RECURSION = "($f := function($x){ 1 + $f($x + 1) }; $f(1))"
DOUBLING = "($p := function($s, $n){{ $n = 0 ? $s : $p($s & $s, $n - 1) }}; $length($p('x', {n})))"


@pytest.fixture
def quick() -> Iterator[None]:
    """A 0.2 s CPU budget, so runaway evaluations fail fast."""
    saved = budget.limits()
    budget.configure(budget.ExpressionLimits(cpu_seconds=0.2))
    yield
    budget.configure(saved)


def jsonata(text: str, data: Any = None) -> Any:
    return compile_jsonata(text).evaluate({"input": data}, Scope(data), "Output/r")


def failure(call: Any, *args: Any) -> tuple[StatesError, float]:
    # This thread's CPU time, as the budget counts it: the process's would add whatever
    # other threads of the test process (engines of earlier tests) spent meanwhile.
    began = time.thread_time()
    with pytest.raises(StatesError) as caught:
        call(*args)
    return caught.value, time.thread_time() - began


def test_a_tail_recursive_jsonata_loop_stops_at_the_cpu_budget(quick: None) -> None:
    error, spent = failure(jsonata, TAIL_LOOP)
    assert error.error == "States.QueryEvaluationError"
    assert error.cause.endswith(f"threw an error during evaluation: {budget.TIMEOUT}")
    assert 0.2 <= spent < 1.0


def test_a_backtracking_regular_expression_stops_at_the_cpu_budget(quick: None) -> None:
    error, spent = failure(jsonata, '$match("' + "a" * 40 + '!", /(a|aa)+c/)')
    assert error.cause.endswith(f"threw an error during evaluation: {budget.TIMEOUT}")
    assert spent < 1.0
    assert jsonata('$replace("abcabc", /b/, "X")') == "aXcaXc"


def test_jsonata_nesting_stops_near_depth_100_as_on_aws() -> None:
    error, spent = failure(jsonata, DEEP_RECURSION)
    assert error.cause.endswith(f"during evaluation: {budget.DEPTH_EXCEEDED}")
    assert spent < 0.1
    assert jsonata(" + ".join(["1"] * 40)) == 40
    assert failure(jsonata, " + ".join(["1"] * 200))[0].error == "States.QueryEvaluationError"
    factorial = "($f := function($n){ $n <= 1 ? 1 : $n * $f($n - 1) }; $f(20))"
    assert jsonata(factorial) == 2432902008176640000


def test_jsonata_values_are_bounded_at_the_size_aws_refuses() -> None:
    # AWS accepts a 4,194,304-character string and [1..873782]; one doubling or item more fails.
    assert jsonata(DOUBLING.format(n=22)) == 4_194_304
    assert failure(jsonata, DOUBLING.format(n=23))[0].cause.endswith(budget.MEMORY_EXCEEDED)
    assert jsonata("[1..873782] ~> $count()") == 873782
    for sequence in ("[1..9999999] ~> $count()", "$count($range(0, 1e12, 1))"):
        error, spent = failure(jsonata, sequence)
        assert error.cause.endswith(budget.MEMORY_EXCEEDED)
        assert spent < 0.1


def test_array_range_checks_its_limit_before_allocating() -> None:
    range_call = compile_intrinsic("States.ArrayRange(0, 1000000000000, 1)")
    error, spent = failure(range_call.evaluate, Scope({}))
    assert error.error == "States.IntrinsicFailure"
    assert "maximum of 1000 items" in error.cause
    assert spent < 0.05


def test_format_refuses_to_build_a_string_over_the_size_budget() -> None:
    template = "{}" * 100
    call = compile_intrinsic(f"States.Format('{template}'" + ", $.big" * 100 + ")")
    error, _ = failure(call.evaluate, Scope({"big": "x" * 100_000}))
    assert error.error == "States.IntrinsicFailure"
    assert error.cause.endswith(budget.MEMORY_EXCEEDED)


def test_array_unique_on_a_large_array_stops_at_the_cpu_budget(quick: None) -> None:
    call = compile_intrinsic("States.ArrayUnique($.items)")
    error, spent = failure(call.evaluate, Scope({"items": [[i] for i in range(40_000)]}))
    assert error.error == "States.IntrinsicFailure"
    assert error.cause.endswith(budget.TIMEOUT)
    assert spent < 1.0


def test_a_quadratic_jsonpath_filter_stops_at_the_cpu_budget(quick: None) -> None:
    data = {"a": list(range(30_000)), "b": list(range(30_000, 60_000))}
    path = compile_path("$.a[?(@ in $.b)]")
    error, spent = failure(path.get, Scope(data))
    assert error.error == "States.Runtime"
    assert error.cause.endswith(budget.TIMEOUT)
    assert spent < 1.0
    assert compile_path("$.a[?(@ in $.b)]").get(Scope({"a": [1, 2], "b": [2]})) == [2]


def test_a_state_over_budget_is_caught_like_any_evaluation_error(quick: None) -> None:
    m = machine(
        {
            "Loop": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}}],
                "Output": {"v": "{% " + TAIL_LOOP + " %}"},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handled"}],
                "Next": "Handled",
            },
            "Handled": {"Type": "Pass", "End": True},
        },
        QueryLanguage="JSONata",
    )
    step = start(m, {})
    assert step.state.status == "SUCCEEDED"
    assert step.state.output["Error"] == "States.QueryEvaluationError"
    assert budget.TIMEOUT in step.state.output["Cause"]


def test_expressions_nested_past_the_stack_are_definition_errors() -> None:
    with pytest.raises(InvalidJsonata):
        compile_jsonata("(" * 5000 + "1" + ")" * 5000)
    with pytest.raises(InvalidIntrinsic):
        compile_intrinsic("States.Array(" * 5000 + "1" + ")" * 5000)
    with pytest.raises(InvalidPath):
        compile_path("$[?(" + "(" * 5000 + "@.a" + ")" * 5000 + ")]")


def test_parsed_json_text_has_the_depth_limit_of_client_json() -> None:
    deep = "[" * 600 + "]" * 600
    call = compile_intrinsic("States.StringToJson($.s)")
    assert failure(call.evaluate, Scope({"s": deep}))[0].error == "States.IntrinsicFailure"
    error, _ = failure(jsonata, "$parse($states.input.s)", {"s": deep})
    assert error.error == "States.QueryEvaluationError"
    assert call.evaluate(Scope({"s": "[[1]]"})) == [[1]]


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        budget.ExpressionLimits(cpu_seconds=0)
