"""RedriveExecution, the pure half: an ended execution's state made to continue where it ended.

As AWS does it: the state the execution ended in runs again with the input it had, states
that succeeded are not re-run, retry counters start over, ``$$.Execution.RedriveCount`` goes
up by one and the history continues with ExecutionRedriven, then the state's entry again.

A Parallel or inline Map re-runs only its branches or iterations that failed, were aborted
or never started; the outputs of those that succeeded are kept from its progress data and
combined with the new ones in order. A kept branch or iteration continues the same way from
the state it ended in, so a Parallel inside a failed Map iteration re-runs only its own failed
branches. The state runs again as a whole when its progress is not in the state (it failed
before starting its children), for a Distributed Map, and when the redrive edits the input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sagaway.asl.model import Machine, State
from sagaway.interpreter.advance import Step, advance
from sagaway.interpreter.children import children_of, discard
from sagaway.interpreter.execution import READY, RUNNING, ExecutionState, Frame
from sagaway.interpreter.kept import Kept, restore
from sagaway.interpreter.limits import AWS, Limits
from sagaway.interpreter.messages import TimerFired
from sagaway.interpreter.run import Run, event_payload
from sagaway.interpreter.states import map_state, parallel

KICK = TimerFired("sagaway.redrive")  # no attempt waits on it: advance just enters READY frames
UNCHANGED: Any = object()  # the redrive does not edit the failed state's input

PartialRedrive = Callable[[Run, Frame, State, Kept], None]


def redrive(
    machine: Machine,
    ended: ExecutionState,
    now: float,
    new_input: Any = UNCHANGED,
    limits: Limits = AWS,
) -> Step:
    """The step that redrives ``ended``: its history starts with ExecutionRedriven."""
    state = ended.clone()
    state.tokens.clear()
    state.timers.clear()
    state.status = RUNNING
    state.output = state.error = state.cause = None
    count = int(state.execution.get("RedriveCount", 0)) + 1
    state.execution["RedriveCount"] = count
    run = Run(machine, state, now, limits)
    root = state.frames["root"]
    run.emit(root, "ExecutionRedriven", {"redriveCount": count}, previous=state.next_id - 1)
    if new_input is not UNCHANGED:
        root.input = new_input
    resumed: list[Frame] = []
    _continue(run, root, resumed, partial=new_input is UNCHANGED)
    while resumed:
        child = resumed.pop(0)
        if child.id in run.state.frames:  # else its parent failed again meanwhile
            _continue(run, child, resumed, partial=True)
    step = advance(machine, run.state, KICK, now, limits)
    return Step(
        step.state, run.commands + step.commands, run.history + step.history, step.yielded
    )


def _continue(run: Run, frame: Frame, resumed: list[Frame], *, partial: bool) -> None:
    """Run ``frame``'s current state again: only what did not succeed, where it can."""
    state = run.current(frame)
    restore(run, frame)
    redrive_children = _partial_redrive(frame, state) if partial else None
    if redrive_children is None:
        discard(run, frame)
        _start_over(frame)
        run.schedule(frame)  # advance's drain enters it, as for any state
        return
    _reenter(run, frame, state)
    kept = Kept(_kept_children(run, frame), resumed)
    redrive_children(run, frame, state, kept)
    for child in kept.children.values():  # not taken up: a later launch starts it over
        _drop(run, child)


def _partial_redrive(frame: Frame, state: State) -> PartialRedrive | None:
    # A frame that was only READY for its state had not entered it: its data is the state
    # before's. Without ``succeeded`` the children never started (or ran before this
    # feature): the state runs again as a whole.
    if frame.phase == READY or "succeeded" not in frame.data:
        return None
    if state.type == "Parallel":
        return parallel.redrive
    if state.type == "Map" and state.spec.mode != map_state.DISTRIBUTED:
        return map_state.redrive
    return None


def _start_over(frame: Frame) -> None:
    frame.failure = None
    frame.output = None
    frame.token = None
    frame.effective = None
    frame.data = {}


def _reenter(run: Run, frame: Frame, state: State) -> None:
    """What entering a state does (see ``enter_state``), keeping the children's progress."""
    frame.entered_count += 1  # new children get new frame ids
    frame.attempts = [0] * len(state.retry)
    frame.retry_count = 0
    frame.entered_at = run.now
    frame.failure = frame.output = frame.token = None
    frame.data.pop("retrying", None)  # it was aborted while waiting to retry
    details = {"name": state.name, **event_payload("input", frame.input)}
    frame.entered_id = run.emit(frame, f"{state.type}StateEntered", details)


def _kept_children(run: Run, frame: Frame) -> dict[int, Frame]:
    """The children of the attempt before that did not succeed, by index. Those that did
    are dropped: their outputs are already in the parent's results."""
    succeeded: list[bool] = frame.data["succeeded"]
    kept: dict[int, Frame] = {}
    for child in children_of(run, frame):
        if succeeded[child.index] or child.index in kept:
            _drop(run, child)
        else:
            kept[child.index] = child
    return kept


def _drop(run: Run, frame: Frame) -> None:
    run.state.frames.pop(frame.id, None)
    discard(run, frame)
