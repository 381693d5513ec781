"""Wait: pauses its frame for a number of seconds or until a timestamp (a durable timer)."""

from __future__ import annotations

import math
from typing import Any

from sagaway.asl.model import State
from sagaway.expressions.errors import QueryEvaluationError, RuntimeFailure
from sagaway.expressions.exprs import evaluate
from sagaway.expressions.jsonpath import PathNotFound, compile_path
from sagaway.interpreter.comparisons import is_number, parse_timestamp
from sagaway.interpreter.dataflow import passthrough_output, select_path, states_var
from sagaway.interpreter.execution import TIMER, Frame
from sagaway.interpreter.lifecycle import exit_state
from sagaway.interpreter.run import Run

# AWS rejects waits longer than a year (the maximum execution duration).
MAX_WAIT_SECONDS = 366 * 24 * 3600


def enter(run: Run, frame: Frame, state: State) -> None:
    fire_at = _fire_at(run, frame, state)
    if fire_at - run.now > MAX_WAIT_SECONDS:
        raise RuntimeFailure("Wait state delay is too long.")
    token = f"{frame.id}@{frame.entered_count}.wait"
    frame.phase = TIMER
    frame.token = token
    run.start_timer(frame, token, fire_at)


def on_timer(run: Run, frame: Frame, state: State) -> None:
    output = passthrough_output(run, frame, state)
    exit_state(run, frame, state, output, None, state.next, state.end)


def _fire_at(run: Run, frame: Frame, state: State) -> float:
    spec = state.spec
    if spec.seconds is not None:
        seconds = _jsonata_or_literal(run, frame, state, spec.seconds, "Seconds")
        return run.now + _as_seconds(seconds, state)
    if spec.timestamp is not None:
        stamp = _jsonata_or_literal(run, frame, state, spec.timestamp, "Timestamp")
        return _as_epoch(stamp, state)
    selected = select_path(run, frame, state.input_path, frame.input)
    scope = run.scope(frame, selected)
    if spec.seconds_path is not None:
        value = _lookup(spec.seconds_path, scope, "SecondsPath")
        if not _is_long(value):
            raise RuntimeFailure(
                f"The SecondsPath parameter cannot be parsed as a long value: "
                f"{spec.seconds_path} == {_text(value)}"
            )
        return run.now + int(value)
    value = _lookup(spec.timestamp_path, scope, "TimestampPath")
    moment = _wait_timestamp(value)
    if moment is None:
        raise RuntimeFailure(
            "The TimestampPath parameter does not reference a valid ISO-8601 extended offset "
            f"date-time format string: {spec.timestamp_path} == {_text(value)}"
        )
    return _whole_seconds(moment.timestamp())


def _is_long(value: Any) -> bool:
    # "parsed as a long value": an integer that fits Java's 64-bit long.
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63


def _jsonata_or_literal(run: Run, frame: Frame, state: State, expr: Any, field: str) -> Any:
    states = states_var(run, frame, input=frame.input)
    return evaluate(expr, run.scope(frame, frame.input), field, states)


def _as_seconds(value: Any, state: State) -> float:
    if not is_number(value) or (isinstance(value, float) and not value.is_integer()):
        raise QueryEvaluationError(
            f"The Seconds field cannot be parsed as a long value: {_text(value)}"
        )
    return float(value)


def _as_epoch(value: Any, state: State) -> float:
    moment = _wait_timestamp(value)
    if moment is None:
        raise QueryEvaluationError(
            "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time "
            f"format string: {value if isinstance(value, str) else _text(value)}"
        )
    return _whole_seconds(moment.timestamp())


def _wait_timestamp(value: Any) -> Any:
    # A Wait's timestamp needs an uppercase T and Z (RFC 3339 would also allow lowercase).
    if isinstance(value, str) and (value[10:11] != "T" or value.endswith("z")):
        return None
    return parse_timestamp(value)


def _whole_seconds(epoch: float) -> float:
    # AWS "considers the time value up to seconds and truncates milliseconds".
    return float(math.floor(epoch))


def _lookup(path: str | None, scope: Any, field: str) -> Any:
    try:
        return compile_path(path or "$").get(scope)
    except PathNotFound as missing:
        raise RuntimeFailure(
            f"The {field} parameter does not reference an input value: {path}"
        ) from missing


def _text(value: Any) -> str:
    from sagaway.expressions.jsontext import dumps

    return value if isinstance(value, str) else dumps(value)
