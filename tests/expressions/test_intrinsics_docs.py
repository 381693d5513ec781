"""Intrinsic functions as the AWS documentation states them.

https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html
- States.MathAdd: "If you specify a non-integer value for one or both the arguments, Step
  Functions will round it off to the nearest integer." Halves round upwards, as Java's
  Math.round does (recorded AWS runs: 1.49 + 1.5 = 3, 1.5 + 1.51 = 4, -1.49 + -1.5 = -2).
- States.StringToJson parses a string; empty or blank text yields null (recorded AWS runs
  of StringToJson on "" and " " succeed).
"""

from __future__ import annotations

from typing import Any

import pytest

from sagaway.expressions.intrinsics import compile_intrinsic
from sagaway.expressions.scope import Scope


def call(text: str, data: Any) -> Any:
    return compile_intrinsic(text).evaluate(Scope(input=data))


@pytest.mark.parametrize(
    ("fst", "snd", "total"),
    [
        (-9, 3, -6),
        (1.49, 1.5, 3),
        (1.5, 1.51, 4),
        (-1.49, -1.5, -2),
        (2.5, 0, 3),
        (-2.5, 0, -2),
        (0.5, -0.5, 1),
    ],
)
def test_math_add_rounds_each_argument_to_the_nearest_integer(
    fst: float, snd: float, total: int
) -> None:
    result = call("States.MathAdd($.fst, $.snd)", {"fst": fst, "snd": snd})
    assert result == total
    assert isinstance(result, int)


@pytest.mark.parametrize("text", ["", " ", "\n\t "])
def test_string_to_json_of_empty_or_blank_text_is_null(text: str) -> None:
    assert call("States.StringToJson($.s)", {"s": text}) is None


def test_string_to_json_still_parses_padded_json() -> None:
    assert call("States.StringToJson($.s)", {"s": ' {"a": 1} '}) == {"a": 1}
