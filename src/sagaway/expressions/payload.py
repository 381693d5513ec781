"""Payload templates: Parameters, ResultSelector, ItemSelector and Assign in JSONPath mode.

A template is JSON in which a key ending in ``.$`` takes its value from a path (``$``,
``$$``, ``$name``) or an intrinsic function; the suffix is dropped in the output. Everything
else is copied as is, recursively, so a template without ``.$`` keys evaluates to itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from sagaway.expressions.errors import RuntimeFailure
from sagaway.expressions.intrinsics import (
    Intrinsic,
    IntrinsicPathNotFound,
    InvalidIntrinsic,
    compile_intrinsic,
    is_intrinsic,
)
from sagaway.expressions.jsonpath import InvalidPath, JsonPath, PathNotFound, compile_path
from sagaway.expressions.jsontext import dumps
from sagaway.expressions.scope import Scope

__all__ = [
    "InvalidPayload",
    "Payload",
    "compile_payload",
    "compile_reference",
    "evaluate_reference",
]

Reference = Union[JsonPath, Intrinsic]  # noqa: UP007


class InvalidPayload(ValueError):
    """A ``.$`` key whose value is not a valid path or intrinsic; ``key`` names it."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True, slots=True)
class _Constant:
    value: Any


@dataclass(frozen=True, slots=True)
class _Dynamic:
    key: str  # the key as written, with its ".$", for AWS's messages
    expression: Reference


@dataclass(frozen=True, slots=True)
class _Object:
    fields: tuple[tuple[str, Node], ...]


@dataclass(frozen=True, slots=True)
class _Array:
    items: tuple[Node, ...]


Node = Union[_Constant, _Dynamic, _Object, _Array]  # noqa: UP007


@dataclass(frozen=True, slots=True)
class Payload:
    """A compiled payload template."""

    template: Any
    root: Node

    def evaluate(self, scope: Scope, field: str) -> Any:
        """The template filled from ``scope``; ``field`` is the ASL field (``Parameters``...)."""
        return _evaluate(self.root, scope, field)


def compile_payload(template: Any) -> Payload:
    """Compile ``template``; raise :class:`InvalidPayload` for a bad ``.$`` value."""
    return Payload(template, _compile(template))


def compile_reference(key: str, text: Any) -> Reference:
    """The path or intrinsic a ``.$`` key (or ErrorPath, CausePath...) names."""
    if not isinstance(text, str):
        raise InvalidPayload(key, _invalid(key))
    try:
        if is_intrinsic(text):
            return compile_intrinsic(text)
        return compile_path(text)
    except (InvalidPath, InvalidIntrinsic) as exc:
        raise InvalidPayload(key, f"{_invalid(key)} ({exc})") from exc


def evaluate_reference(expression: Reference, scope: Scope, key: str) -> Any:
    """Evaluate a path or intrinsic; a path that matches nothing is AWS's ``States.Runtime``."""
    try:
        if isinstance(expression, JsonPath):
            return expression.get(scope)
        return expression.evaluate(scope)
    except PathNotFound as exc:
        raise _not_found(exc.path, key, dumps(scope.input)) from None
    except IntrinsicPathNotFound as exc:
        raise _not_found(exc.path, key, exc.input_text) from None


def _not_found(path: str, key: str, input_text: str) -> RuntimeFailure:
    return RuntimeFailure(
        f"The JSONPath '{path}' specified for the field '{key}' could not be found "
        f"in the input '{input_text}'"
    )


def _invalid(key: str) -> str:
    # AWS's definition-time wording (SCHEMA_VALIDATION_FAILED), without the location.
    return (
        f"The value for the field '{key}' must be a valid JSONPath "
        "or a valid intrinsic function call"
    )


def _compile(value: Any) -> Node:
    if isinstance(value, dict):
        fields: list[tuple[str, Node]] = []
        for key, item in value.items():
            if key.endswith(".$"):
                fields.append((key[:-2], _Dynamic(key, compile_reference(key, item))))
            else:
                fields.append((key, _compile(item)))
        return _Object(tuple(fields))
    if isinstance(value, list):
        return _Array(tuple(_compile(item) for item in value))
    return _Constant(value)


def _evaluate(node: Node, scope: Scope, field: str) -> Any:
    if isinstance(node, _Constant):
        return node.value
    if isinstance(node, _Dynamic):
        return evaluate_reference(node.expression, scope, node.key)
    if isinstance(node, _Array):
        return [_evaluate(item, scope, field) for item in node.items]
    return {key: _evaluate(item, scope, field) for key, item in node.fields}
