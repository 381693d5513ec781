"""Task: asks the engine to call a resource and continues with what it returns."""

from __future__ import annotations

from typing import Any

from sagaway.asl.model import State
from sagaway.expressions.exprs import Expr, evaluate
from sagaway.expressions.jsonpath import PathNotFound
from sagaway.expressions.jsontext import dumps
from sagaway.interpreter.dataflow import effective_input, invalid_path, states_var
from sagaway.interpreter.execution import TASK, Frame, task_token
from sagaway.interpreter.failures import HEARTBEAT_TIMEOUT, TIMEOUT, Failure
from sagaway.interpreter.lifecycle import fail_state, succeed_state
from sagaway.interpreter.messages import InvokeTask, TaskFailed, TaskSucceeded, TaskTimedOut
from sagaway.interpreter.resources import ACTIVITY, LAMBDA, ResourceRef, parse_resource
from sagaway.interpreter.run import Run, event_payload


def enter(run: Run, frame: Frame, state: State) -> None:
    # Most Tasks have neither field: no call to evaluate nothing.
    timeout, heartbeat = state.spec.timeout_seconds, state.spec.heartbeat_seconds
    frame.data["timeout"] = (
        None if timeout is None else _seconds(run, frame, state, timeout, "TimeoutSeconds")
    )
    frame.data["heartbeat"] = (
        None if heartbeat is None else _seconds(run, frame, state, heartbeat, "HeartbeatSeconds")
    )
    execute(run, frame, state)


def execute(run: Run, frame: Frame, state: State) -> None:
    """Schedule one attempt (the first, or a retry after its interval)."""
    ref = parse_resource(state.spec.resource)
    token = f"{frame.id}@{frame.entered_count}#{frame.retry_count}"
    if ref.family != LAMBDA and (ref.waits_for_token or ref.runs_sync):  # never a function ARN
        # $$.Task.Token exists while the Task runs, so Parameters can hand it on (a .sync
        # Task's too: AWS lets SendTaskSuccess on it end the Task before the job does).
        frame.context_extra["Task"] = {"Token": task_token(run.state, token)}
    # Parameters are evaluated for every attempt: $$.State.RetryCount changes between them.
    frame.effective = effective_input(run, frame, state)
    frame.phase = TASK
    frame.token = token
    run.state.tokens[token] = frame.id
    _emit_scheduled(run, frame, ref, frame.effective, frame.data)
    run.commands.append(invoke_command(run, frame, state, token))


def invoke_command(run: Run, frame: Frame, state: State, token: str) -> InvokeTask:
    """The InvokeTask for the attempt ``frame`` waits on (also used to re-derive it)."""
    return InvokeTask(
        token=token,
        state_name=state.name,
        resource=state.spec.resource,
        payload=frame.effective,
        timeout_seconds=frame.data.get("timeout"),
        heartbeat_seconds=frame.data.get("heartbeat"),
        context=run.context_object(frame),
    )


def on_task(run: Run, frame: Frame, state: State, event: Any) -> None:
    ref = parse_resource(state.spec.resource)
    frame.token = None
    frame.context_extra.pop("Task", None)
    if isinstance(event, TaskSucceeded):
        output = event_payload("output", event.output) if run.keeps_history else None
        _emit_outcome(run, frame, ref, "Succeeded", output)
        succeed_state(run, frame, state, event.output)
        return
    if isinstance(event, TaskTimedOut):
        heartbeat = event.error == HEARTBEAT_TIMEOUT
        error = TIMEOUT if heartbeat else event.error  # see failures.HEARTBEAT_TIMEOUT
        _emit_outcome(run, frame, ref, "TimedOut", _error_details(error, event.cause))
        fail_state(run, frame, state, Failure(error, event.cause, heartbeat, timed_out=True))
        return
    assert isinstance(event, TaskFailed)
    _emit_outcome(run, frame, ref, "Failed", _error_details(event.error, event.cause))
    fail_state(run, frame, state, Failure(event.error, event.cause))


def _emit_scheduled(
    run: Run, frame: Frame, ref: ResourceRef, payload: Any, data: dict[str, Any]
) -> None:
    if not run.keeps_history:  # the same events, counted but not built
        first, second = _SCHEDULED.get(ref.family, ("TaskScheduled", "TaskStarted"))
        run.emit(frame, first)
        if second is not None:
            run.emit(frame, second)
        return
    timing = {}
    if data.get("timeout") is not None:
        timing["timeoutInSeconds"] = data["timeout"]
    if data.get("heartbeat") is not None:
        timing["heartbeatInSeconds"] = data["heartbeat"]
    if ref.family == LAMBDA:
        details = {"resource": ref.arn, **event_payload("input", payload), **timing}
        run.emit(frame, "LambdaFunctionScheduled", details)
        run.emit(frame, "LambdaFunctionStarted")
    elif ref.family == ACTIVITY:
        details = {"resource": ref.arn, **event_payload("input", payload), **timing}
        run.emit(frame, "ActivityScheduled", details)
    else:
        details = {
            "resourceType": ref.resource_type,
            "resource": ref.resource,
            "region": ref.region,
            "parameters": dumps(payload),
            **timing,
        }
        run.emit(frame, "TaskScheduled", details)
        run.emit(frame, "TaskStarted", _service(ref))


# The events that schedule and start an attempt, by resource family (the rest: Task*).
_SCHEDULED: dict[str, tuple[str, str | None]] = {
    LAMBDA: ("LambdaFunctionScheduled", "LambdaFunctionStarted"),
    ACTIVITY: ("ActivityScheduled", None),
}


# The outcome events' prefix, by resource family (the rest: Task*).
_PREFIXES: dict[str, str] = {LAMBDA: "LambdaFunction", ACTIVITY: "Activity"}


def _emit_outcome(
    run: Run, frame: Frame, ref: ResourceRef, outcome: str, details: dict[str, Any] | None
) -> None:
    if details is None:  # no history is kept: count the event only
        run.emit(frame, _PREFIXES.get(ref.family, "Task") + outcome)
        return
    if ref.family == LAMBDA:
        run.emit(frame, f"LambdaFunction{outcome}", details)
    elif ref.family == ACTIVITY:
        run.emit(frame, f"Activity{outcome}", details)
    else:
        run.emit(frame, f"Task{outcome}", {**details, **_service(ref)})


def _service(ref: ResourceRef) -> dict[str, Any]:
    return {"resourceType": ref.resource_type, "resource": ref.resource}


def _error_details(error: str | None, cause: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if error is not None:
        details["error"] = error
    if cause is not None:
        details["cause"] = cause
    return details


def _seconds(run: Run, frame: Frame, state: State, expr: Expr | None, field: str) -> Any:
    if expr is None:
        return None
    if expr.kind == "path":
        try:
            return expr.compiled.get(run.scope(frame, frame.input))
        except PathNotFound as missing:
            raise invalid_path(expr.raw, missing) from missing
    states = states_var(run, frame, input=frame.input)
    return evaluate(expr, run.scope(frame, frame.input), field, states)


def on_failure(run: Run, frame: Frame, state: State, failure: Failure, caught: bool) -> None:
    # AWS records a Task whose failure ends a Parallel branch as aborted (the branch is
    # torn down with the Parallel state); a Map iteration or the top level records nothing.
    parent = run.state.frames.get(frame.parent) if frame.parent else None
    if not caught and parent is not None and run.current(parent).type == "Parallel":
        run.emit(frame, "TaskStateAborted")
