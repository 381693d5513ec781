"""RedriveExecution: continue a FAILED, TIMED_OUT or ABORTED execution from where it ended.

As AWS does it: the top-level state that failed runs again with the input it had, states
that succeeded are not re-run, retry counters start over, ``$$.Execution.RedriveCount``
goes up by one and the history continues with ExecutionRedriven. A Parallel or Map that
failed runs again as a whole (AWS re-runs only its failed branches or iterations).

Sagaway's extensions: no 14-day window, and ``input`` replaces the failed state's input
(an operator fixes the data that made it fail).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sagaway.engine.actor import ExecutionActor
from sagaway.engine.engine import machine_for
from sagaway.engine.journal_steps import step_record
from sagaway.interpreter import TimerFired, advance
from sagaway.interpreter.codec import load_state
from sagaway.interpreter.execution import READY, RUNNING, ExecutionState, Frame
from sagaway.interpreter.run import Run
from sagaway.store.ports import ExecutionRecord

if TYPE_CHECKING:
    from sagaway.engine.engine import Engine

REDRIVABLE = ("FAILED", "TIMED_OUT", "ABORTED")
_KICK = "sagaway.redrive"  # an event no attempt waits for: advance just enters READY frames
_UNCHANGED = object()


class NotRedrivable(Exception):
    pass


def redriven_state(record: ExecutionRecord, new_input: Any) -> ExecutionState:
    """The ended state made ready to re-enter the state it ended in."""
    if record.state is None:
        raise NotRedrivable(f"Execution '{record.arn}' has no journaled state to redrive")
    state = load_state(record.state).clone()
    root = state.frames["root"]
    state.frames = {"root": _reset(root, new_input)}
    state.tokens.clear()
    state.timers.clear()
    state.status = RUNNING
    state.output = state.error = state.cause = None
    state.execution["RedriveCount"] = int(state.execution.get("RedriveCount", 0)) + 1
    return state


def _reset(root: Frame, new_input: Any) -> Frame:
    root.phase = READY
    root.failure = None
    root.output = None
    root.token = None
    root.attempts = []
    root.retry_count = 0
    root.effective = None
    root.data = {}
    root.context_extra = {}
    if new_input is not _UNCHANGED:
        root.input = new_input
    return root


async def redrive(engine: Engine, record: ExecutionRecord, new_input: Any = _UNCHANGED) -> int:
    """Redrive ``record``; returns the new RedriveCount."""
    if record.status not in REDRIVABLE or record.machine_type == "EXPRESS":
        raise NotRedrivable(
            f"Execution with the ARN '{record.arn}' cannot be redriven because its status "
            f"is {record.status}" if record.status not in REDRIVABLE
            else "Executions of EXPRESS state machines cannot be redriven"
        )  # fmt: skip
    now = engine.clock.now()
    machine = machine_for(record.definition)
    state = redriven_state(record, new_input)
    run = Run(machine, state, now)
    count = state.execution["RedriveCount"]
    run.emit(state.frames["root"], "ExecutionRedriven", {"redriveCount": count},
             previous=state.next_id - 1)  # fmt: skip
    step = advance(machine, run.state, TimerFired(_KICK), now)
    record_step = step_record(record.arn, record.version, TimerFired(_KICK), step, now)
    record_step.events = run.history + step.history
    (ok,) = await engine.committer.commit([record_step])
    if not ok:
        raise NotRedrivable(f"Execution '{record.arn}' changed while being redriven")
    actor = ExecutionActor(engine, record.arn, machine, step.state, record.version + 1)
    engine.actors[record.arn] = actor
    engine.carry_out(actor, step.commands)
    if actor.finished:
        engine.finished(actor)
    return int(count)


UNCHANGED = _UNCHANGED
