"""One running execution in memory: its mailbox, its state, and the journal-then-act loop.

Events for an execution are applied one after another. Each event goes through ``advance``;
the resulting steps are committed (group commit) before any of their commands is carried
out, so no effect is ever started for a step the journal does not hold. Events that arrive
while a commit is in flight wait in the mailbox and go into the next commit.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sagaway.asl.model import Machine
from sagaway.engine.faults import fault_cause, fault_step
from sagaway.engine.journal_steps import step_record
from sagaway.engine.notes import MapRunUpdate, Note, note_step, outbox_rows
from sagaway.interpreter import Step, advance
from sagaway.interpreter.advance import CONTINUE
from sagaway.interpreter.execution import READY, RUNNING, ExecutionState
from sagaway.interpreter.limits import Limits
from sagaway.interpreter.messages import Command, Event, Stop
from sagaway.store.ports import ExecutionRecord, StepRecord, StoreError

if TYPE_CHECKING:
    from sagaway.engine.engine import Engine

log = logging.getLogger("sagaway.engine")
# How long one actor cycle may interpret before it lets the event loop run other work.
SLICE_SECONDS = 0.02
_NOTES = (Note, MapRunUpdate)


@dataclass(frozen=True, slots=True)
class StepTiming:
    """One actor cycle's timings (``time.perf_counter`` seconds), for ``Engine.on_step``.

    Only measured when a hook is set (``sagaway bench``), so the engine pays nothing
    otherwise."""

    arn: str
    steps: int  # events applied in this cycle
    received: float  # the first of those events reached the actor (e.g. a Task result)
    started: float  # the cycle began interpreting
    interpreted: float  # advanced, step records built, commit queued (synchronous work)
    committed: float  # the journal acknowledged the steps (EXPRESS: == interpreted)
    dispatched: float  # the steps' commands were handed to the task runner and timers


def has_ready_frames(state: ExecutionState) -> bool:
    """A step that ran out of its transition budget left frames to enter (see CONTINUE)."""
    return state.status == RUNNING and any(f.phase == READY for f in state.frames.values())


class ExecutionActor:
    def __init__(
        self,
        engine: Engine,
        arn: str,
        machine: Machine,
        state: ExecutionState,
        version: int,
        *,
        durable: bool = True,
        limits: Limits | None = None,
    ) -> None:
        self.engine = engine
        self.limits = limits or engine.limits
        self.arn = arn
        self.machine = machine
        self.state = state
        self.version = version
        self.durable = durable
        self.inbox: deque[Event | Note | MapRunUpdate] = deque()
        self.busy = False
        self.waiters: list[asyncio.Future[None]] = []
        self.steps = 0
        self.received_at = 0.0  # when the inbox last went from empty to not (timed only)
        # EXPRESS: the record to journal with the outcome when the execution ends.
        self.express_record: ExecutionRecord | None = None
        # Events an EXPRESS execution published: it journals only its outcome, so they are
        # committed with that outcome (a STANDARD step commits its own with the step).
        self.express_outbox: list[tuple[str, bytes]] = []

    @property
    def finished(self) -> bool:
        return self.state.status != RUNNING

    def post(self, event: Event | Note | MapRunUpdate) -> None:
        if self.engine.on_step is not None and not self.inbox:
            self.received_at = time.perf_counter()
        self.inbox.append(event)
        if not self.busy:
            self.busy = True
            asyncio.get_running_loop().call_soon(self._process)

    def _process(self) -> None:
        timed = self.engine.on_step is not None
        started = time.perf_counter() if timed else 0.0
        records: list[StepRecord] = []
        commands: list[Command] = []
        stepped = 0
        more = False
        deadline = time.perf_counter() + SLICE_SECONDS
        while self.inbox and not self.finished:
            event = self.inbox.popleft()
            try:
                record, step_commands, more = self._step(event, deadline)
            except Exception as exc:  # the execution fails; it never stays RUNNING unrecorded
                try:
                    record, step_commands, more = self._fault(exc)
                except Exception:
                    log.exception("cannot record the failure of %s", self.arn)
                    self.engine.detach(self)
                    return
            if record is not None:
                records.append(record)
            stepped += 1
            commands.extend(step_commands)
            self.version += 1
            self.steps += 1
        if self.finished:
            self.inbox.clear()  # events for an ended execution change nothing
        elif more:
            # The step ran out of its transition budget: go on in a later turn of the loop,
            # after what else is waiting there (other executions, API calls).
            self.inbox.append(CONTINUE)
        if not stepped:
            self._idle()
            return
        marks = (stepped, self.received_at, started) if timed else None
        if not self.durable:  # EXPRESS: in memory only; the engine journals the outcome
            self._committed(records, commands, marks and (*marks, time.perf_counter()))
            return
        future = self.engine.committer.commit(records)
        timing = marks and (*marks, time.perf_counter())
        future.add_done_callback(lambda f: self._on_commit(f, records, commands, timing))

    def _step(
        self, event: Event | Note | MapRunUpdate, deadline: float
    ) -> tuple[StepRecord | None, list[Command], bool]:
        """Advance by one event; the record to journal (None in memory: an EXPRESS
        execution journals its outcome only, so its state is never serialized per step)."""
        now = self.engine.clock.now()
        outbox = outbox_rows(event)  # a Note's events as well as a Task's
        if isinstance(event, _NOTES):  # a tuple: a union would be built at each call
            step = note_step(self.machine, self.state, event, now, self.limits)
            event = Stop()  # step_record only reads the step; the event is not used
        else:
            step = advance(self.machine, self.state, event, now, self.limits)
            while step.yielded and time.perf_counter() < deadline:
                # Time is left in this turn: go on, and journal one snapshot of the state
                # for all of it (a snapshot per budget would make a large Map quadratic).
                more = advance(self.machine, step.state, CONTINUE, now, self.limits)
                step = Step(
                    more.state,
                    step.commands + more.commands,
                    step.history + more.history,
                    more.yielded,
                )
        record = None
        if self.durable:
            record = step_record(self.arn, self.version, event, step, now)
            record.outbox = outbox
        else:
            self.express_outbox.extend(outbox)
        self.state = step.state
        return record, step.commands, step.yielded

    def _fault(self, exc: Exception) -> tuple[StepRecord | None, list[Command], bool]:
        """The step could not be computed or recorded: fail the execution from its last
        good state instead (see ``faults``)."""
        now = self.engine.clock.now()
        cause = fault_cause(self.arn, exc)
        step = fault_step(self.machine, self.state, now, self.limits, cause)
        record = step_record(self.arn, self.version, Stop(), step, now)
        self.state = step.state
        return record, step.commands, False

    def _on_commit(
        self,
        future: asyncio.Future[list[bool]],
        records: list[StepRecord],
        commands: list[Command],
        timing: tuple[int, float, float, float] | None = None,
    ) -> None:
        try:
            flags = future.result()
        except StoreError as exc:
            # Nothing of these steps is durable: stop acting for this execution. A restart
            # resumes it from the last committed step (no effect was started for these).
            log.error("journal write failed for %s: %s", self.arn, exc)
            self.engine.detach(self, error=exc)
            return
        if not all(flags):
            log.warning("execution %s moved on elsewhere; dropping the local copy", self.arn)
            self.engine.detach(self)
            return
        self._committed(records, commands, timing)

    def _committed(
        self,
        records: list[StepRecord],
        commands: list[Command],
        timing: tuple[int, float, float, float] | None = None,
    ) -> None:
        committed = time.perf_counter() if timing else 0.0
        self.engine.observer.steps_committed(self, records)
        self.engine.carry_out(self, commands)
        if timing is not None and self.engine.on_step is not None:
            steps, received, started, interpreted = timing
            dispatched = time.perf_counter()
            if not self.durable:
                committed = interpreted
            self.engine.on_step(
                StepTiming(self.arn, steps, received, started, interpreted, committed, dispatched)
            )
        if self.finished:
            self.engine.finished(self)
            for waiter in self.waiters:
                if not waiter.done():
                    waiter.set_result(None)
            return
        self._idle()

    def _idle(self) -> None:
        self.busy = False
        if self.inbox:
            self.busy = True
            asyncio.get_running_loop().call_soon(self._process)
