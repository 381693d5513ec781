"""JSONPath as AWS Step Functions evaluates it (Jayway JsonPath semantics).

A path is compiled once when a definition is parsed (:func:`compile_path`) and applied to a
:class:`~sagaway.expressions.scope.Scope` each time a state runs. Definite paths (no
wildcard, deep scan, filter, slice or union) yield one value or raise :class:`PathNotFound`;
indefinite paths yield the list of matches, possibly empty, exactly like Jayway.

:func:`set_result_path` implements ResultPath: it writes a state's result into a copy of its
input along a reference path, creating the objects on the way.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sagaway.expressions._jsonpath_eval import Missing, select
from sagaway.expressions._jsonpath_parser import InvalidPath, parse_path
from sagaway.expressions._jsonpath_syntax import Field, Index, Segment, is_definite
from sagaway.expressions.budget import metered
from sagaway.expressions.errors import RuntimeFailure, StatesError
from sagaway.expressions.jsontext import dumps
from sagaway.expressions.scope import Scope

__all__ = [
    "InvalidPath",
    "JsonPath",
    "PathNotFound",
    "compile_path",
    "set_result_path",
]


class PathNotFound(Exception):
    """A definite path matched nothing.

    ``path`` is the path as written, ``normalized`` Jayway's normalized spelling of it
    (``$['a'][0]``), and ``message`` Jayway's sentence, which AWS quotes after
    ``Invalid path '<path>' : `` in its causes.
    """

    def __init__(self, path: str, normalized: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.normalized = normalized
        self.message = message


@dataclass(frozen=True, slots=True)
class JsonPath:
    """A compiled JSONPath; ``root`` is ``$``, ``$$`` or ``$name`` (a workflow variable)."""

    text: str
    root: str
    segments: tuple[Segment, ...]

    @property
    def is_definite(self) -> bool:
        return is_definite(self.segments)

    @property
    def normalized(self) -> str:
        """Jayway's normalized spelling, always rooted at ``$`` (the value it was applied to)."""
        return "$" + "".join(s.normalized for s in self.segments)

    @property
    def variable(self) -> str | None:
        """The workflow variable this path reads, if its root is ``$name``."""
        return self.root[1:] if self.root not in ("$", "$$") else None

    def get(self, scope: Scope) -> Any:
        """The value (definite) or list of matches (indefinite) in the matching root."""
        if self.root == "$":
            return self.get_value(scope.input)
        if self.root == "$$":
            return self.get_value(scope.context)
        name = self.root[1:]
        if name not in scope.variables:
            raise PathNotFound(self.text, self.root, f"No variable named '{name}'")
        return self.get_value(scope.variables[name])

    def get_value(self, data: Any) -> Any:
        """Apply the segments to ``data`` as if it were the root."""
        definite = self.is_definite
        try:
            if definite:
                # One value per segment: bounded by the path itself, nothing to meter.
                matches = select(self.segments, data)
            else:
                with metered(self._over_budget):
                    matches = select(self.segments, data)
        except Missing as exc:
            # AWS answers [] when an indefinite path has a missing definite prefix
            # ("$.items[1:]" on {}), so only definite paths report the failure.
            if not definite:
                return []
            raise PathNotFound(self.text, self.normalized, exc.message) from None
        if not definite:
            return matches
        if not matches:
            raise PathNotFound(
                self.text, self.normalized, f"No results for path: {self.normalized}"
            )
        return matches[0]

    def _over_budget(self, reason: str) -> StatesError:
        # States.Runtime: the error AWS reports for a JSONPath it cannot evaluate.
        return RuntimeFailure(f"The JSONPath '{self.text}' was stopped: {reason}")


@lru_cache(maxsize=4096)
def compile_path(text: str) -> JsonPath:
    """Compile ``text``; raise :class:`InvalidPath` when it is not a valid JSONPath."""
    if not isinstance(text, str):
        raise InvalidPath(f"A path must be a string, not {type(text).__name__}")
    try:
        root, segments = parse_path(text)
    except RecursionError:
        raise InvalidPath(f"The path nests too deeply: {text[:80]!r}") from None
    return JsonPath(text, root, segments)


@lru_cache(maxsize=4096)
def compile_reference_path(text: str) -> JsonPath:
    """A reference path (ResultPath): ``$``-rooted, definite, names and indexes only."""
    path = compile_path(text)
    if path.root != "$":
        raise InvalidPath(f"A reference path must start with '$', not {path.root!r}: {text!r}")
    if not all(isinstance(s, Field | Index) for s in path.segments):
        raise InvalidPath(f"A reference path may only name fields and array indexes: {text!r}")
    return path


def set_result_path(data: Any, path: str | None, value: Any) -> Any:
    """ResultPath: ``data`` with ``value`` written at ``path`` (a copy; ``data`` is untouched).

    ``None`` discards the result (the input passes through), ``$`` replaces the input.
    Missing objects on the way are created; stepping through a value that is not an object
    (or an index outside an array) fails with ``States.ResultPathMatchFailure``.
    """
    if path is None:
        return data
    return _assign(data, compile_reference_path(path).segments, value)


def _assign(node: Any, segments: tuple[Segment, ...], value: Any) -> Any:
    if not segments:
        return value
    head, rest = segments[0], segments[1:]
    if isinstance(head, Field):
        if not isinstance(node, dict):
            raise _match_failure(head.name, node)
        copy = dict(node)
        copy[head.name] = _assign(node.get(head.name, {}), rest, value) if rest else value
        return copy
    assert isinstance(head, Index)
    position = head.index + len(node) if isinstance(node, list) and head.index < 0 else head.index
    if not isinstance(node, list) or not 0 <= position < len(node):
        raise _match_failure(f"[{head.index}]", node)
    items = list(node)
    items[position] = _assign(node[position], rest, value)
    return items


def _match_failure(step: str, node: Any) -> StatesError:
    # AWS names the path step it could not take and the JSON it tried to take it in.
    return StatesError(
        "States.ResultPathMatchFailure", f'Unable to apply step "{step}" to input {dumps(node)}'
    )
