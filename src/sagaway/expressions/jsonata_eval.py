"""JSONata expressions and ``{% %}`` templates, evaluated with AWS Step Functions' semantics.

A JSONata-mode field holds JSON in which a string of the exact form ``{% <expr> %}`` is an
expression; everything else is literal (keys ending in ``.$`` included). Expressions are parsed
once, when the definition is loaded, and evaluated many times.

What an expression sees: ``$states`` (``input``, ``context``, ``result``, ``errorOutput`` as the
interpreter supplies them), every workflow variable as ``$name``, JSONata's functions minus
``$eval``, and the functions Step Functions adds (:mod:`.jsonata_functions`). It has no context
item: a bare ``$`` is undefined.

Failures raise :class:`QueryEvaluationError` with AWS's cause, without the "An error occurred
while executing the state ..." sentence the interpreter puts in front:

- an error thrown while evaluating: ``... threw an error during evaluation. T1006: ...``;
- a template expression that yields nothing: ``... returned nothing (undefined).`` AWS never
  drops an undefined member from a template: JSON has no undefined, so the field fails, at any
  depth. A JSON ``null`` is a value and is kept;
- a function as a result: ``... returned an unsupported result type.``

Randomness (``$random()``, ``$uuid()``) is drawn from ``random.Random`` seeded with the scope's
entropy and the field path, so two fields of one state differ while a replay repeats them; the
interpreter varies the entropy per state entry (and per Map item). ``$now()`` and ``$millis()``
read ``scope.now``.

Field paths name where the expression was written, relative to the state: ``/`` before each
object key and ``[i]`` after each array index (``Output/a/b[0]``, ``Arguments/FunctionName``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from jsonata import jsonata as _jsonata
from jsonata.jexception import JException
from jsonata.utils import Utils

from sagaway.expressions import budget, jsonata_functions, jsonata_messages, jsonata_regex
from sagaway.expressions.errors import QueryEvaluationError
from sagaway.expressions.jsonata_results import check_result_type
from sagaway.expressions.jsonata_values import (
    UNDEFINED,
    UnsupportedResult,
    from_jsonata,
    to_jsonata,
)
from sagaway.expressions.scope import Scope

__all__ = [
    "UNDEFINED",
    "InvalidJsonata",
    "JsonataExpression",
    "JsonataTemplate",
    "check_result_type",
    "compile_jsonata",
    "compile_template",
    "is_jsonata_template",
    "template_expression",
]

_OPEN: Final = "{%"
_CLOSE: Final = "%}"

# Arithmetic the library leaves to Python: JavaScript would produce a non-finite number, which
# JSONata reports as D1001.
_NUMERIC_FAILURES: Final = (ZeroDivisionError, OverflowError)


class InvalidJsonata(ValueError):
    """The expression text does not parse; ``code`` is JSONata's error code (``S0203``...)."""

    def __init__(self, expression: str, code: str, message: str) -> None:
        super().__init__(message)
        self.expression = expression
        self.code = code
        self.message = message


def is_jsonata_template(value: Any) -> bool:
    """Whether ``value`` is a ``{% %}`` string: AWS allows no whitespace outside the markers."""
    return (
        isinstance(value, str)
        and len(value) >= len(_OPEN) + len(_CLOSE)
        and value.startswith(_OPEN)
        and value.endswith(_CLOSE)
    )


def template_expression(value: str) -> str:
    """The expression text inside a ``{% %}`` string, trimmed as AWS quotes it in causes."""
    return value[len(_OPEN) : -len(_CLOSE)].strip()


# The library is untyped, so its classes are ``Any`` to mypy.
class _Bindings(_jsonata.Jsonata.Frame):  # type: ignore[misc]
    """The evaluation frame: ``$states`` and variables, converted only when first looked up.

    Converting every variable for every evaluation would cost time proportional to all the data
    in scope; an expression usually reads one or two names.
    """

    def __init__(self, parent: Any, sources: Mapping[str, Any], functions: dict[str, Any]) -> None:
        super().__init__(parent)
        # A workflow variable shadows a function of the same name, as any JSONata binding does.
        self.bindings.update({k: v for k, v in functions.items() if k not in sources})
        self._sources = sources

    def lookup(self, name: str) -> Any:
        if name not in self.bindings and name in self._sources:
            self.bindings[name] = to_jsonata(self._sources[name])
        return super().lookup(name)


class JsonataExpression:
    """One parsed JSONata expression, reusable across evaluations and threads."""

    def __init__(self, text: str) -> None:
        self.text = text
        try:
            self._engine = _jsonata.Jsonata(text, jsonata_regex.compile_pattern)
        except JException as error:
            raise InvalidJsonata(text, error.error, jsonata_messages.render(error)) from error
        except RecursionError:
            raise InvalidJsonata(text, "U1001", f"U1001: {budget.DEPTH_EXCEEDED}") from None
        for name, function in jsonata_functions.static_bindings().items():
            self._engine.environment.bind(name, function)

    def __repr__(self) -> str:
        return f"JsonataExpression({self.text!r})"

    def evaluate(self, states: Mapping[str, Any], scope: Scope, field: str) -> Any:
        """The expression's value as plain JSON, or :data:`UNDEFINED` when it yields nothing."""
        sources: dict[str, Any] = dict(scope.variables)
        sources["states"] = states
        seed = f"{scope.entropy}/{field}"
        frame = _Bindings(
            self._engine.environment, sources, jsonata_functions.scoped_bindings(scope.now, seed)
        )
        raw = self._run(frame, field)
        try:
            return from_jsonata(raw)
        except UnsupportedResult:
            cause = self._cause(field, "returned an unsupported result type.")
            raise QueryEvaluationError(cause) from None

    def evaluate_defined(self, states: Mapping[str, Any], scope: Scope, field: str) -> Any:
        """Like :meth:`evaluate`, but nothing (undefined) fails the field as AWS does."""
        value = self.evaluate(states, scope, field)
        if value is UNDEFINED:
            raise QueryEvaluationError(self._cause(field, "returned nothing (undefined)."))
        return value

    def evaluate_as(
        self, states: Mapping[str, Any], scope: Scope, field: str, expected: str
    ) -> Any:
        """A defined value of the JSON type ``expected`` (see :func:`check_result_type`)."""
        value = self.evaluate_defined(states, scope, field)
        check_result_type(value, expected, self.text, field)
        return value

    def _run(self, frame: _Bindings, field: str) -> Any:
        engine = self._engine
        # The library evaluates through a per-thread "current" instance; point it at ours.
        _jsonata.Jsonata.CURRENT.jsonata = engine
        frame.bind("$", None)
        with budget.metered(lambda reason: self._failure(field, f": {reason}")) as allowance:
            _watch(frame, allowance)
            try:
                return engine.eval(engine.ast, None, frame)
            except JException as error:
                detail = f". {jsonata_messages.render(error)}"
            except jsonata_functions.FunctionFailure as error:
                # AWS joins a message that has no JSONata code with a colon, not a new sentence.
                detail = f": {error}"
            except _NUMERIC_FAILURES:
                detail = f". {jsonata_messages.number_out_of_range('Infinity')}"
            except RecursionError:
                detail = f": {budget.DEPTH_EXCEEDED}"
            if allowance.tripped is not None:
                # The library wraps some exceptions it did not raise: the budget's reason wins.
                detail = f": {allowance.tripped}"
        raise self._failure(field, detail)

    def _failure(self, field: str, detail: str) -> QueryEvaluationError:
        return QueryEvaluationError(self._cause(field, f"threw an error during evaluation{detail}"))

    def _cause(self, field: str, outcome: str) -> str:
        return f"The JSONata expression '{self.text}' specified for the field '{field}' {outcome}"


def _watch(frame: _Bindings, allowance: budget.Budget) -> None:
    """Meter every node the library evaluates in ``frame`` and the frames below it: depth and
    time on entry, the size of each value on exit (a range is a lazy list: its length is known
    before its items exist)."""

    def entry(_expr: Any, _input: Any, env: Any) -> None:
        if not env.is_parallel_call:
            allowance.enter()

    def exit_(_expr: Any, _input: Any, env: Any, result: Any) -> None:
        if not env.is_parallel_call:
            allowance.leave()
        if isinstance(result, str):
            allowance.size(len(result))
        elif isinstance(result, Utils.RangeList):
            allowance.size(8 * (result.b - result.a))
        elif isinstance(result, list | dict):
            allowance.size(8 * len(result))

    frame.bind("__evaluate_entry", entry)
    frame.bind("__evaluate_exit", exit_)


@functools.lru_cache(maxsize=4096)
def compile_jsonata(expr: str) -> JsonataExpression:
    """Parse an expression (the text inside ``{% %}``) once; raises :class:`InvalidJsonata`."""
    return JsonataExpression(expr.strip())


_Node = Callable[[Mapping[str, Any], Scope, str], Any]


@dataclass(frozen=True, slots=True)
class JsonataTemplate:
    """A compiled JSONata-mode field value: literal JSON with ``{% %}`` strings anywhere."""

    value: Any
    _build: _Node

    @property
    def is_constant(self) -> bool:
        """Whether no expression occurs anywhere (the value is returned as a fresh copy)."""
        return not _has_expression(self.value)

    def evaluate(self, states: Mapping[str, Any], scope: Scope, field: str) -> Any:
        """A fresh JSON value; an undefined expression anywhere fails the field."""
        return self._build(states, scope, field)


def compile_template(value: Any) -> JsonataTemplate:
    """Compile every ``{% %}`` string in ``value``; raises :class:`InvalidJsonata`."""
    return JsonataTemplate(value, _compile_node(value))


def _has_expression(value: Any) -> bool:
    if is_jsonata_template(value):
        return True
    if isinstance(value, dict):
        return any(_has_expression(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_expression(item) for item in value)
    return False


def _compile_node(value: Any) -> _Node:
    if is_jsonata_template(value):
        expression = compile_jsonata(template_expression(value))
        return expression.evaluate_defined
    if isinstance(value, dict):
        return _object_node({key: _compile_node(item) for key, item in value.items()})
    if isinstance(value, list):
        return _array_node([_compile_node(item) for item in value])
    return lambda states, scope, field: value


def _object_node(members: dict[str, _Node]) -> _Node:
    def build(states: Mapping[str, Any], scope: Scope, field: str) -> Any:
        return {key: node(states, scope, f"{field}/{key}") for key, node in members.items()}

    return build


def _array_node(items: list[_Node]) -> _Node:
    def build(states: Mapping[str, Any], scope: Scope, field: str) -> Any:
        return [node(states, scope, f"{field}[{index}]") for index, node in enumerate(items)]

    return build
