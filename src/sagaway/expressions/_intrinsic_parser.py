"""Text -> call tree for intrinsic functions (``States.Format('{}', $.name)``).

Arguments are string literals in single quotes, numbers, ``true``/``false``/``null``,
JSONPaths rooted at ``$``, ``$$`` or ``$name``, and nested calls. Inside a string literal
only ``\\'``, ``\\{``, ``\\}`` and ``\\\\`` are escapes; AWS rejects any other backslash
sequence (for instance ``\\"``) when the definition is created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Union

from sagaway.expressions._jsonpath_syntax import skip_quoted
from sagaway.expressions.jsonpath import InvalidPath, JsonPath, compile_path


class InvalidIntrinsic(ValueError):
    """The text is not an intrinsic function call AWS accepts."""


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant argument. For strings, ``parts`` are the pieces between unescaped ``{}``."""

    value: Any
    parts: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class PathArg:
    path: JsonPath


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Argument, ...]


Argument = Union[Literal, PathArg, Call]  # noqa: UP007

_NAME = re.compile(r"States\.([A-Za-z0-9]+)\s*\(")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")
_KEYWORDS = {"true": True, "false": False, "null": None}
_ESCAPABLE = "'{}\\"


def escape_string(value: str) -> str:
    """The literal (with quotes) that evaluates to ``value`` with no format placeholders."""
    escaped = "".join("\\" + c if c in _ESCAPABLE else c for c in value)
    return f"'{escaped}'"


def parse_call(text: str) -> Call:
    parser = _Parser(text)
    parser.blanks()
    call = parser.call()
    parser.blanks()
    if parser.pos != len(text):
        raise parser.fail("Unexpected text after the function call")
    return call


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> InvalidIntrinsic:
        return InvalidIntrinsic(f"{what} at position {self.pos} in {self.text!r}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def blanks(self) -> None:
        while self.peek().isspace():
            self.pos += 1

    def call(self) -> Call:
        match = _NAME.match(self.text, self.pos)
        if not match:
            raise self.fail("Expected an intrinsic function call 'States.<Name>('")
        self.pos = match.end()
        args: list[Argument] = []
        self.blanks()
        if self.peek() == ")":
            self.pos += 1
            return Call(match.group(1), ())
        while True:
            args.append(self.argument())
            self.blanks()
            char = self.peek()
            self.pos += 1
            if char == ")":
                return Call(match.group(1), tuple(args))
            if char != ",":
                self.pos -= 1
                raise self.fail("Expected ',' or ')'")

    def argument(self) -> Argument:
        self.blanks()
        char = self.peek()
        if char == "'":
            return self.string()
        if char == "$":
            return self.path()
        if self.text.startswith("States.", self.pos):
            return self.call()
        match = _NUMBER.match(self.text, self.pos)
        if match:
            self.pos = match.end()
            number = match.group()
            return Literal(float(number) if match.group(1) or match.group(2) else int(number))
        for word, value in _KEYWORDS.items():
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                return Literal(value)
        raise self.fail("Expected an argument")

    def string(self) -> Literal:
        self.pos += 1  # opening quote
        parts: list[str] = []
        chars: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\":
                escaped = self.text[self.pos + 1 : self.pos + 2]
                if escaped == "" or escaped not in _ESCAPABLE:
                    raise self.fail(f"Invalid escape sequence '\\{escaped}'")
                chars.append(escaped)
                self.pos += 2
            elif char == "'":
                self.pos += 1
                parts.append("".join(chars))
                return Literal("{}".join(parts), tuple(parts))
            elif self.text.startswith("{}", self.pos):
                parts.append("".join(chars))
                chars = []
                self.pos += 2
            else:
                chars.append(char)
                self.pos += 1
        raise self.fail("Unterminated string literal")

    def path(self) -> PathArg:
        start = self.pos
        depth = 0
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in "'\"" and depth:
                self.pos = skip_quoted(self.text, self.pos)
                continue
            if char in "[(":
                depth += 1
            elif char in "])":
                if depth == 0:
                    break
                depth -= 1
            elif char == "," and depth == 0:
                break
            self.pos += 1
        text = self.text[start : self.pos].rstrip()
        try:
            return PathArg(compile_path(text))
        except InvalidPath as exc:
            raise self.fail(f"Invalid path argument ({exc})") from exc
