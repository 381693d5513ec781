"""Apply parsed JSONPath segments to a JSON value the way Jayway JsonPath does.

AWS evaluates paths with Jayway's default options, and its error messages are Jayway's:
while the path so far is definite, a missing intermediate property is an error
(``Missing property in path $['a']``); a missing leaf simply yields no result, which the
caller turns into ``No results for path: $['a']['b']`` for a definite path. Once a wildcard,
deep scan, slice, union or filter has been crossed, anything missing is silently skipped.
"""

from __future__ import annotations

from typing import Any

from sagaway.expressions import budget
from sagaway.expressions._jsonpath_filter import FilterExpr
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
    is_definite,
    merges_properties,
)
from sagaway.expressions.jsontext import dumps


class Missing(Exception):
    """Jayway's PathNotFoundException: ``message`` is its text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def select(segments: tuple[Segment, ...], value: Any, *, strict: bool = True) -> list[Any]:
    """Every match of ``segments`` in ``value``, in document order.

    ``strict`` gives Jayway's top-level behaviour (errors while the path is definite);
    filter operands use ``strict=False`` because Jayway treats their failures as "absent".
    """
    if segments and isinstance(segments[-1], Length):
        return [_length(segments[:-1], value, strict)]
    walk = _Walk(value, strict)
    walk.step(segments, 0, value, "$", strict)
    return walk.out


def _length(segments: tuple[Segment, ...], value: Any, strict: bool) -> Any:
    matches = select(segments, value, strict=strict)
    if not _is_definite(segments):
        return len(matches)
    if not matches:
        raise Missing("No results for path: $" + "".join(s.normalized for s in segments))
    target = matches[0]
    if isinstance(target, list | dict | str):
        return len(target)
    raise Missing(f"Aggregation function attempted to calculate value using empty array: {target}")


def _is_definite(segments: tuple[Segment, ...]) -> bool:
    return is_definite(segments)


class _Walk:
    def __init__(self, root: Any, strict: bool) -> None:
        self.root = root
        self.strict = strict
        self.out: list[Any] = []
        # Filters evaluate paths per element, so a walk's work can be quadratic in its input.
        self.allowance = budget.current()

    def step(self, segs: tuple[Segment, ...], i: int, node: Any, path: str, definite: bool) -> None:
        self.allowance.tick()
        if i == len(segs):
            self.out.append(node)
            return
        seg = segs[i]
        if isinstance(seg, Field):
            self.field(segs, i, seg, node, path, definite)
        elif isinstance(seg, Index):
            self.index(segs, i, seg, node, path, definite)
        elif isinstance(seg, DeepScan):
            for child_path, child in _descendants(node, path):
                self.step(segs, i + 1, child, child_path, False)
        elif isinstance(seg, Filter):
            self.filter(segs, i, seg.expr, node, path)
        elif merges_properties(seg, i == len(segs) - 1) and isinstance(node, dict):
            assert isinstance(seg, Union_)
            self.out.append({k: node[k] for k in seg.keys if isinstance(k, str) and k in node})
        else:
            for child_path, child in _children(seg, node, path):
                self.step(segs, i + 1, child, child_path, False)

    def field(
        self, segs: tuple[Segment, ...], i: int, seg: Field, node: Any, path: str, definite: bool
    ) -> None:
        if not isinstance(node, dict):
            if definite:
                raise Missing(
                    f"Expected to find an object with property {seg.normalized} in path {path} "
                    f"but found '{_java_class(node)}'. This is not a json object according to "
                    "the JsonProvider: 'com.jayway.jsonpath.spi.json.JsonSmartJsonProvider'."
                )
            return
        child_path = path + seg.normalized
        if seg.name not in node:
            if i < len(segs) - 1 and definite:
                raise Missing(f"Missing property in path {child_path}")
            return
        self.step(segs, i + 1, node[seg.name], child_path, definite)

    def index(
        self, segs: tuple[Segment, ...], i: int, seg: Index, node: Any, path: str, definite: bool
    ) -> None:
        if not isinstance(node, list):
            if definite and node is None:
                raise Missing(f"The path {path} is null")
            if definite:
                raise Missing(
                    f"Filter: {seg.normalized} can only be applied to arrays. "
                    f"Current context is: {dumps(node)}"
                )
            return
        position = seg.index + len(node) if seg.index < 0 else seg.index
        if 0 <= position < len(node):
            self.step(segs, i + 1, node[position], path + seg.normalized, definite)

    def filter(
        self, segs: tuple[Segment, ...], i: int, expr: FilterExpr, node: Any, path: str
    ) -> None:
        def operand(segments: tuple[Segment, ...], value: Any) -> list[Any]:
            return select(segments, value, strict=False)

        if isinstance(node, dict):
            if expr.holds(node, self.root, operand):
                self.step(segs, i + 1, node, path, False)
            return
        if isinstance(node, list):
            for position, item in enumerate(node):
                if expr.holds(item, self.root, operand):
                    self.step(segs, i + 1, item, f"{path}[{position}]", False)


def _children(seg: Segment, node: Any, path: str) -> list[tuple[str, Any]]:
    """Matches of the multi-valued segments (wildcard, union, slice) directly under ``node``."""
    if isinstance(node, dict):
        if isinstance(seg, Wildcard):
            return [(f"{path}['{k}']", v) for k, v in node.items()]
        if isinstance(seg, Union_):
            return [
                (f"{path}['{k}']", node[k]) for k in seg.keys if isinstance(k, str) and k in node
            ]
        return []
    if not isinstance(node, list):
        return []
    positions: list[int] = []
    if isinstance(seg, Wildcard):
        positions = list(range(len(node)))
    elif isinstance(seg, Union_):
        positions = [k + len(node) if k < 0 else k for k in seg.keys if isinstance(k, int)]
    elif isinstance(seg, Slice):
        positions = list(range(len(node)))[seg.start : seg.end]
    return [(f"{path}[{p}]", node[p]) for p in positions if 0 <= p < len(node)]


def _descendants(node: Any, path: str) -> list[tuple[str, Any]]:
    """The node and all nodes below it, pre-order, as Jayway's deep scan visits them."""
    found = [(path, node)]
    if isinstance(node, dict):
        for key, child in node.items():
            found.extend(_descendants(child, f"{path}['{key}']"))
    elif isinstance(node, list):
        for position, child in enumerate(node):
            found.extend(_descendants(child, f"{path}[{position}]"))
    return found


def _java_class(value: Any) -> str:
    """The Java class Jayway names in its "not a json object" message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "java.lang.Boolean"
    if isinstance(value, int):
        return "java.lang.Integer"
    if isinstance(value, float):
        return "java.lang.Double"
    if isinstance(value, str):
        return "java.lang.String"
    return "net.minidev.json.JSONArray"
