"""History events the engine observes about a running Task (TaskSubmitted, ActivityStarted).

They are not interpreter events (nothing in the state machine reacts to them), but they
belong in the journal between the Task's scheduling and its outcome, with ids and
previousEventId linked like every other event. A note goes through the execution's actor
like any event, so it is journaled in order, atomically and under the version guard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sagaway.asl.model import Machine
from sagaway.interpreter import Step
from sagaway.interpreter.execution import ExecutionState
from sagaway.interpreter.run import Run


@dataclass(frozen=True, slots=True)
class Note:
    """Record ``event_type`` for the attempt ``token``, if that attempt is still awaited."""

    token: str
    event_type: str
    details: dict[str, Any] = field(default_factory=dict)


def note_step(machine: Machine, state: ExecutionState, note: Note, now: float) -> Step:
    run = Run(machine, state.clone(), now)
    fid = run.state.tokens.get(note.token)
    if fid is not None:  # a note about an attempt that ended already is dropped
        run.emit(run.frame(fid), note.event_type, note.details)
    return Step(run.state, [], run.history)
