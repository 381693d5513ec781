"""How data moves through a state: InputPath/Parameters/ResultSelector/ResultPath/OutputPath
in JSONPath mode, Arguments/Output in JSONata mode, and Assign in both.

Each function takes the raw value and returns the processed one, raising
:class:`StatesError` with AWS's wording when a path does not resolve.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sagaway.asl.model import State
from sagaway.expressions.errors import RuntimeFailure, StatesError
from sagaway.expressions.exprs import Expr, evaluate
from sagaway.expressions.jsonata_eval import UNDEFINED
from sagaway.expressions.jsonpath import PathNotFound, compile_path, set_result_path
from sagaway.interpreter.execution import Frame
from sagaway.interpreter.limits import DATA_LIMIT_EXCEEDED, over_limit, payload_cause
from sagaway.interpreter.run import Run
from sagaway.interpreter.texts import text_of


def invalid_path(path: str, missing: PathNotFound) -> RuntimeFailure:
    """AWS's cause for a path field that selects nothing (it quotes Jayway's sentence)."""
    return RuntimeFailure(f"Invalid path '{path}' : {missing.message}")


def select_path(run: Run, frame: Frame, path: str | None, value: Any) -> Any:
    """InputPath / OutputPath: ``null`` selects ``{}``; a missing path is States.Runtime."""
    if path is None:
        return {}
    if path == "$":
        return value
    try:
        return compile_path(path).get(run.scope(frame, value))
    except PathNotFound as missing:
        raise invalid_path(path, missing) from missing


def states_var(run: Run, frame: Frame, **entries: Any) -> dict[str, Any]:
    """JSONata's ``$states``: input, context, and result / errorOutput where they exist."""
    states = {"context": run.context_object(frame)}
    states.update({k: v for k, v in entries.items() if v is not UNDEFINED})
    return states


def effective_input(run: Run, frame: Frame, state: State) -> Any:
    """The value a Task sends, a Pass passes on, a Map iterates: after InputPath+Parameters
    (JSONPath) or Arguments (JSONata)."""
    if state.is_jsonata:
        if state.parameters is None:
            return frame.input
        states = states_var(run, frame, input=frame.input)
        value = _defined(
            evaluate(state.parameters, run.scope(frame, frame.input), "Arguments", states)
        )
        return _within_limit(run, state, value)
    path = state.input_path  # "$" (the default) selects the whole input: no call
    selected = frame.input if path == "$" else select_path(run, frame, path, frame.input)
    if state.parameters is None:
        return selected  # a part of the input, which was within the limit
    value = evaluate(state.parameters, run.scope(frame, selected), "Parameters")
    return _within_limit(run, state, value)


def _within_limit(run: Run, state: State, value: Any) -> Any:
    # AWS: the input of a state after Parameters processing is held to the payload quota.
    if over_limit(text_of(value), run.limits.payload_bytes):
        cause = payload_cause(state.name, "has an input")
        raise StatesError(DATA_LIMIT_EXCEEDED, cause)
    return value


def state_output(run: Run, frame: Frame, state: State, result: Any) -> Any:
    """The state's output from its result (ResultSelector, ResultPath, OutputPath / Output)."""
    if state.is_jsonata:
        if state.output is None:
            return result
        states = states_var(run, frame, input=frame.input, result=result)
        return _defined(evaluate(state.output, run.scope(frame, frame.input), "Output", states))
    if state.result_selector is not None:
        result = evaluate(state.result_selector, run.scope(frame, result), "ResultSelector")
    combined = set_result_path(frame.input, state.result_path, result)
    path = state.output_path  # "$" (the default) keeps it whole: no call
    return combined if path == "$" else select_path(run, frame, path, combined)


def passthrough_output(run: Run, frame: Frame, state: State) -> Any:
    """Output of a state without a result of its own (Succeed, Wait): InputPath then
    OutputPath, or Output in JSONata."""
    if state.is_jsonata:
        return state_output(run, frame, state, frame.input)
    selected = select_path(run, frame, state.input_path, frame.input)
    return select_path(run, frame, state.output_path, selected)


def evaluate_assign(
    run: Run, frame: Frame, assign: Expr | None, value: Any, **states_entries: Any
) -> dict[str, Any] | None:
    """Assign's new bindings (not yet applied: AWS evaluates Assign and Output against the
    variables as they were when the state started)."""
    if assign is None:
        return None
    scope = run.scope(frame, value)
    if assign.kind == "jsonata":
        states = states_var(run, frame, **states_entries)
        bound = evaluate(assign, scope, "Assign", states)
    else:
        bound = evaluate(assign, scope, "Assign")
    return dict(bound) if isinstance(bound, Mapping) else {}


def _defined(value: Any) -> Any:
    return None if value is UNDEFINED else value
