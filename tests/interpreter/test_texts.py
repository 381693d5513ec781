"""The text memo: a large value's JSON text is rendered once while the value lives."""

from __future__ import annotations

from sagaway.expressions.jsontext import dumps
from sagaway.interpreter.texts import TextMemo

BIG = {"blob": "ab" * 4096}


def test_a_large_value_is_rendered_once_and_its_text_is_the_same_object() -> None:
    memo = TextMemo()
    first = memo.text(BIG)
    assert first == dumps(BIG)
    assert memo.text(BIG) is first and memo.known(BIG) is first
    assert memo.rendered == 1


def test_an_equal_value_that_is_another_object_is_rendered_again() -> None:
    memo = TextMemo()
    memo.text(BIG)
    twin = {"blob": "ab" * 4096}
    assert memo.known(twin) is None
    assert memo.text(twin) == memo.text(BIG)
    assert memo.rendered == 2


def test_small_values_and_scalars_are_not_kept() -> None:
    memo = TextMemo()
    small = {"a": 1}
    assert memo.text(small) == '{"a":1}' and memo.text(2.5) == "2.5"
    assert memo.known(small) is None and memo.rendered == 0


def test_the_memo_keeps_no_more_than_its_budget_least_recently_used_out() -> None:
    values = [{"n": i, "blob": "c" * 5000} for i in range(3)]
    memo = TextMemo(budget=11_000)
    memo.text(values[0])
    memo.text(values[1])
    memo.known(values[0])  # used again: values[1] is now the oldest
    memo.text(values[2])
    assert memo.known(values[0]) is not None and memo.known(values[2]) is not None
    assert memo.known(values[1]) is None
    assert memo.text(values[1]) == dumps(values[1])  # dropped: rendered again, same text
