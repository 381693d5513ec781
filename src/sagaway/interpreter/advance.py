"""``advance``: the interpreter's single entry point.

``advance(machine, state, event, now) -> Step`` is a pure function: it reads no clock,
performs no I/O, sleeps never and draws randomness only from seeds kept in the state. The
engine journals each returned Step atomically and carries out its commands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sagaway.asl.model import Machine
from sagaway.interpreter import handlers
from sagaway.interpreter.children import abort_frame
from sagaway.interpreter.execution import (
    ABORTED,
    DONE,
    READY,
    RUNNING,
    TIMED_OUT,
    ExecutionState,
    Frame,
)
from sagaway.interpreter.lifecycle import enter_state, guarded
from sagaway.interpreter.messages import (
    Command,
    Event,
    Start,
    Stop,
    TaskFailed,
    TaskSucceeded,
    TaskTimedOut,
    TimerFired,
)
from sagaway.interpreter.run import Run, event_payload, iso_time

EXECUTION_TIMEOUT_TOKEN = "execution.timeout"


@dataclass(frozen=True, slots=True)
class Step:
    """What one event did: the new state, the work to start, the history to append."""

    state: ExecutionState
    commands: list[Command]
    history: list[dict[str, Any]]


def advance(machine: Machine, state: ExecutionState, event: Event, now: float) -> Step:
    run = Run(machine, state.clone(), now)
    _apply(run, event)
    drain(run)
    return Step(run.state, run.commands, run.history)


def _apply(run: Run, event: Event) -> None:
    if isinstance(event, Start):
        _start(run, event)
    elif isinstance(event, Stop):
        _stop(run, event)
    elif run.state.status == RUNNING:
        _resume(run, event)


def _start(run: Run, event: Start) -> None:
    execution = run.state.execution
    execution["Input"] = event.input
    execution["StartTime"] = iso_time(run.now)
    root = Frame(
        id="root",
        program="",
        parent=None,
        index=0,
        state=run.machine.root.start_at,
        input=event.input,
    )
    run.state.frames[root.id] = root
    details = {**event_payload("input", event.input), "roleArn": execution["RoleArn"]}
    run.emit(root, "ExecutionStarted", details, previous=0)
    root.last_id = 0  # AWS: the first state's previousEventId is 0
    run.schedule(root)
    if run.machine.timeout_seconds is not None:
        fire_at = run.now + run.machine.timeout_seconds
        run.start_timer(root, EXECUTION_TIMEOUT_TOKEN, fire_at)


def _resume(run: Run, event: Event) -> None:
    assert isinstance(event, TaskSucceeded | TaskFailed | TaskTimedOut | TimerFired)
    fid = run.state.tokens.pop(event.token, None)
    run.state.timers.pop(event.token, None)
    if fid is None:
        return  # a stale token: the attempt was aborted or already answered
    if event.token == EXECUTION_TIMEOUT_TOKEN:
        _timed_out(run)
        return
    frame = run.frame(fid)
    frame.token = None
    state = run.current(frame)
    if isinstance(event, TimerFired):
        guarded(run, frame, state, handlers.on_timer, frame, state)
    else:
        guarded(run, frame, state, handlers.on_task, frame, state, event)


def drain(run: Run) -> None:
    """Enter every frame scheduled during this step (new children, next states)."""
    while run.ready and run.state.status == RUNNING:
        frame = run.state.frames.get(run.ready.popleft())
        if frame is not None and frame.phase == READY:
            enter_state(run, frame)


def _abort_all(run: Run) -> None:
    root = run.state.frames.get("root")
    if root is not None and root.phase != DONE:
        abort_frame(run, root)
    run.state.tokens.clear()
    run.state.timers.clear()
    run.ready.clear()


def _stop(run: Run, event: Stop) -> None:
    if run.state.status != RUNNING:
        return
    _abort_all(run)
    run.state.status = ABORTED
    run.state.error, run.state.cause = event.error, event.cause
    details = {k: v for k, v in (("error", event.error), ("cause", event.cause)) if v}
    run.emit(run.state.frames.get("root"), "ExecutionAborted", details)


def _timed_out(run: Run) -> None:
    _abort_all(run)
    run.state.status = TIMED_OUT
    run.state.error = "States.Timeout"
    run.emit(run.state.frames.get("root"), "ExecutionTimedOut", {"error": "States.Timeout"})
