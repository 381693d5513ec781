"""JSONPath with Jayway semantics, as AWS Step Functions applies it."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagaway.expressions.errors import StatesError
from sagaway.expressions.jsonpath import (
    InvalidPath,
    PathNotFound,
    compile_path,
    set_result_path,
)
from sagaway.expressions.scope import Scope

STORE: dict[str, Any] = {
    "store": {
        "book": [
            {"category": "reference", "title": "Sayings", "price": 8.95},
            {"category": "fiction", "title": "Sword", "price": 12.99, "isbn": "0-553"},
            {"category": "fiction", "title": "Moby", "price": 8.99, "isbn": "0-395"},
        ],
        "bicycle": {"color": "red", "price": 19.95},
    },
    "expensive": 10,
}


def values(path: str, data: Any = STORE) -> Any:
    return compile_path(path).get_value(data)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", STORE),
        ("$.expensive", 10),
        ("$.store.bicycle.color", "red"),
        ("$['store']['bicycle']['color']", "red"),
        ('$["store"]["bicycle"]["color"]', "red"),
        ("$.store.book[0].title", "Sayings"),
        ("$.store.book[-1].title", "Moby"),
        ("$.store.book.length()", 3),
    ],
)
def test_definite_paths_return_the_value(path: str, expected: Any) -> None:
    assert compile_path(path).is_definite
    assert values(path) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.store.book[*].title", ["Sayings", "Sword", "Moby"]),
        ("$.store.book.*.title", ["Sayings", "Sword", "Moby"]),
        ("$..price", [8.95, 12.99, 8.99, 19.95]),
        ("$.store.book[0,2].title", ["Sayings", "Moby"]),
        ("$.store.book[1:3].title", ["Sword", "Moby"]),
        ("$.store.book[:2].title", ["Sayings", "Sword"]),
        ("$.store.book[-1:].title", ["Moby"]),
        ("$.store.book[?(@.price < 10)].title", ["Sayings", "Moby"]),
        ("$.store.book[?(@.isbn)].title", ["Sword", "Moby"]),
        ("$.store.book[?(!(@.isbn))].title", ["Sayings"]),
        ("$.store.book[?(@.category == 'fiction' && @.price > 10)].title", ["Sword"]),
        ("$.store.book[?(@.price > 12 || @.category == 'reference')].title", ["Sayings", "Sword"]),
        ("$.store.book[?(@.price <= $.expensive)].title", ["Sayings", "Moby"]),
        ("$.store.book[?(@.category != 'fiction')].title", ["Sayings"]),
        ("$.store.book[?(@.category in ['reference'])].title", ["Sayings"]),
        ("$.store.book[?(@.missing == null)].title", []),
        ("$.store.book[*].isbn", ["0-553", "0-395"]),
        ("$.store.book[7:9]", []),
    ],
)
def test_indefinite_paths_return_every_match(path: str, expected: list[Any]) -> None:
    assert not compile_path(path).is_definite
    assert values(path) == expected


def test_comparison_never_coerces_booleans_to_numbers() -> None:
    data = [{"v": True}, {"v": 1}, {"v": "1"}]
    # Jayway FilterTest: 1 == '1' and '1' == 1 hold (numbers and strings compare loosely);
    # booleans never equal numbers.
    assert values("$[?(@.v == 1)]", data) == [{"v": 1}, {"v": "1"}]
    assert values("$[?(@.v == true)]", data) == [{"v": True}]
    assert values("$[?(@.v == '1')]", data) == [{"v": 1}, {"v": "1"}]


@pytest.mark.parametrize(
    "path", ["$.item.items[*]", "$.items[:1]", "$.items[1:]", "$.items[:1].itemValue", "$[*]"]
)
def test_indefinite_path_over_missing_input_is_empty(path: str) -> None:
    # Recorded on AWS: Parameters {"item.$": path} with input {} gives {"item": []}.
    assert values(path, {}) == []


@pytest.mark.parametrize(
    ("path", "normalized", "message"),
    [
        ("$.NoSuchInputPath", "$['NoSuchInputPath']", "No results for path: $['NoSuchInputPath']"),
        (
            "$.no.such.result.path",
            "$['no']['such']['result']['path']",
            "Missing property in path $['no']",
        ),
        ("$.a.b", "$['a']['b']", "No results for path: $['a']['b']"),
        ("$.list[5]", "$['list'][5]", "No results for path: $['list'][5]"),
        ("$['list'][0]['x']", "$['list'][0]['x']", "No results for path: $['list'][0]['x']"),
    ],
)
def test_missing_definite_path_reports_jayway_messages(
    path: str, normalized: str, message: str
) -> None:
    with pytest.raises(PathNotFound) as caught:
        values(path, {"a": {}, "list": [{}]})
    assert caught.value.path == path
    assert caught.value.normalized == normalized
    assert caught.value.message == message


def test_roots_select_input_context_and_variables() -> None:
    scope = Scope(
        input={"a": 1},
        context={"Execution": {"Id": "arn:x"}},
        variables={"items": [1, 2], "x": {"y": ["first"]}},
    )
    assert compile_path("$.a").get(scope) == 1
    assert compile_path("$$.Execution.Id").get(scope) == "arn:x"
    assert compile_path("$$").get(scope) == {"Execution": {"Id": "arn:x"}}
    assert compile_path("$items").get(scope) == [1, 2]
    assert compile_path("$x.y[0]").get(scope) == "first"
    assert compile_path("$x.y[0]").variable == "x"
    with pytest.raises(PathNotFound):
        compile_path("$nothing").get(scope)


@pytest.mark.parametrize(
    "text", ["", "a.b", "$.", "$..", "$[", "$['a'", "$.a[x]", "$.a b", "$.a.foo()", "$[?(@.a"]
)
def test_invalid_syntax_is_rejected_at_compile_time(text: str) -> None:
    with pytest.raises(InvalidPath):
        compile_path(text)


def test_compiled_paths_are_cached_and_immutable() -> None:
    path = compile_path("$.a.b")
    assert compile_path("$.a.b") is path
    with pytest.raises(AttributeError):
        path.text = "$.c"  # type: ignore[misc]


def test_result_path_semantics() -> None:
    data = {"comment": "This is a test", "details": "Default example"}
    assert set_result_path(data, None, "Hello") is data
    assert set_result_path(data, "$", "Hello") == "Hello"
    assert set_result_path(data, "$.taskresult", "Hello") == {**data, "taskresult": "Hello"}
    assert set_result_path(data, "$.a.b", 1) == {**data, "a": {"b": 1}}
    assert set_result_path(data, "$.details", 2) == {"comment": "This is a test", "details": 2}
    assert set_result_path({"l": [0, 1]}, "$.l[1]", "x") == {"l": [0, "x"]}
    assert data == {"comment": "This is a test", "details": "Default example"}


@pytest.mark.parametrize(
    ("data", "path", "cause"),
    [
        ("text", "$.a", 'Unable to apply step "a" to input "text"'),
        ({"a": 5}, "$.a.b", 'Unable to apply step "b" to input 5'),
        ([1], "$.a", 'Unable to apply step "a" to input [1]'),
        ({"l": []}, "$.l[0]", 'Unable to apply step "[0]" to input []'),
    ],
)
def test_result_path_that_cannot_apply_fails(data: Any, path: str, cause: str) -> None:
    with pytest.raises(StatesError) as caught:
        set_result_path(data, path, 1)
    assert caught.value.error == "States.ResultPathMatchFailure"
    assert caught.value.cause == cause


@pytest.mark.parametrize("path", ["$$.Execution", "$var.a", "$.a[*]", "$..a", "$.a[?(@.b)]"])
def test_result_path_must_be_a_reference_path(path: str) -> None:
    with pytest.raises(InvalidPath):
        set_result_path({}, path, 1)


json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=8,
)
names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="'\\"), min_size=1, max_size=6
)


@given(data=st.dictionaries(names, json_values), keys=st.lists(names, min_size=1, max_size=4))
def test_set_then_get_round_trips_without_mutating(data: dict[str, Any], keys: list[str]) -> None:
    path = "$" + "".join(f"['{key}']" for key in keys)
    before = copy.deepcopy(data)
    try:
        written = set_result_path(data, path, {"v": keys})
    except StatesError:
        return  # an existing non-object on the way: AWS fails too
    assert compile_path(path).get_value(written) == {"v": keys}
    assert data == before


@given(data=json_values)
def test_dollar_result_path_replaces_and_root_path_reads_everything(data: Any) -> None:
    assert set_result_path({"x": 1}, "$", data) == data
    assert compile_path("$").get_value(data) == data
