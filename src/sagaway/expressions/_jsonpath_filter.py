"""Filter expressions inside ``[?( ... )]``, with Jayway's comparison rules.

Operands are relative paths (``@.price``), absolute paths (``$.limit``) or JSON literals.
A bare path tests existence. Comparisons between different JSON types are false (Jayway
never coerces a boolean to a number) except ``==`` between a number and a string, and a
missing operand compares unequal to anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Union

from sagaway.expressions import budget
from sagaway.expressions._jsonpath_parser import InvalidPath, parse_path
from sagaway.expressions._jsonpath_syntax import Segment, is_definite, skip_quoted
from sagaway.expressions.jsontext import loads

# (segments, value) -> matches; supplied by the evaluator so the modules stay acyclic.
Select = Callable[[tuple[Segment, ...], Any], list[Any]]

_MISSING: Any = object()
# Longest first: "===" before "==", "=~" before "=".
_OPERATORS = ("===", "!==", "==", "!=", "<=", ">=", "=~", "<", ">")
# Jayway's word operators, matched without regard to case (RelationalOperator.fromString).
_WORD_OPERATORS = re.compile(
    r"(nin|in|contains|size|empty|subsetof|anyof|noneof)(?=[\s\[\'\"])", re.IGNORECASE
)
_REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}
_LITERAL = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?|(true|false|null)(?![A-Za-z0-9_])")
# An unquoted word compared in a filter (``@.Type == AMOUNT_PAID``): AWS accepts such
# definitions (public samples deploy them), so the word is read as the string it spells.
_BARE_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class PathOperand:
    """``@...`` (the element under test) or ``$...`` (the document root)."""

    relative: bool
    segments: tuple[Segment, ...]

    @property
    def indefinite(self) -> bool:
        return not is_definite(self.segments)

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
        return op in ("!=", "!==")
    if op in ("==", "!="):
        return _loose_equal(left, right) == (op == "==")
    if op in ("===", "!=="):
        return json_equal(left, right) == (op == "===")
    if op == "=~":
        return _regex_match(left, right)
    if op in _COLLECTION_TESTS:
        return _COLLECTION_TESTS[op](left, right)
    if op in ("in", "nin"):
        if isinstance(right, list):
            budget.current().tick(len(right))
        found = isinstance(right, list) and any(json_equal(left, item) for item in right)
        return found if op == "in" else not found
    if _kind(left) != _kind(right) or _kind(left) not in ("number", "str"):
        return False
    outcome = {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}
    return bool(outcome[op])


def _loose_equal(left: Any, right: Any) -> bool:
    """Jayway's ``==``: a number and a string are compared as numbers when the number is on
    the left (the string parsed as a decimal), as text when the string is (the number
    written out); ``===`` keeps the types apart (``ValueNodes.NumberNode.equals``)."""
    kinds = (_kind(left), _kind(right))
    if kinds == ("number", "str"):
        try:
            return Decimal(str(left)) == Decimal(right)
        except InvalidOperation:
            return False
    if kinds == ("str", "number"):
        return bool(left == str(right))
    return json_equal(left, right)


def _regex_match(left: Any, right: Any) -> bool:
    """``=~``: one side a ``/pattern/flags`` literal, the other a value (or an array, any of
    whose items may match); the whole text must match, as Java's ``Matcher.matches``."""
    if isinstance(left, re.Pattern) == isinstance(right, re.Pattern):
        return False
    pattern, value = (left, right) if isinstance(left, re.Pattern) else (right, left)
    values = value if isinstance(value, list) else [value]
    return any(pattern.fullmatch(_regex_input(item)) for item in values)


def _regex_input(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return ""


def _in_all(items: Any, pool: Any, want: str) -> bool:
    if not (isinstance(items, list) and isinstance(pool, list)):
        return False
    found = [any(json_equal(item, other) for other in pool) for item in items]
    return {"subsetof": all(found), "anyof": any(found), "noneof": not any(found)}[want]


def _contains(left: Any, right: Any) -> bool:
    if isinstance(left, str):
        return isinstance(right, str) and right in left
    return isinstance(left, list) and any(json_equal(item, right) for item in left)


def _size(left: Any, right: Any) -> bool:
    sized = isinstance(left, str | list | dict) and _kind(right) == "number"
    return sized and len(left) == right


def _empty(left: Any, right: Any) -> bool:
    return (
        isinstance(left, str | list | dict)
        and isinstance(right, bool)
        and ((len(left) == 0) == right)
    )


# Jayway's EvaluatorFactory: what each word operator tests.
_COLLECTION_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "contains": _contains,
    "size": _size,
    "empty": _empty,
    "subsetof": lambda left, right: _in_all(left, right, "subsetof"),
    "anyof": lambda left, right: _in_all(left, right, "anyof"),
    "noneof": lambda left, right: _in_all(left, right, "noneof"),
}


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
            return Compare(word.group(1).lower(), left, self.operand())
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
        if char == "/":
            return Literal(self.pattern())
        match = _LITERAL.match(self.text, self.pos)
        if match:
            self.pos = match.end()
            return Literal(loads(match.group()))
        word = _BARE_WORD.match(self.text, self.pos)
        if not word:
            raise InvalidPath(f"expected an operand at {self.text[self.pos :]!r}")
        self.pos = word.end()
        return Literal(word.group())

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

    def pattern(self) -> re.Pattern[str]:
        """``/regex/flags``, as Jayway reads a pattern literal (Java regex syntax)."""
        end = self.pos + 1
        while end < len(self.text) and self.text[end] != "/":
            end += 2 if self.text[end] == "\\" else 1
        if end >= len(self.text):
            raise InvalidPath("unterminated regular expression")
        body = self.text[self.pos + 1 : end]
        flags_end = end + 1
        while flags_end < len(self.text) and self.text[flags_end].isalpha():
            flags_end += 1
        flags = 0
        for letter in self.text[end + 1 : flags_end]:
            flags |= _REGEX_FLAGS.get(letter, 0)
        self.pos = flags_end
        try:
            return re.compile(body, flags)
        except re.error as exc:
            raise InvalidPath(f"invalid regular expression /{body}/: {exc}") from exc

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
