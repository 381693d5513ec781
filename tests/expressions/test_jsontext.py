"""Parsing JSON text refuses what JSON lacks and the journal cannot keep, as ValueError."""

from __future__ import annotations

import pytest

from sagaway.expressions.jsontext import MAX_DEPTH, check_depth, copy_json, loads, loads_document


@pytest.mark.parametrize(
    "text",
    ["NaN", "[Infinity]", '{"a": -Infinity}', "1e400", "-1e400", "9" * 400, "-" + "9" * 5000],
)
def test_numbers_json_or_a_double_cannot_hold_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        loads(text)


def test_numbers_in_range_keep_their_type() -> None:
    assert loads("[18446744073709551615, -9223372036854775808, 2.5, 1e308]") == [
        2**64 - 1,
        -(2**63),
        2.5,
        1e308,
    ]
    # Lone surrogates are JSON orjson refuses: read by the fallback, with the same rules.
    assert loads('["\\ud800", 1]') == ["\ud800", 1]
    with pytest.raises(ValueError):
        loads('["\\ud800", NaN]')


def test_nesting_is_bounded_without_recursion_errors() -> None:
    with pytest.raises(ValueError):
        loads("[" * 100_000 + "]" * 100_000)
    deepest = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert loads_document(deepest) is not None
    with pytest.raises(ValueError, match="nesting depth"):
        loads_document("[" + deepest + "]")
    assert loads("[" + deepest + "]")  # internal text keeps orjson's own limit
    check_depth({"a": [1, {"b": 2}]}, 3)
    with pytest.raises(ValueError):
        check_depth({"a": [1, {"b": 2}]}, 2)


def test_copy_json_makes_new_objects_and_arrays_and_shares_scalars() -> None:
    from collections import OrderedDict

    class Items(list):  # type: ignore[type-arg]
        pass

    text = "x" * 100
    value = {"s": text, "n": 1, "f": 0.5, "b": True, "z": None, "a": [{"k": [1]}],
             "o": OrderedDict(x=[2]), "l": Items([{"y": 3}])}  # fmt: skip
    copy = copy_json(value)
    assert copy == value and copy is not value
    assert copy["s"] is text  # strings are shared, not copied per byte
    copy["a"][0]["k"].append(9)
    copy["o"]["x"].append(9)
    copy["l"][0]["y"] = 9
    assert value["a"] == [{"k": [1]}] and value["o"] == {"x": [2]} and value["l"] == [{"y": 3}]


def test_client_documents_refuse_lone_surrogates_and_keep_pairs() -> None:
    for text in ('{"a": "\\ud800"}', '["x\\udfffy"]', '"\udc00"'):
        with pytest.raises(ValueError, match="lone surrogate"):
            loads_document(text)
    assert loads_document('["\\ud83d\\ude00", "\\u00e9"]') == ["\U0001f600", "é"]
