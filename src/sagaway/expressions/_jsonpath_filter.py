"""Filter expressions inside ``[?( ... )]``, with Jayway's comparison rules.

Operands are relative paths (``@.price``), absolute paths (``$.limit``) or JSON literals.
A bare path tests existence. Comparisons between different JSON types are false (Jayway
never coerces a boolean to a number), and a missing operand compares unequal to anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Union

from sagaway.expressions import budget
from sagaway.expressions._jsonpath_parser import InvalidPath, parse_path
from sagaway.expressions._jsonpath_syntax import INDEFINITE, Segment, skip_quoted
from sagaway.expressions.jsontext import loads

# (segments, value) -> matches; supplied by the evaluator so the modules stay acyclic.
Select = Callable[[tuple[Segment, ...], Any], list[Any]]

_MISSING: Any = object()
_OPERATORS = ("==", "!=", "<=", ">=", "<", ">")
_WORD_OPERATORS = re.compile(r"(nin|in)(?=[\s\[])")
_LITERAL = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null")


@dataclass(frozen=True, slots=True)
class PathOperand:
    """``@...`` (the element under test) or ``$...`` (the document root)."""

    relative: bool
    segments: tuple[Segment, ...]

    @property
    def indefinite(self) -> bool:
        return any(isinstance(s, INDEFINITE) for s in self.segments)

    def value(self, node: Any, root: Any, select: Select) -> Any:
        matches = select(self.segments, node if self.relative else root)
        if self.indefinite:
            return matches
        return matches[0] if matches else _MISSING


@dataclass(frozen=True, slots=True)
class Literal:
    value: Any


Operand = Union[PathOperand, Literal]  # noqa: UP007


@dataclass(frozen=True, slots=True)
class Exists:
    operand: Operand

    def holds(self, node: Any, root: Any, select: Select) -> bool:
        if isinstance(self.operand, Literal):
            return bool(self.operand.value)
        value = self.operand.value(node, root, select)
        if self.operand.indefinite:
            return bool(value)
        return value is not _MISSING


@dataclass(frozen=True, slots=True)
class Compare:
    op: str
    left: Operand
    right: Operand

    def holds(self, node: Any, root: Any, select: Select) -> bool:
        left = _resolve(self.left, node, root, select)
        right = _resolve(self.right, node, root, select)
        return _compare(self.op, left, right)


@dataclass(frozen=True, slots=True)
class Not:
    expr: FilterExpr

    def holds(self, node: Any, root: Any, select: Select) -> bool:
        return not self.expr.holds(node, root, select)


@dataclass(frozen=True, slots=True)
class Logical:
    op: str  # "&&" or "||"
    left: FilterExpr
    right: FilterExpr

    def holds(self, node: Any, root: Any, select: Select) -> bool:
        if self.op == "&&":
            return self.left.holds(node, root, select) and self.right.holds(node, root, select)
        return self.left.holds(node, root, select) or self.right.holds(node, root, select)


FilterExpr = Union[Exists, Compare, Not, Logical]  # noqa: UP007


def _resolve(operand: Operand, node: Any, root: Any, select: Select) -> Any:
    if isinstance(operand, Literal):
        return operand.value
    return operand.value(node, root, select)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def json_equal(left: Any, right: Any) -> bool:
    """JSON equality: ``1 == 1.0`` but ``true != 1``; deep for arrays and objects."""
    if _kind(left) != _kind(right):
        return False
    if isinstance(left, list):
        return len(left) == len(right) and all(map(json_equal, left, right))
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(json_equal(left[k], right[k]) for k in left)
    return bool(left == right)


def _compare(op: str, left: Any, right: Any) -> bool:
    if left is _MISSING or right is _MISSING:
        return op == "!="
    if op == "==":
        return json_equal(left, right)
    if op == "!=":
        return not json_equal(left, right)
    if op in ("in", "nin"):
        if isinstance(right, list):
            budget.current().tick(len(right))
        found = isinstance(right, list) and any(json_equal(left, item) for item in right)
        return found if op == "in" else not found
    if _kind(left) != _kind(right) or _kind(left) not in ("number", "str"):
        return False
    outcome = {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}
    return bool(outcome[op])


def parse_filter(source: str) -> FilterExpr:
    """Parse the text between ``[?(`` and ``)]``."""
    parser = _FilterParser(source)
    expr = parser.disjunction()
    parser.blanks()
    if parser.pos != len(source):
        raise InvalidPath(f"unexpected {source[parser.pos :]!r}")
    return expr


class _FilterParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def blanks(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def accept(self, token: str) -> bool:
        self.blanks()
        if self.text.startswith(token, self.pos):
            self.pos += len(token)
            return True
        return False

    def disjunction(self) -> FilterExpr:
        expr = self.conjunction()
        while self.accept("||"):
            expr = Logical("||", expr, self.conjunction())
        return expr

    def conjunction(self) -> FilterExpr:
        expr = self.unary()
        while self.accept("&&"):
            expr = Logical("&&", expr, self.unary())
        return expr

    def unary(self) -> FilterExpr:
        if self.accept("!"):
            return Not(self.unary())
        if self.accept("("):
            expr = self.disjunction()
            if not self.accept(")"):
                raise InvalidPath("expected ')'")
            return expr
        return self.comparison()

    def comparison(self) -> FilterExpr:
        left = self.operand()
        self.blanks()
        for op in _OPERATORS:
            if self.text.startswith(op, self.pos):
                self.pos += len(op)
                return Compare(op, left, self.operand())
        word = _WORD_OPERATORS.match(self.text, self.pos)
        if word:
            self.pos = word.end()
            return Compare(word.group(1), left, self.operand())
        return Exists(left)

    def operand(self) -> Operand:
        self.blanks()
        char = self.text[self.pos : self.pos + 1]
        if char in ("@", "$"):
            return self.path()
        if char in ("'", '"'):
            return Literal(self.string())
        if char == "[":
            return Literal(self.array())
        match = _LITERAL.match(self.text, self.pos)
        if not match:
            raise InvalidPath(f"expected an operand at {self.text[self.pos :]!r}")
        self.pos = match.end()
        return Literal(loads(match.group()))

    def path(self) -> PathOperand:
        start = self.pos
        depth = 0
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in "'\"" and depth:
                self.pos = skip_quoted(self.text, self.pos)
                continue
            if char == "[":
                depth += 1
            elif char == "]":
                depth -= 1
            elif depth == 0 and (char.isspace() or char in "=!<>&|)"):
                break
            self.pos += 1
        text = self.text[start : self.pos]
        relative = text.startswith("@")
        root, segments = parse_path("$" + text[1:] if relative else text)
        if root != "$":
            raise InvalidPath(f"unsupported root in filter path {text!r}")
        return PathOperand(relative, segments)

    def string(self) -> str:
        end = skip_quoted(self.text, self.pos)
        if end > len(self.text) or self.text[end - 1] != self.text[self.pos]:
            raise InvalidPath("unterminated string")
        body = self.text[self.pos + 1 : end - 1]
        self.pos = end
        return re.sub(r"\\(.)", r"\1", body)

    def array(self) -> list[Any]:
        end = self.text.find("]", self.pos)
        if end < 0:
            raise InvalidPath("unterminated array")
        body = self.text[self.pos : end + 1].replace("'", '"')
        self.pos = end + 1
        try:
            value = loads(body)
        except ValueError as exc:
            raise InvalidPath(f"invalid array literal {body!r}") from exc
        return list(value)
