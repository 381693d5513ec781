"""Evaluating a Map state's configuration: its items, batches, concurrency and tolerance."""

from __future__ import annotations

from typing import Any

from sagaway.asl.model import MapSpec, State
from sagaway.expressions.errors import QueryEvaluationError, RuntimeFailure
from sagaway.expressions.exprs import Expr, evaluate
from sagaway.expressions.jsonata_eval import UNDEFINED
from sagaway.expressions.jsonata_results import json_type
from sagaway.expressions.jsonpath import PathNotFound, compile_path
from sagaway.expressions.jsontext import dumps
from sagaway.interpreter.comparisons import is_number
from sagaway.interpreter.dataflow import invalid_path, select_path, states_var
from sagaway.interpreter.execution import Frame
from sagaway.interpreter.run import Run


def map_items(run: Run, frame: Frame, state: State) -> tuple[list[Any], Any]:
    """The list to iterate and the value ItemSelector sees as ``$`` (the Map's input)."""
    spec: MapSpec = state.spec
    if state.is_jsonata:
        if spec.items is None:
            items = frame.input
            if not isinstance(items, list):
                raise QueryEvaluationError(
                    f"Map state input must be an array but was: {dumps(items)}"
                )
            return items, frame.input
        states = states_var(run, frame, input=frame.input)
        items = evaluate(spec.items, run.scope(frame, frame.input), "Items", states)
        _require_array(spec.items, items)
        return items, frame.input
    selected = select_path(run, frame, state.input_path, frame.input)
    items = select_path(run, frame, spec.items_path, selected)
    if not isinstance(items, list):
        raise RuntimeFailure(
            f"Invalid path '{spec.items_path}': Map state input must be an array but was: "
            f"{dumps(items)}"
        )
    return items, selected


def _require_array(expr: Expr, value: Any) -> None:
    if isinstance(value, list):
        return
    text = _inner(expr.raw)
    if callable(value) or (value is not UNDEFINED and type(value).__name__.endswith("Function")):
        raise QueryEvaluationError(
            f"The JSONata expression '{text}' specified for the field 'Items' returned an "
            "unsupported result type."
        )
    raise QueryEvaluationError(
        f"The JSONata expression '{text}' specified for the field 'Items' returned an "
        f"unexpected result type. Expected 'array', but was '{json_type(value)}' for value: "
        f"{dumps(value)}"
    )


def _inner(raw: Any) -> str:
    text = str(raw).strip()
    return text[2:-2].strip() if text.startswith("{%") else text


def integer_setting(
    run: Run, frame: Frame, state: State, expr: Expr | None, path: str | None, name: str
) -> int | None:
    """MaxConcurrency / ToleratedFailureCount from a literal, JSONata or a ``*Path``."""
    value = _numeric_setting(run, frame, expr, path, name, int, "integer")
    return None if value is None else int(value)


def float_setting(
    run: Run, frame: Frame, state: State, expr: Expr | None, path: str | None, name: str
) -> float | None:
    """ToleratedFailurePercentage from a literal, JSONata or a ``*Path``."""
    value = _numeric_setting(run, frame, expr, path, name, float, "float")
    return None if value is None else float(value)


def _numeric_setting(
    run: Run,
    frame: Frame,
    expr: Expr | None,
    path: str | None,
    name: str,
    kind: type,
    kind_name: str,
) -> float | None:
    if expr is not None:
        states = states_var(run, frame, input=frame.input)
        value = evaluate(expr, run.scope(frame, frame.input), name, states)
        return kind(value) if is_number(value) else None
    if path is None:
        return None
    value = _coerce(_path_value(run, frame, path, name), kind)
    valid = is_number(value) and (kind is float or isinstance(value, int))
    if not valid:
        raise RuntimeFailure(
            f'The {name}Path field refers to value "{_plain(value)}" which is not a valid '
            f"{kind_name}: {path}"
        )
    return value  # type: ignore[no-any-return]


def _coerce(value: Any, kind: type) -> Any:
    """AWS reads these settings as numbers even when the path yields numeric text ("1")."""
    if isinstance(value, str):
        try:
            return kind(value.strip())
        except ValueError:
            return value
    return value


def _path_value(run: Run, frame: Frame, path: str, name: str) -> Any:
    try:
        return compile_path(path).get(run.scope(frame, frame.input))
    except PathNotFound as missing:
        raise invalid_path(path, missing) from missing


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else dumps(value)


def tolerance(run: Run, frame: Frame, state: State) -> tuple[int | None, float | None]:
    spec: MapSpec = state.spec
    count = integer_setting(
        run,
        frame,
        state,
        spec.tolerated_failure_count,
        spec.tolerated_failure_count_path,
        "ToleratedFailureCount",
    )
    percentage = float_setting(
        run,
        frame,
        state,
        spec.tolerated_failure_percentage,
        spec.tolerated_failure_percentage_path,
        "ToleratedFailurePercentage",
    )
    if count is not None and count < 0:
        raise RuntimeFailure("ToleratedFailureCount cannot be negative.")
    if percentage is not None and not 0 <= percentage <= 100:
        raise RuntimeFailure("ToleratedFailurePercentage must be between 0 and 100.")
    return count, percentage


def batches(run: Run, frame: Frame, state: State, items: list[Any]) -> list[Any]:
    """ItemBatcher: group items into ``{"Items": [...], "BatchInput": ...}`` objects."""
    batcher = state.spec.item_batcher
    if batcher is None:
        return items
    scope = run.scope(frame, frame.input)
    size = batcher.get("MaxItemsPerBatch")
    if "MaxItemsPerBatchPath" in batcher:
        size = compile_path(batcher["MaxItemsPerBatchPath"]).get(scope)
    size = int(size) if is_number(size) else len(items) or 1
    out: list[Any] = []
    for start in range(0, len(items), max(size, 1)):
        batch: dict[str, Any] = {"Items": items[start : start + size]}
        if "BatchInput" in batcher:
            batch["BatchInput"] = batcher["BatchInput"]
        out.append(batch)
    return out
