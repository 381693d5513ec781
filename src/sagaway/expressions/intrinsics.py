"""Intrinsic functions of the Amazon States Language (``States.Format(...)`` and friends).

:func:`compile_intrinsic` parses and checks a call when the definition is loaded (unknown
function, wrong number of arguments, illegal escapes are definition errors, as on AWS);
:meth:`Intrinsic.evaluate` runs it against a scope. Randomness (``States.UUID``,
``States.MathRandom`` without a seed) comes only from ``random.Random(scope.entropy)`` so
that replaying an execution gives the same values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sagaway.expressions import budget
from sagaway.expressions._intrinsic_functions import (
    FUNCTIONS,
    ArgumentError,
    Entropy,
    format_parts,
)
from sagaway.expressions._intrinsic_parser import (
    Argument,
    Call,
    InvalidIntrinsic,
    Literal,
    PathArg,
    escape_string,
    parse_call,
)
from sagaway.expressions.errors import IntrinsicFailure, RuntimeFailure
from sagaway.expressions.jsonpath import PathNotFound
from sagaway.expressions.jsontext import dumps
from sagaway.expressions.scope import Scope

__all__ = [
    "Intrinsic",
    "IntrinsicPathNotFound",
    "InvalidIntrinsic",
    "compile_intrinsic",
    "escape_string",
    "is_intrinsic",
]

_CALL_START = re.compile(r"\s*States\.[A-Za-z0-9]+\s*\(")


class IntrinsicPathNotFound(RuntimeFailure):
    """A path argument matched nothing (``States.Runtime``); ``path`` is its text.

    Payload templates catch it to name the field, as AWS does for plain paths.
    """

    def __init__(self, path: str, input_text: str) -> None:
        super().__init__(f"The JSONPath '{path}' could not be found in the input '{input_text}'")
        self.path = path
        self.input_text = input_text


def is_intrinsic(text: str) -> bool:
    """Whether ``text`` looks like an intrinsic call (``States.Name(``...)."""
    return isinstance(text, str) and _CALL_START.match(text) is not None


@dataclass(frozen=True, slots=True)
class Intrinsic:
    """A compiled intrinsic function call."""

    text: str
    call: Call

    def evaluate(self, scope: Scope) -> Any:
        with budget.metered(self._over_budget):
            return _Evaluation(scope).call(self.call)

    def _over_budget(self, reason: str) -> IntrinsicFailure:
        return IntrinsicFailure(f"The evaluation of '{self.text}' was stopped: {reason}")


@lru_cache(maxsize=4096)
def compile_intrinsic(text: str) -> Intrinsic:
    """Parse ``text``; raise :class:`InvalidIntrinsic` when AWS would reject the definition."""
    try:
        call = parse_call(text)
        _check(call)
    except RecursionError:
        raise InvalidIntrinsic("The intrinsic function calls nest too deeply") from None
    return Intrinsic(text, call)


def _check(call: Call) -> None:
    signature = FUNCTIONS.get(call.name)
    if signature is None:
        raise InvalidIntrinsic(f"Unknown intrinsic function States.{call.name}")
    count = len(call.args)
    if count < signature.min_args or (
        signature.max_args is not None and count > signature.max_args
    ):
        raise InvalidIntrinsic(
            f"States.{call.name} takes {_arity(signature.min_args, signature.max_args)}, "
            f"but {count} were given"
        )
    template = call.args[0] if call.name == "Format" else None
    if isinstance(template, Literal) and not isinstance(template.value, str):
        raise InvalidIntrinsic("The first argument of States.Format must be a string")
    for arg in call.args:
        if isinstance(arg, Call):
            _check(arg)


def _arity(low: int, high: int | None) -> str:
    if high is None:
        return f"at least {low} argument{'s' if low != 1 else ''}"
    if low == high:
        return f"{low} argument{'s' if low != 1 else ''}"
    return f"{low} to {high} arguments"


class _Evaluation:
    """One evaluation: the scope and a shared random generator for nested calls."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.entropy = Entropy(scope.entropy)

    def call(self, call: Call) -> Any:
        args = [self.argument(arg) for arg in call.args]
        try:
            template = call.args[0] if call.name == "Format" else None
            if isinstance(template, Literal) and template.parts is not None:
                # A literal template knows which braces were escaped.
                return format_parts(template.parts, args[1:])
            result = FUNCTIONS[call.name].impl(args, self.entropy)
        except ArgumentError as exc:
            raise IntrinsicFailure(f"Invalid arguments in States.{call.name}: {exc}") from None
        allowance = budget.current()
        allowance.tick()
        if isinstance(result, str):
            allowance.size(len(result))
        elif isinstance(result, list):
            allowance.size(8 * len(result))
        return result

    def argument(self, arg: Argument) -> Any:
        if isinstance(arg, Literal):
            return arg.value
        if isinstance(arg, Call):
            return self.call(arg)
        return self.path(arg)

    def path(self, arg: PathArg) -> Any:
        try:
            return arg.path.get(self.scope)
        except PathNotFound:
            raise IntrinsicPathNotFound(arg.path.text, dumps(self.scope.input)) from None
