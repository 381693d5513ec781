"""The life of a state in a frame: enter, succeed (exit and move on) or fail (retry, catch,
or hand the failure up), and what happens when a frame runs out of states."""

from __future__ import annotations

from typing import Any

from sagaway.asl.model import State
from sagaway.expressions.errors import StatesError
from sagaway.expressions.jsontext import dumps
from sagaway.interpreter import handlers
from sagaway.interpreter.dataflow import evaluate_assign, state_output, states_var
from sagaway.interpreter.execution import DONE, TIMER, Frame
from sagaway.interpreter.failures import Failure, pick_catcher, pick_retrier, retry_delay
from sagaway.interpreter.limits import (
    DATA_LIMIT_EXCEEDED,
    over_limit,
    payload_cause,
    value_over_limit,
)
from sagaway.interpreter.run import Run, event_payload, stable_seed

QUERY_EVALUATION_ERROR = "States.QueryEvaluationError"
RUNTIME = "States.Runtime"


def enter_state(run: Run, frame: Frame) -> None:
    state = run.current(frame)
    frame.entered_count += 1
    frame.attempts = [0] * len(state.retry)
    frame.retry_count = 0
    frame.entered_at = run.now
    frame.data = {}
    details = None
    if run.keeps_history:
        details = {"name": state.name, **event_payload("input", frame.input)}
    frame.entered_id = run.emit(frame, f"{state.type}StateEntered", details)
    guarded(run, frame, state, handlers.enter, frame, state)


def guarded(run: Run, frame: Frame, state: State, step: Any, *args: Any) -> None:
    """Run one step of a state's handler, turning an evaluation error into a state failure
    with AWS's "An error occurred while executing the state ..." wording."""
    try:
        step(run, *args)
    except StatesError as err:
        fail_state(run, frame, state, evaluation_failure(run, frame, state, err))


def evaluation_failure(run: Run, frame: Frame, state: State, err: StatesError) -> Failure:
    cause = (
        f"An error occurred while executing the state '{state.name}' "
        f"(entered at the event id #{frame.entered_id}). {err.cause}"
    )
    failure = Failure(err.error, cause)
    if err.error == QUERY_EVALUATION_ERROR:
        location = getattr(err, "location", None)
        details = {"cause": cause, "error": err.error, "state": state.name}
        if location:
            details["location"] = location
        run.emit(frame, "EvaluationFailed", details, previous=0)
    return failure


def succeed_state(
    run: Run, frame: Frame, state: State, result: Any, assign_value: Any = None
) -> None:
    """The state produced ``result``: compute output and Assign, exit, go to Next/End."""
    try:
        output = state_output(run, frame, state, result)
        assigned = None  # most states have no Assign: no call
        if state.assign is not None:
            assigned = evaluate_assign(
                run,
                frame,
                state.assign,
                result if assign_value is None else assign_value,
                input=frame.input,
                result=result,
            )
    except StatesError as err:
        fail_state(run, frame, state, evaluation_failure(run, frame, state, err))
        return
    exit_state(run, frame, state, output, assigned, state.next, state.end)


def exit_state(
    run: Run,
    frame: Frame,
    state: State,
    output: Any,
    assigned: dict[str, Any] | None,
    next_state: str | None,
    end: bool,
    *,
    caught: bool = False,
) -> None:
    details: dict[str, Any] | None = None
    if run.keeps_history:
        details = {"name": state.name, **event_payload("output", output)}
        oversized = over_limit(details["output"], run.limits.payload_bytes)
    else:
        oversized = value_over_limit(output, run.limits.payload_bytes)
    if oversized:
        # AWS: a state's output is held to the payload quota. The failure can be caught,
        # but an oversized output of a Catch fails the frame (it would only recur).
        failure = Failure(DATA_LIMIT_EXCEEDED, payload_cause(state.name, "returned a result"))
        if caught:
            finish_frame(run, frame, failure=failure)
        else:
            fail_state(run, frame, state, failure)
        return
    if assigned is not None:
        frame.variables.update(assigned)
    if assigned is not None and details is not None:
        details["assignedVariables"] = {k: dumps(v) for k, v in assigned.items()}
        details["assignedVariablesDetails"] = {"truncated": False}
    run.emit(frame, f"{state.type}StateExited", details)
    if end or next_state is None:
        finish_frame(run, frame, output=output)
        return
    frame.state = next_state
    frame.input = output
    run.schedule(frame)


def fail_state(run: Run, frame: Frame, state: State, failure: Failure) -> None:
    """Retry if a retrier matches and has attempts left, else Catch, else fail the frame."""
    if failure.error != RUNTIME and try_retry(run, frame, state, failure):
        return
    catchable = failure.error != RUNTIME
    catcher = pick_catcher(state.catch, failure.error, failure.heartbeat) if catchable else None
    if failure.error != RUNTIME:
        # Map and Parallel record their own "state failed" event before the frame fails.
        handlers.on_failure(run, frame, state, failure, caught=catcher is not None)
    if catcher is None:
        finish_frame(run, frame, failure=failure)
        return
    error_output = failure.as_output()
    try:
        output, assigned = _catch_output(run, frame, state, catcher, error_output)
    except StatesError as err:
        failure = evaluation_failure(run, frame, state, err)
        finish_frame(run, frame, failure=failure)
        return
    exit_state(run, frame, state, output, assigned, catcher.next, False, caught=True)


def _catch_output(
    run: Run, frame: Frame, state: State, catcher: Any, error_output: dict[str, str | None]
) -> tuple[Any, dict[str, Any] | None]:
    from sagaway.expressions.exprs import evaluate
    from sagaway.expressions.jsonpath import set_result_path

    assigned = evaluate_assign(
        run, frame, catcher.assign, error_output, input=frame.input, errorOutput=error_output
    )
    if state.is_jsonata:
        if catcher.output is None:
            return error_output, assigned
        states = states_var(run, frame, input=frame.input, errorOutput=error_output)
        scope = run.scope(frame, frame.input)
        return evaluate(catcher.output, scope, "Output", states), assigned
    return set_result_path(frame.input, catcher.result_path, error_output), assigned


def try_retry(run: Run, frame: Frame, state: State, failure: Failure) -> bool:
    index = pick_retrier(state.retry, failure.error, failure.heartbeat)
    if index is None:
        return False
    retrier = state.retry[index]
    attempt = frame.attempts[index]
    if attempt >= retrier.max_attempts:
        return False
    frame.attempts[index] = attempt + 1
    frame.retry_count += 1
    delay = retry_delay(retrier, attempt, stable_seed(run.state.seed, frame.id, frame.retry_count))
    token = f"{frame.id}@{frame.entered_count}.retry{frame.retry_count}"
    frame.phase = TIMER
    frame.token = token
    frame.data["retrying"] = True
    run.start_timer(frame, token, run.now + delay)
    return True


def finish_frame(
    run: Run, frame: Frame, output: Any = None, failure: Failure | None = None
) -> None:
    """The frame has no more states to run: report to its parent or end the execution."""
    frame.phase = DONE
    frame.output = output
    frame.failure = None if failure is None else (failure.error, failure.cause)
    if frame.parent is None:
        end_execution(run, frame, output, failure)
    else:
        parent = run.frame(frame.parent)
        parent_state = run.current(parent)
        guarded(run, parent, parent_state, handlers.on_child_done, parent, parent_state, frame)


def end_execution(run: Run, frame: Frame, output: Any, failure: Failure | None) -> None:
    from sagaway.interpreter.execution import FAILED, SUCCEEDED

    if failure is None:
        run.state.status = SUCCEEDED
        run.state.output = output
        succeeded = event_payload("output", output) if run.keeps_history else None
        run.emit(frame, "ExecutionSucceeded", succeeded)
        return
    run.state.status = FAILED
    run.state.error, run.state.cause = failure.error, failure.cause
    details = {}
    if failure.error is not None:
        details["error"] = failure.error
    if failure.cause is not None:
        details["cause"] = failure.cause
    run.emit(frame, "ExecutionFailed", details)
