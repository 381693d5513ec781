"""Regular expressions for JSONata (``/a+/``, ``$match``, ``$replace``...), bounded in time.

A pattern like ``(a|aa)+c`` backtracks exponentially, and a match runs in C where no budget
check can reach it. The ``regex`` module guards against most such patterns and takes a
timeout; each call gets what is left of the evaluation's CPU budget, and running out fails the
expression with the budget's timeout sentence like any other runaway evaluation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import regex
from jsonata.regex_engine import RegexFlags

from sagaway.expressions import budget


def compile_pattern(pattern: str, flags: RegexFlags) -> MeteredPattern:
    """The library's regex engine hook: compile with ``regex`` (``re``-compatible syntax)."""
    native = 0
    if flags.case_insensitive:
        native |= regex.IGNORECASE
    if flags.multiline:
        native |= regex.MULTILINE
    return MeteredPattern(regex.compile(pattern, native))


class MeteredPattern:
    """The four methods the library calls on a compiled pattern, each with a timeout."""

    def __init__(self, compiled: Any) -> None:
        self._compiled = compiled

    def search(self, string: str) -> Any:
        return _metered(lambda timeout: self._compiled.search(string, timeout=timeout))

    def finditer(self, string: str) -> Iterator[Any]:
        found = _metered(lambda timeout: self._compiled.finditer(string, timeout=timeout))
        while True:
            match = _metered(lambda _timeout: next(found, None))
            if match is None:
                return
            yield match

    def sub(self, repl: Any, string: str, count: int = 0) -> str:
        result: str = _metered(
            lambda timeout: self._compiled.sub(repl, string, count=count, timeout=timeout)
        )
        return result

    def split(self, string: str, maxsplit: int = 0) -> list[str]:
        parts: list[str] = _metered(
            lambda timeout: self._compiled.split(string, maxsplit=maxsplit, timeout=timeout)
        )
        return parts


def _metered(call: Callable[[float], Any]) -> Any:
    allowance = budget.current()
    try:
        return call(allowance.remaining())
    except TimeoutError:
        allowance.trip(budget.TIMEOUT)
