"""The text memo: a large value's JSON text is rendered once while the value lives."""

from __future__ import annotations

from sagaway.expressions.jsontext import dumps
from sagaway.interpreter.texts import _SENTINEL, TextMemo

BIG = {"blob": "ab" * 4096}


def test_a_large_value_is_rendered_once_and_its_text_is_the_same_object() -> None:
    memo = TextMemo()
    first = memo.text(BIG)
    assert first == dumps(BIG)
    assert memo.text(BIG) is first and memo.known(BIG) is first
    assert memo.rendered == 2  # the large string, and the object around it


def test_an_equal_value_that_is_another_object_is_rendered_again() -> None:
    memo = TextMemo()
    memo.text(BIG)
    twin = {"blob": "ab" * 4096}
    assert memo.known(twin) is None
    assert memo.text(twin) == memo.text(BIG)
    assert memo.rendered == 4  # its string is another object too


def test_small_values_and_scalars_are_not_kept() -> None:
    memo = TextMemo()
    small = {"a": 1}
    assert memo.text(small) == '{"a":1}' and memo.text(2.5) == "2.5"
    assert memo.known(small) is None and memo.rendered == 0


def test_the_memo_keeps_no_more_than_its_budget_least_recently_used_out() -> None:
    values = [{"n": i, "blob": "c" * 5000} for i in range(3)]
    memo = TextMemo(budget=11_000)
    memo.members = False  # one entry per value (rendered around members, each keeps two)
    memo.text(values[0])
    memo.text(values[1])
    memo.known(values[0])  # used again: values[1] is now the oldest
    memo.text(values[2])
    assert memo.known(values[0]) is not None and memo.known(values[2]) is not None
    assert memo.known(values[1]) is None
    assert memo.text(values[1]) == dumps(values[1])  # dropped: rendered again, same text


def test_a_value_is_rendered_around_its_large_members_and_its_text_is_unchanged() -> None:
    memo = TextMemo()
    blob = 'é\x00"' + "x" * 8000
    order = {"id": 1, "blob": blob, "items": [1.5, None, True]}
    out = {**order, "Reserve": {"ok": True}}
    nested = {"order": out, "note": "n", "blob": blob, "pad": {"k": "v" * 5000}}
    for value in (order, out, nested):
        text = memo.text(value)
        assert text == dumps(value)
        parts = memo.parts_of(text)
        assert parts is not None and parts.text() == text
        # Members are only the large string, however deep (parts stay one level).
        assert {m for _, m in parts.members} <= {dumps(blob), dumps(nested["pad"])}
    assert memo.rendered == 1 + 3  # the string once, then each object around it
    skeleton = memo.parts_of(memo.text(nested))
    assert skeleton is not None and len(skeleton.members) == 2  # out's string and blob
    assert "x" * 100 not in skeleton.skeleton


def test_user_data_holding_the_sentinel_is_rendered_whole() -> None:
    memo = TextMemo()
    blob = "y" * 5000
    for trap in (_SENTINEL + "0-", '"' + _SENTINEL + "0-", {_SENTINEL + "0-": 1}):
        value = {"trap": trap, "blob": blob}
        text = memo.text(value)
        assert text == dumps(value)
        parts = memo.parts_of(text)
        assert parts is None  # the sentinel appeared twice: not used


def test_without_members_the_text_is_the_same() -> None:
    blob = "z" * 6000
    values = [{"a": blob, "n": i} for i in range(3)]
    on, off = TextMemo(), TextMemo()
    off.members = False
    for value in values:
        assert on.text(value) == off.text(value) == dumps(value)
        assert off.parts_of(off.text(value)) is None


def test_kilobyte_values_are_kept_whole_and_the_number_kept_is_bounded() -> None:
    from sagaway.interpreter.texts import MAX_VALUES

    memo = TextMemo(min_kept=1024)  # as measured with kilobyte payloads (docs/benchmarks.md)
    values = [{"i": i, "blob": "k" * 1500} for i in range(MAX_VALUES + 10)]
    texts = [memo.text(v) for v in values]
    assert texts == [dumps(v) for v in values]
    # Kept whole: a 1.5 KiB member is below the member size, so no parts.
    assert memo.parts_of(texts[-1]) is None and memo.known(values[-1]) is texts[-1]
    # The oldest fell out (their containers are no longer held for the collector to walk).
    assert memo.known(values[0]) is None
    assert sum(memo.known(v) is not None for v in values) == MAX_VALUES


def test_a_value_with_a_large_string_has_parts_from_the_first_rendering() -> None:
    memo = TextMemo()  # nothing kept yet: the value is rendered whole first, then in parts
    value = {"orderId": "o-1", "blob": "ab" * 4096}
    text = memo.text(value)
    parts = memo.parts_of(text)
    assert text == dumps(value) and parts is not None and parts.text() == text
    assert [member for _, member in parts.members] == [dumps(value["blob"])]
