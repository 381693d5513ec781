"""JSONPath details the AWS documentation shows by example and Jayway's parser settles.

AWS: https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html
("Paths follow JsonPath syntax"; its own example of bracket notation is
``$.abc.['def ghi']``, a dot before a bracket). Where the page is silent the rules are
Jayway JsonPath's, the library AWS's paths follow: github.com/json-path/JsonPath,
``PathCompiler`` (``compile`` trims the blanks around a path; ``readDotToken`` reads the
token after a single dot as at the start of a path) and ``Utils.unescape`` (escapes in
quoted names).
"""

from __future__ import annotations

from typing import Any

import pytest

from sagaway.asl.validate import validate_definition
from sagaway.expressions.intrinsics import compile_intrinsic
from sagaway.expressions.jsonpath import InvalidPath, compile_path
from sagaway.expressions.scope import Scope

DATA: dict[str, Any] = {
    "abc": {"def ghi": 1, "items": [{"b": 2, "OU": 1}, {"b": 3, "OU": 0}]},
    "list": [{"bucket": "b1", "key": "k1"}, {"bucket": "b2", "key": "k2"}],
    "it's": 4,
    "back\\slash": 5,
    'say "hi"': 6,
    "tab\there": 7,
    "A": 8,
}


def value(path: str, data: Any = DATA) -> Any:
    return compile_path(path).get_value(data)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.abc.['def ghi']", 1),  # the documentation's own example
        ("$.abc.items.[0].b", 2),
        ("$.list.[1]", {"bucket": "b2", "key": "k2"}),
        ("$.list.[*].bucket", ["b1", "b2"]),
        ("$.list.[*].['bucket', 'key']", [{"bucket": "b1", "key": "k1"},
                                           {"bucket": "b2", "key": "k2"}]),
        ("$.abc.items.[?(@.OU > 0)].b", [2]),
    ],
)  # fmt: skip
def test_a_dot_before_a_bracket_reads_as_the_bracket(path: str, expected: Any) -> None:
    assert value(path) == expected


def test_a_dot_before_a_bracket_at_the_root() -> None:
    assert value("$.[0]", [10, 20]) == 10
    assert value("$.[*]", [10, 20]) == [10, 20]
    assert value("$.[?(@ > 10)]", [10, 20]) == [20]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$['it\\'s']", 4),  # \' is a quote
        ('$["say \\"hi\\""]', 6),  # \" is a double quote
        ("$['back\\\\slash']", 5),  # \\ is one backslash
        ("$['tab\\there']", 7),  # \t is a tab, as in Java
        ("$['\\u0041']", 8),  # \uXXXX is a code point
    ],
)
def test_escapes_in_quoted_names_follow_jayway_unescape(path: str, expected: Any) -> None:
    assert value(path) == expected


def test_a_bad_unicode_escape_is_an_invalid_path() -> None:
    with pytest.raises(InvalidPath):
        compile_path("$['\\u00zz']")


@pytest.mark.parametrize("path", [" $.abc.['def ghi']", "$.abc.['def ghi'] ", "  $.A  "])
def test_blanks_around_a_path_are_ignored(path: str) -> None:
    assert value(path) in (1, 8)


def test_an_unquoted_word_in_a_filter_compares_as_a_string() -> None:
    """AWS accepts ``[?(@.Name==Receipt)]`` (a deployed public sample,
    aws-samples/step-functions-workflows-collection textract-analyze-expense-tf, uses it);
    the word is compared as the string it spells."""
    labels = {"Labels": [{"Name": "Receipt", "n": 1}, {"Name": "Text", "n": 2}]}
    assert value("$.Labels[?(@.Name==Receipt)].n", labels) == [1]
    assert value("$.Labels[?(@.Name == true)].n", labels) == []


def test_a_dot_before_a_bracket_inside_an_intrinsic_argument() -> None:
    call = compile_intrinsic("States.ArrayLength($.list.[*].bucket)")
    assert call.evaluate(Scope(input=DATA)) == 2


def test_the_definitions_validate() -> None:
    definition = (
        '{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true, "Parameters": {'
        '"a.$": "$.[0]", "b.$": "$.x.[0].y", "c.$": "$.[?(@.OU > 0)]",'
        '"d.$": "$.L[?(@.Type.Text==AMOUNT_PAID)].V", "e.$": "States.Array($.[0])"}}}}'
    )
    assert validate_definition(definition) == []


def test_several_names_at_the_end_of_a_path_make_one_object() -> None:
    """Jayway's MultiPropTest: ``$['a', 'b']`` reads one object of the properties present;
    before the end, the names act as a union of their values."""
    data = {"a": {"v": 5}, "b": {"v": 4}, "c": {"v": 1}}
    assert value("$['a', 'c']", data) == {"a": {"v": 5}, "c": {"v": 1}}
    assert value("$['a', 'd']", data) == {"a": {"v": 5}}
    assert value("$['a', 'c'].v", data) == [5, 1]


def test_blanks_around_a_path_validate_in_fields_and_payload_templates() -> None:
    definition = (
        '{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true, "InputPath": " $.a ",'
        '"Parameters": {"b.$": " $.b ", "c.$": "States.Array( $.c )"}}}}'
    )
    assert validate_definition(definition) == []


BOOKS = {
    "book": [
        {"category": "reference", "author": "Nigel", "tags": ["a", "b"]},
        {"category": "fiction", "author": "Evelyn", "tags": []},
        {"category": "fiction", "author": "Herman", "tags": ["b"]},
    ]
}


@pytest.mark.parametrize(
    ("path", "authors"),
    [
        # Jayway InlineFilterTest: regular expressions, either side, flags
        ("$.book[?(@.category =~ /reference/)].author", ["Nigel"]),
        ("$.book[?(/reference/ =~ @.category)].author", ["Nigel"]),
        ("$.book[?(@.category =~ /REFERENCE/)].author", []),
        ("$.book[?(@.category =~ /REFERENCE/i)].author", ["Nigel"]),
        ("$.book[?(@.author =~ /.*e.*/)].author", ["Nigel", "Evelyn", "Herman"]),
        # word operators (EvaluatorFactory), in any case
        ("$.book[?(@.tags size 2)].author", ["Nigel"]),
        ("$.book[?(@.tags empty true)].author", ["Evelyn"]),
        ("$.book[?(@.tags EMPTY false)].author", ["Nigel", "Herman"]),
        ("$.book[?(@.tags contains 'b')].author", ["Nigel", "Herman"]),
        ("$.book[?(@.author contains 'er')].author", ["Herman"]),
        ("$.book[?(@.tags subsetof ['b', 'c'])].author", ["Evelyn", "Herman"]),
        ("$.book[?(@.tags anyof ['a', 'z'])].author", ["Nigel"]),
        ("$.book[?(@.tags noneof ['a'])].author", ["Evelyn", "Herman"]),
        ("$.book[?(@.category === 'fiction')].author", ["Evelyn", "Herman"]),
        ("$.book[?(@.category !== 'fiction')].author", ["Nigel"]),
    ],
)
def test_jayway_filter_operators(path: str, authors: list[str]) -> None:
    assert value(path, BOOKS) == authors


def test_a_bad_regular_expression_is_an_invalid_path() -> None:
    with pytest.raises(InvalidPath):
        compile_path("$.book[?(@.a =~ /(/)]")


def test_double_equals_compares_numbers_and_strings_as_jayway_does() -> None:
    """Jayway ``ValueNodes``: NumberNode.equals parses a string as a decimal; StringNode.equals
    writes a number out; ``===`` (type-safe) never matches across types."""
    items = [{"a": 1}, {"a": 1.5}, {"a": "1"}, {"a": True}]
    assert value("$[?(@.a == '1')].a", items) == [1, "1"]
    assert value("$[?(@.a == '1.50')].a", items) == [1.5]
    assert value("$[?(@.a === '1')].a", items) == ["1"]
    assert value("$[?(@.a != '1')].a", items) == [1.5, True]
    # FilterTest: [?(1 == '1')] and [?('1' == 1)] hold, [?(1 === '1')] does not
    assert value("$[?(1 == '1')]", [0]) == [0]
    assert value("$[?('1' == 1)]", [0]) == [0]
    assert value("$[?(1 === '1')]", [0]) == []
