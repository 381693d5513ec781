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
    FAILED,
    READY,
    RUNNING,
    TIMED_OUT,
    ExecutionState,
    Frame,
)
from sagaway.interpreter.lifecycle import enter_state, guarded
from sagaway.interpreter.limits import AWS, HISTORY_LIMIT_ERROR, Limits, history_limit_cause
from sagaway.interpreter.messages import (
    CancelTask,
    Command,
    Event,
    Fault,
    Start,
    Stop,
    TaskFailed,
    TaskSucceeded,
    TaskTimedOut,
    TimerFired,
)
from sagaway.interpreter.run import HistoryLimitReached, Run, event_payload, iso_time

EXECUTION_TIMEOUT_TOKEN = "execution.timeout"
# No attempt waits on this token: advancing with it only enters the frames a step that ran
# out of its transition budget left READY.
CONTINUE = TimerFired("sagaway.continue")
# What answers an awaited token. A tuple: ``A | B | ...`` in the call would build a union
# object at every step.
_ANSWERS = (TaskSucceeded, TaskFailed, TaskTimedOut, TimerFired)


@dataclass(frozen=True, slots=True)
class Step:
    """What one event did: the new state, the work to start, the history to append."""

    state: ExecutionState
    commands: list[Command]
    history: list[dict[str, Any]]
    # The transition budget ran out with frames still READY: advance with CONTINUE next.
    yielded: bool = False


def advance(
    machine: Machine, state: ExecutionState, event: Event, now: float, limits: Limits = AWS
) -> Step:
    run = Run(machine, state.clone(), now, limits)
    try:
        _apply(run, event)
        yielded = drain(run, limits.transitions_per_step)
    except HistoryLimitReached:
        end_full_history(run)
        yielded = False
    return Step(run.state, run.commands, run.history, yielded)


def _apply(run: Run, event: Event) -> None:
    if isinstance(event, Start):
        _start(run, event)
    elif isinstance(event, Stop):
        _stop(run, event)
    elif isinstance(event, Fault):
        _fault(run, event)
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
    details = None
    if run.keeps_history:
        details = {**event_payload("input", event.input), "roleArn": execution["RoleArn"]}
    run.emit(root, "ExecutionStarted", details, previous=0)
    root.last_id = 0  # AWS: the first state's previousEventId is 0
    run.schedule(root)
    timeout: float | None = run.machine.timeout_seconds
    cap = run.limits.execution_seconds
    if cap is not None and (timeout is None or timeout > cap):
        timeout = cap
    if timeout is not None:
        run.start_timer(root, EXECUTION_TIMEOUT_TOKEN, run.now + timeout)


def _resume(run: Run, event: Event) -> None:
    assert isinstance(event, _ANSWERS)
    fid = run.state.tokens.pop(event.token, None)
    run.state.timers.pop(event.token, None)
    if fid is None:
        return  # a stale token: the attempt was aborted or already answered
    if event.token == EXECUTION_TIMEOUT_TOKEN:
        _timed_out(run)
        return
    frame = run.state.frames[fid]
    frame.token = None
    state = run.current(frame)
    if isinstance(event, TimerFired):
        guarded(run, frame, state, handlers.on_timer, frame, state)
    else:
        guarded(run, frame, state, handlers.on_task, frame, state, event)


def drain(run: Run, budget: int | None = None) -> bool:
    """Enter every frame scheduled during this step (new children, next states), or the
    first ``budget`` of them: True if some were left READY for a later step."""
    entered = 0
    while run.ready and run.state.status == RUNNING:
        if budget is not None and entered >= budget:
            return True
        frame = run.state.frames.get(run.ready.popleft())
        if frame is not None and frame.phase == READY:
            enter_state(run, frame)
            entered += 1
    return False


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


def _end_failed(run: Run, error: str, cause: str) -> None:
    """End the execution FAILED without running anything more: work in flight is cancelled
    and nothing this step had started is carried out."""
    state = run.state
    run.commands = [CancelTask(token) for token in state.tokens if token not in state.timers]
    state.tokens.clear()
    state.timers.clear()
    run.ready.clear()
    state.status = FAILED
    state.error, state.cause = error, cause
    run.emit(state.frames.get("root"), "ExecutionFailed", {"error": error, "cause": cause})


def end_full_history(run: Run) -> None:
    # AWS: when the next event would be the last the history can hold and it does not end
    # the execution, ExecutionFailed takes that slot instead.
    limit = run.limits.history_events
    assert limit is not None
    _end_failed(run, HISTORY_LIMIT_ERROR, history_limit_cause(limit))
    # Nothing can run on in a full history: the unfinished iterations and branches would
    # only weigh on the journal (a Map over a large array spawns thousands).
    root = run.state.frames.get("root")
    run.state.frames = {} if root is None else {"root": root}


def _fault(run: Run, event: Fault) -> None:
    if run.state.status == RUNNING:
        _end_failed(run, event.error, event.cause)


def _timed_out(run: Run) -> None:
    _abort_all(run)
    run.state.status = TIMED_OUT
    run.state.error = "States.Timeout"
    run.emit(run.state.frames.get("root"), "ExecutionTimedOut", {"error": "States.Timeout"})
