"""Text -> (root, segments) for JSONPath, following Jayway's grammar.

Roots: ``$`` (state input), ``$$`` (context object), ``$name`` (workflow variable). The
grammar is Jayway's: dot and bracket notation, wildcards, deep scan, unions, slices,
filters and the ``length()`` function.
"""

from __future__ import annotations

import re

from sagaway.expressions._jsonpath_syntax import (
    DeepScan,
    Field,
    Filter,
    Index,
    Length,
    Segment,
    Slice,
    Union_,
    Wildcard,
    skip_quoted,
    unescape,
)


class InvalidPath(ValueError):
    """The text is not a JSONPath AWS accepts; the message says what is wrong."""


_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT = re.compile(r"-?\d+")
# Characters that end a dot-notation property name (Jayway asks for brackets for these).
_NAME_END = frozenset(".[( \t\n\r")
_SUPPORTED_FUNCTIONS = frozenset({"length"})


def parse_path(text: str) -> tuple[str, tuple[Segment, ...]]:
    """Split ``text`` into its root (``$``, ``$$`` or ``$name``) and its segments."""
    # Jayway trims the blanks around a path before reading it.
    text = text.strip(" ")
    if not text.startswith("$"):
        raise InvalidPath(f"Path must start with '$': {text!r}")
    root, pos = _parse_root(text)
    parser = _Parser(text, pos)
    return root, parser.segments()


def _parse_root(text: str) -> tuple[str, int]:
    if text.startswith("$$"):
        return "$$", 2
    match = _VARIABLE.match(text, 1)
    if match:
        return "$" + match.group(), match.end()
    return "$", 1


class _Parser:
    """A cursor over the text after the root."""

    def __init__(self, text: str, pos: int) -> None:
        self.text = text
        self.pos = pos

    def fail(self, what: str) -> InvalidPath:
        return InvalidPath(f"{what} at position {self.pos} in path {self.text!r}")

    def peek(self, ahead: int = 0) -> str:
        index = self.pos + ahead
        return self.text[index] if index < len(self.text) else ""

    def segments(self) -> tuple[Segment, ...]:
        found: list[Segment] = []
        while self.pos < len(self.text):
            if found and isinstance(found[-1], Length):
                raise self.fail("Nothing may follow a function call")
            found.extend(self.segment())
        return tuple(found)

    def segment(self) -> list[Segment]:
        char = self.peek()
        if char == "." and self.peek(1) == ".":
            self.pos += 2
            if self.peek() == "[":
                return [DeepScan(), self.bracket()]
            return [DeepScan(), self.dotted()]
        if char == ".":
            self.pos += 1
            # Jayway reads the token after a single dot as it would at the start, so
            # ``$.[0]`` is ``$[0]`` and ``$.[?(...)]`` is ``$[?(...)]``.
            if self.peek() == "[":
                return [self.bracket()]
            return [self.dotted()]
        if char == "[":
            return [self.bracket()]
        raise self.fail(f"Unexpected character {char!r}")

    def dotted(self) -> Segment:
        if self.peek() == "*":
            self.pos += 1
            return Wildcard()
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in _NAME_END:
            self.pos += 1
        name = self.text[start : self.pos]
        if not name:
            raise self.fail("Expected a property name")
        if self.peek() == "(":
            return self.function(name)
        if self.peek().isspace():
            raise self.fail("Use bracket notation for property names with blanks")
        return Field(name)

    def function(self, name: str) -> Segment:
        if self.text[self.pos : self.pos + 2] != "()":
            raise self.fail("Function arguments are not supported")
        if name not in _SUPPORTED_FUNCTIONS:
            raise self.fail(f"Unknown function {name}()")
        self.pos += 2
        return Length()

    def bracket(self) -> Segment:
        self.pos += 1  # '['
        self.skip_blanks()
        char = self.peek()
        if char == "*":
            self.pos += 1
            segment: Segment = Wildcard()
        elif char == "?":
            segment = self.filter()
        elif char in ("'", '"'):
            segment = self.names()
        else:
            segment = self.numbers()
        self.skip_blanks()
        if self.peek() != "]":
            raise self.fail("Expected ']'")
        self.pos += 1
        return segment

    def skip_blanks(self) -> None:
        while self.peek().isspace():
            self.pos += 1

    def names(self) -> Segment:
        keys: list[str | int] = [self.quoted()]
        self.skip_blanks()
        while self.peek() == ",":
            self.pos += 1
            self.skip_blanks()
            keys.append(self.quoted())
            self.skip_blanks()
        if len(keys) == 1:
            return Field(str(keys[0]))
        return Union_(tuple(keys))

    def quoted(self) -> str:
        quote = self.peek()
        if quote not in ("'", '"'):
            raise self.fail("Expected a quoted property name")
        start = self.pos + 1
        end = skip_quoted(self.text, self.pos)
        if end > len(self.text):
            raise self.fail("Unterminated quoted property name")
        self.pos = end
        try:
            return unescape(self.text[start : end - 1])
        except ValueError as exc:
            raise self.fail(str(exc)) from exc

    def numbers(self) -> Segment:
        end = self.text.find("]", self.pos)
        if end < 0:
            raise self.fail("Expected ']'")
        body = self.text[self.pos : end].replace(" ", "")
        self.pos = end
        if ":" in body:
            return self.slice(body)
        parts = body.split(",")
        if not all(_INT.fullmatch(part) for part in parts):
            raise self.fail(f"Invalid array index {body!r}")
        if len(parts) == 1:
            return Index(int(parts[0]))
        return Union_(tuple(int(part) for part in parts))

    def slice(self, body: str) -> Segment:
        bounds = body.split(":")
        if len(bounds) != 2 or not all(b == "" or _INT.fullmatch(b) for b in bounds):
            raise self.fail(f"Invalid array slice {body!r}")
        start, end = (int(b) if b else None for b in bounds)
        return Slice(start, end)

    def filter(self) -> Segment:
        from sagaway.expressions._jsonpath_filter import parse_filter

        self.pos += 1  # '?'
        if self.peek() != "(":
            raise self.fail("Expected '(' after '?'")
        close = _matching_paren(self.text, self.pos)
        if close < 0:
            raise self.fail("Unbalanced parentheses in filter")
        source = self.text[self.pos + 1 : close]
        self.pos = close + 1
        try:
            expr = parse_filter(source)
        except InvalidPath as exc:
            raise self.fail(f"Invalid filter ({exc})") from exc
        return Filter(expr, source)


def _matching_paren(text: str, open_at: int) -> int:
    """Index of the ')' closing the '(' at ``open_at``, skipping quoted strings."""
    depth = 0
    pos = open_at
    while pos < len(text):
        char = text[pos]
        if char in "'\"":
            pos = skip_quoted(text, pos)
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return pos
        pos += 1
    return -1
