"""The parsed form of a JSONPath: a root and a tuple of segments (Jayway's path tokens).

Each segment knows its Jayway *normalized* spelling (``['name']``, ``[0]``, ``[*]``...)
because AWS quotes the normalized path in its error messages, e.g.
``No results for path: $['NoSuchInputPath']``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from sagaway.expressions._jsonpath_filter import FilterExpr


def quote_name(name: str) -> str:
    """Jayway's bracket spelling of a property name (single quotes, no escaping)."""
    return f"['{name}']"


@dataclass(frozen=True, slots=True)
class Field:
    """``.name`` / ``['name']``: one property of an object."""

    name: str

    @property
    def normalized(self) -> str:
        return quote_name(self.name)


@dataclass(frozen=True, slots=True)
class Index:
    """``[n]``: one element of an array; negative counts from the end."""

    index: int

    @property
    def normalized(self) -> str:
        return f"[{self.index}]"


@dataclass(frozen=True, slots=True)
class Wildcard:
    """``.*`` / ``[*]``: every member of an object or element of an array."""

    @property
    def normalized(self) -> str:
        return "[*]"


@dataclass(frozen=True, slots=True)
class Union_:
    """``['a','b']`` or ``[0,2]``: several members at once."""

    keys: tuple[str | int, ...]

    @property
    def normalized(self) -> str:
        parts = (f"'{k}'" if isinstance(k, str) else str(k) for k in self.keys)
        return "[" + ",".join(parts) + "]"


@dataclass(frozen=True, slots=True)
class Slice:
    """``[start:end]``: Python-like slice without step (Jayway has no step)."""

    start: int | None
    end: int | None

    @property
    def normalized(self) -> str:
        start = "" if self.start is None else str(self.start)
        end = "" if self.end is None else str(self.end)
        return f"[{start}:{end}]"


@dataclass(frozen=True, slots=True)
class DeepScan:
    """``..``: the node itself and every descendant; the next segment applies to each."""

    @property
    def normalized(self) -> str:
        return ".."


@dataclass(frozen=True, slots=True)
class Filter:
    """``[?(expr)]``: array elements (or the object itself) for which ``expr`` holds."""

    expr: FilterExpr
    source: str

    @property
    def normalized(self) -> str:
        return "[?]"


@dataclass(frozen=True, slots=True)
class Length:
    """``.length()``: Jayway's length function over the result so far."""

    @property
    def normalized(self) -> str:
        return ".length()"


Segment = Union[Field, Index, Wildcard, Union_, Slice, DeepScan, Filter, Length]  # noqa: UP007

# Segments that make a path "indefinite" in Jayway's sense (the result is a list).
INDEFINITE = (Wildcard, Union_, Slice, DeepScan, Filter)


def merges_properties(segment: Segment, last: bool) -> bool:
    """Jayway's multi-property leaf (``$.a['b','c']``): it yields one object holding the
    named properties that exist, and leaves the path definite (PropertyPathToken)."""
    return last and isinstance(segment, Union_) and all(isinstance(k, str) for k in segment.keys)


def is_definite(segments: tuple[Segment, ...]) -> bool:
    last = len(segments) - 1
    return not any(
        isinstance(s, INDEFINITE) and not merges_properties(s, i == last)
        for i, s in enumerate(segments)
    )


def skip_quoted(text: str, pos: int) -> int:
    """Position just after the quoted string that starts at ``pos`` (backslash escapes the
    next character); ``len(text) + 1`` when the string is not terminated."""
    quote = text[pos]
    pos += 1
    while pos < len(text):
        if text[pos] == "\\":
            pos += 2
            continue
        if text[pos] == quote:
            return pos + 1
        pos += 1
    return len(text) + 1


_ESCAPES = {"r": "\r", "f": "\f", "t": "\t", "n": "\n", "b": "\b"}


def unescape(text: str) -> str:
    """A quoted name's characters as Jayway reads them: ``\\n``, ``\\t``... and ``\\uXXXX``
    are control characters and code points; a backslash before any other character keeps
    that character (``\\'`` is a quote, ``\\\\`` a backslash); a trailing one stays."""
    out: list[str] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        pos += 1
        if char != "\\" or pos == len(text):
            out.append(char)
            continue
        escaped = text[pos]
        pos += 1
        if escaped == "u":
            digits = text[pos : pos + 4]
            if len(digits) != 4 or not all(d in "0123456789abcdefABCDEF" for d in digits):
                raise ValueError(f"Unable to parse unicode value: {digits}")
            out.append(chr(int(digits, 16)))
            pos += 4
            continue
        out.append(_ESCAPES.get(escaped, escaped))
    return "".join(out)
