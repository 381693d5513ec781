"""One compiled-value type for every ASL field that holds an expression.

A field can hold a JSONPath-mode payload template (keys ending in ``.$``), a JSONata-mode
value whose strings may be ``{% %}`` expressions, a single JSONPath or intrinsic (``*Path``
fields), or a plain literal. :class:`Expr` records which, and :func:`evaluate` dispatches, so
the interpreter has one call for all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sagaway.expressions.scope import Scope

PAYLOAD = "payload"
JSONATA = "jsonata"
PATH = "path"
LITERAL = "literal"


@dataclass(frozen=True, slots=True)
class Expr:
    """A compiled field value; ``raw`` is the definition's value, kept for messages."""

    kind: str
    raw: Any
    compiled: Any = None


def payload_expr(raw: Any) -> Expr:
    from sagaway.expressions.payload import compile_payload

    return Expr(PAYLOAD, raw, compile_payload(raw))


def jsonata_expr(raw: Any) -> Expr:
    from sagaway.expressions.jsonata_eval import compile_template

    return Expr(JSONATA, raw, compile_template(raw))


def path_expr(text: str) -> Expr:
    """A ``*Path`` field: a JSONPath (``$``, ``$$``, ``$var``) or an intrinsic function call."""
    from sagaway.expressions.intrinsics import compile_intrinsic, is_intrinsic
    from sagaway.expressions.jsonpath import compile_path

    compiled = compile_intrinsic(text) if is_intrinsic(text) else compile_path(text)
    return Expr(PATH, text, compiled)


def value_expr(raw: Any) -> Expr:
    return Expr(LITERAL, raw)


def evaluate(expr: Expr, scope: Scope, field: str, states: Mapping[str, Any] | None = None) -> Any:
    """Evaluate ``expr``; ``states`` is JSONata's ``$states`` (ignored in JSONPath mode).

    A ``*Path`` that does not resolve raises States.Runtime with AWS's sentence naming the
    field; JSONata evaluation may return ``jsonata_eval.UNDEFINED``.
    """
    if expr.kind == LITERAL:
        return expr.raw
    if expr.kind == PAYLOAD:
        return expr.compiled.evaluate(scope, field)
    if expr.kind == JSONATA:
        return expr.compiled.evaluate(states or {}, scope, field)
    return _evaluate_path(expr, scope, field)


def _evaluate_path(expr: Expr, scope: Scope, field: str) -> Any:
    from sagaway.expressions.payload import evaluate_reference

    return evaluate_reference(expr.compiled, scope, field)
