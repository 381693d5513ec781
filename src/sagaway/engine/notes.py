"""Changes the engine posts to a running execution from outside the state machine.

A :class:`Note` records a history event the engine observes about a running Task
(TaskSubmitted, ActivityStarted): not an interpreter event (nothing in the state machine
reacts to it), but it belongs in the journal between the Task's scheduling and its outcome,
with ids and previousEventId linked like every other event. A :class:`MapRunUpdate` is
UpdateMapRun's change to a running Distributed Map. Either goes through the execution's
actor like any event, so it is journaled in order, atomically and under the version guard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sagaway.asl.model import Machine
from sagaway.interpreter import Step, map_runs
from sagaway.interpreter.advance import drain, end_full_history
from sagaway.interpreter.execution import ExecutionState
from sagaway.interpreter.limits import AWS, Limits
from sagaway.interpreter.messages import TaskFailed, TaskSucceeded
from sagaway.interpreter.run import HistoryLimitReached, Run
from sagaway.interpreter.states import map_state

Outbox = tuple[tuple[str, bytes], ...]  # (topic, body) rows for the journal's outbox


@dataclass(frozen=True, slots=True)
class Note:
    """Record ``event_type`` for the attempt ``token``, if that attempt is still awaited.
    ``outbox``: events published by the attempt, committed with the note's step."""

    token: str
    event_type: str
    details: dict[str, Any] = field(default_factory=dict)
    outbox: Outbox = ()


@dataclass(frozen=True, slots=True)
class Published(TaskSucceeded):
    """A Task's success that published events: they are committed in the journal's outbox
    in the same transaction as the step that records the success, so the step is never
    journaled without its events nor the events relayed for a step that was not."""

    outbox: Outbox = ()


@dataclass(frozen=True, slots=True)
class PublishedFailure(TaskFailed):
    """A Task that failed having published some events (PutEvents publishes the good entries
    of a call that has bad ones): committed with the step that records the failure."""

    outbox: Outbox = ()


# A tuple, not ``Note | Published | PublishedFailure``: that union would be built anew at
# every call, and this runs for every event an execution takes.
_CARRY_OUTBOX = (Note, Published, PublishedFailure)


def outbox_rows(event: object) -> list[tuple[str, bytes]]:
    if isinstance(event, _CARRY_OUTBOX):
        return list(event.outbox)
    return []


@dataclass(frozen=True, slots=True)
class MapRunUpdate:
    """Change the Map Run ``map_run_arn``'s settings (``map_runs`` record keys)."""

    map_run_arn: str
    changes: dict[str, Any]


def note_step(
    machine: Machine,
    state: ExecutionState,
    note: Note | MapRunUpdate,
    now: float,
    limits: Limits = AWS,
) -> Step:
    run = Run(machine, state.clone(), now, limits)
    try:
        if isinstance(note, MapRunUpdate):
            _update_map_run(run, note)
            return Step(run.state, run.commands, run.history)
        fid = run.state.tokens.get(note.token)
        if fid is not None:  # a note about an attempt that ended already is dropped
            run.emit(run.frame(fid), note.event_type, note.details)
    except HistoryLimitReached:
        end_full_history(run)
        return Step(run.state, run.commands, run.history)
    return Step(run.state, [], run.history)


def _update_map_run(run: Run, update: MapRunUpdate) -> None:
    if update.map_run_arn not in run.state.map_runs:
        return
    frame = map_runs.updated(run.state, update.map_run_arn, update.changes)
    # A higher MaxConcurrency starts more iterations now; a lower one only holds back new
    # ones (running iterations finish). Tolerance is checked at the next failure.
    if frame is not None and "max_concurrency" in update.changes:
        map_state.launch_more(run, frame, run.current(frame))
        drain(run)
