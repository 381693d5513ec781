"""Fail: ends its frame with an error and cause (literal, path, intrinsic or JSONata)."""

from __future__ import annotations

from typing import Any

from sagaway.asl.model import State
from sagaway.expressions.exprs import Expr, evaluate
from sagaway.expressions.jsonata_eval import UNDEFINED
from sagaway.interpreter.dataflow import states_var
from sagaway.interpreter.execution import Frame
from sagaway.interpreter.failures import Failure
from sagaway.interpreter.lifecycle import finish_frame
from sagaway.interpreter.run import Run


def enter(run: Run, frame: Frame, state: State) -> None:
    spec = state.spec
    error = _field(run, frame, state, spec.error, "Error") or _path(
        run, frame, spec.error_path, "ErrorPath"
    )
    cause = _field(run, frame, state, spec.cause, "Cause") or _path(
        run, frame, spec.cause_path, "CausePath"
    )
    finish_frame(run, frame, failure=Failure(error, cause))


def _field(run: Run, frame: Frame, state: State, expr: Expr | None, name: str) -> Any:
    if expr is None:
        return None
    states = states_var(run, frame, input=frame.input)
    value = evaluate(expr, run.scope(frame, frame.input), name, states)
    return None if value is UNDEFINED else value


def _path(run: Run, frame: Frame, expr: Expr | None, name: str) -> Any:
    # A path that does not resolve is worded by ``evaluate`` (it names the field).
    return None if expr is None else evaluate(expr, run.scope(frame, frame.input), name)
