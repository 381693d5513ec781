"""The durable engine: runs executions on the interpreter, journals every step, recovers.

One asyncio loop drives every execution (house rule 6). The journal is the write-ahead log:
an execution's steps are committed before their commands run, and on start the engine
resumes every RUNNING execution from its last committed step, re-invoking the Tasks whose
results were not journaled (with the same idempotency key) and re-arming durable timers;
it does so in the background, so its embedder serves requests meanwhile (``recovery``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sagaway.asl.model import Machine
from sagaway.asl.parser import parse_definition
from sagaway.engine import arns
from sagaway.engine.actor import ExecutionActor, StepTiming, has_ready_frames
from sagaway.engine.clock import Clock, SystemClock
from sagaway.engine.cluster import Cluster
from sagaway.engine.committer import GroupCommitter
from sagaway.engine.faults import first_step, outcome_record
from sagaway.engine.journal_steps import read_state
from sagaway.engine.notes import MapRunUpdate, Note
from sagaway.engine.observer import NO_OBSERVER, Observer
from sagaway.engine.recovery import Recovery
from sagaway.engine.tasks import TaskRunner
from sagaway.engine.timers import TimerWheel
from sagaway.expressions.jsontext import loads, loads_document
from sagaway.interpreter import (
    CancelTask,
    InvokeTask,
    StartTimer,
    Stop,
    TimerFired,
    new_execution,
)
from sagaway.interpreter.advance import CONTINUE
from sagaway.interpreter.limits import Limits
from sagaway.interpreter.messages import Command, Event
from sagaway.interpreter.pending import pending_commands
from sagaway.interpreter.run import stable_seed
from sagaway.resources.lambda_functions import FunctionRegistry
from sagaway.store.ports import ClusterOperations, ExecutionRecord, Journal, StateMachineRecord

if TYPE_CHECKING:
    from sagaway.engine.callbacks import CallbackTasks
    from sagaway.engine.integrations import ResourceRouter

log = logging.getLogger("sagaway.engine")
# States one interpreter step may enter before the execution yields the event loop (a loop
# of Pass and Choice states then shares the server instead of holding it).
TRANSITIONS_PER_STEP = 100


class ExecutionAlreadyExists(Exception):
    """StartExecution of a STANDARD machine with a name already used by it (different input
    or the execution has ended). EXPRESS starts are never refused for their name."""


class StateMachineDoesNotExist(Exception):
    pass


class InvalidExecutionInput(ValueError):
    """StartExecution's input is not JSON text (refused before anything is journaled)."""


def parse_input(text: str) -> Any:
    try:
        return loads_document(text)
    except ValueError as exc:
        raise InvalidExecutionInput(f"Invalid State Machine Execution Input: '{exc}'") from exc


@lru_cache(maxsize=256)
def machine_for(definition: str) -> Machine:
    return parse_definition(definition)


class Engine:
    def __init__(
        self,
        journal: Journal,
        registry: FunctionRegistry | None = None,
        *,
        clock: Clock | None = None,
        threads: int = 16,
        default_task_timeout: float | None = None,
        limits: Limits | None = None,
        observer: Observer | None = None,
        router: ResourceRouter | None = None,
    ) -> None:
        """``router``: what Tasks beyond Lambda functions reach (default: everything but
        putEvents, which needs a bus); the engine builds its integrations from it."""
        # Imported here: the integrations' modules import this one.
        from sagaway.engine.integrations import Integrations, ResourceRouter

        self.journal = journal
        # What the journal says about sharing its database (None: this process owns it).
        self._shared: ClusterOperations | None = journal.cluster()
        self.observer = observer or NO_OBSERVER
        limits = limits or Limits()
        if limits.transitions_per_step is None:  # the engine always shares the event loop
            limits = replace(limits, transitions_per_step=TRANSITIONS_PER_STEP)
        self.limits = limits
        # EXPRESS executions keep no history and end after express_seconds.
        self.express_limits = replace(
            self.limits,
            history_events=None,
            execution_seconds=self.limits.express_seconds,
            history=False,
        )
        self.registry = registry or FunctionRegistry()
        self.clock: Clock = clock or SystemClock()
        self.actors: dict[str, ExecutionActor] = {}
        self.committer = GroupCommitter(journal, self.observer)
        self.timers = TimerWheel(self.clock, self._timer_fired)
        self.tasks = TaskRunner(
            self.registry, self._task_done, threads=threads,
            default_timeout=default_task_timeout, ledger=journal,
            payload_limit=self.limits.payload_bytes, route=self._route,
        )  # fmt: skip
        self.store_error: BaseException | None = None
        self.cluster: Cluster | None = None
        self.recovery = Recovery(self)
        # Executions whose first step is being committed by start_execution.
        self._starting: dict[str, asyncio.Event] = {}
        self.integrations = Integrations(self, router or ResourceRouter())
        # Where answers delivered by other members go.
        self.callbacks: CallbackTasks = self.integrations.callbacks
        self._machines: dict[str, StateMachineRecord] = {}
        # Optional instrumentation (``sagaway bench``): called after each actor cycle.
        self.on_step: Callable[[StepTiming], None] | None = None
        self.observer.attached(self)

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def client_only(self) -> bool:
        """A process on a shared database that starts executions but leaves running them to
        the workers (its journal has no worker identity)."""
        return self._shared is not None and self._shared.owner is None

    async def start(self) -> None:
        """Start running; open executions are resumed in the background (``recovery``), so
        the caller can serve requests at once."""
        self.timers.start()
        shared = self._shared
        if shared is None:  # a single-owner database: every open execution is ours
            self.recovery.start(resume_all=True)
            return
        self.recovery.start(resume_all=False)
        if shared.owner is None:  # a client: the members claim what it starts
            self.recovery.done = True
            return
        # A member of a cluster: claim work by lease instead of taking all of it.
        self.cluster = Cluster(self, shared)
        self.cluster.start()

    async def close(self) -> None:
        await self.recovery.close()
        if self.cluster is not None:
            await self.cluster.stop()
        await self.timers.stop()
        await self.tasks.close()
        self.integrations.close()
        self.committer.close()

    async def __aenter__(self) -> Engine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def adopt(self, record: ExecutionRecord) -> bool:
        """Run an execution from its last journaled step (after a restart, or a take-over
        from a worker whose lease expired); False if it already runs here.

        The outstanding Tasks (re-invoked with their original tokens, so the same
        idempotency keys) and timers (due ones fire at once) come from the state itself."""
        if record.arn in self.actors or record.state is None:
            return False
        machine = machine_for(record.definition)
        state = read_state(self.journal, record)
        actor = ExecutionActor(self, record.arn, machine, state, record.version)
        self.actors[record.arn] = actor
        self.observer.execution_started(actor, [])
        commands = pending_commands(machine, state, self.clock.now())
        self.carry_out(actor, self.tasks.resume(record.arn, commands, self._dispatcher(actor)))
        if has_ready_frames(state):  # its last step ran out of budget: go on from there
            actor.post(CONTINUE)
        return True

    # -- state machines --------------------------------------------------------------------
    def create_state_machine(
        self, name: str, definition: str, *, type: str = "STANDARD", role_arn: str = ""
    ) -> StateMachineRecord:
        machine_for(definition)  # parse now: a definition that does not parse is refused
        record = StateMachineRecord(
            arn=arns.state_machine(name),
            name=name,
            definition=definition,
            type=type,
            role_arn=role_arn or arns.DEFAULT_ROLE,
            created=self.clock.now(),
            revision_id=uuid.uuid4().hex,
        )
        self.journal.put_state_machine(record)
        self._machines[record.arn] = record
        return record

    def update_state_machine(self, record: StateMachineRecord) -> None:
        """Store a changed state machine (UpdateStateMachine); new executions use it,
        running ones keep the definition they started with."""
        machine_for(record.definition)
        self.journal.put_state_machine(record)
        self._machines[record.arn] = record

    def known_state_machine(self, record: StateMachineRecord) -> None:
        """Note ``record`` as the current version of its machine, read from the journal by
        the caller: processes sharing a database change each other's machines, and the next
        StartExecution must run what was just read, not what this engine cached."""
        self._machines[record.arn] = record

    def delete_state_machine(self, arn: str) -> None:
        self.journal.delete_state_machine(arn)
        self._machines.pop(arn, None)

    def post_note(self, arn: str, note: Note | MapRunUpdate) -> None:
        """Journal a Task's progress event (TaskSubmitted, ActivityStarted) or a Map Run
        update in order."""
        actor = self.actors.get(arn)
        if actor is not None:
            actor.post(note)

    # -- executions ------------------------------------------------------------------------
    async def start_execution(
        self,
        state_machine_arn: str,
        name: str | None = None,
        input_text: str = "{}",
        *,
        run_as: StateMachineRecord | None = None,
        trace_parent: str = "",
    ) -> ExecutionRecord:
        """``run_as``: the definition to run instead of the machine's current one (a
        published version); its ``arn`` and ``name`` are the machine's own.
        ``trace_parent``: the caller's W3C traceparent, journaled with the execution."""
        machine_record = run_as or self._state_machine(state_machine_arn)
        name = name or str(uuid.uuid4())
        express = machine_record.type == "EXPRESS"
        arn = arns.execution(machine_record.name, name, express=express)
        now = self.clock.now()
        machine = machine_for(machine_record.definition)
        state = new_execution(
            execution_arn=arn,
            name=name,
            state_machine_arn=state_machine_arn,
            state_machine_name=machine_record.name,
            role_arn=machine_record.role_arn,
            seed=stable_seed(arn),
            express=express,
            # Task tokens must be unguessable: the OS's CSPRNG, as secrets.token_hex(16)
            # uses, without its three calls per start.
            token_key=os.urandom(16).hex(),
            trace=self.observer.execution_trace(arn, trace_parent),
        )
        limits = self.express_limits if express else self.limits
        step, first = first_step(
            machine, state, parse_input(input_text), now, limits, durable=not express
        )
        record = ExecutionRecord(
            arn=arn,
            state_machine_arn=state_machine_arn,
            name=name,
            status="RUNNING",
            input=input_text,
            start_date=now,
            definition=machine_record.definition,
            machine_type=machine_record.type,
        )
        actor = ExecutionActor(
            self, arn, machine, step.state, 1, durable=not express, limits=limits
        )
        # EXPRESS: no name check. AWS does not make Express starts idempotent: "Starting
        # multiple workflows with the same name results in concurrent executions", each with
        # its own ARN (the journal's key on names holds for STANDARD executions only).
        if not express:
            assert first is not None
            first.create = record
            # From the commit on, others can read the execution before its actor is here:
            # a wait meanwhile waits for this start (see _running_here).
            starting = self._starting[arn] = asyncio.Event()
            try:
                (ok,) = await self.committer.commit([first])
                if not ok:  # the name is taken: the unique key refused the insert
                    taken = self.journal.find_execution(state_machine_arn, name)
                    assert taken is not None
                    return self._same_start(taken, input_text)
                self.recovery.started(arn)
                if self.client_only:
                    return record  # journaled unowned: a worker claims and runs it
                self.actors[arn] = actor
            finally:
                self._starting.pop(arn, None)
                starting.set()
        self.actors[arn] = actor
        actor.express_record = record if express else None
        self.observer.execution_started(actor, step.history)
        self.carry_out(actor, step.commands)
        if actor.finished:
            self.finished(actor)
        elif step.yielded:
            actor.post(CONTINUE)
        return record

    def _state_machine(self, arn: str) -> StateMachineRecord:
        # Cached: every StartExecution needs it, and it only changes through this engine.
        record = self._machines.get(arn)
        if record is None:
            record = self.journal.get_state_machine(arn)
            if record is None:
                raise StateMachineDoesNotExist(arn)
            self._machines[arn] = record
        return record

    def _same_start(self, existing: ExecutionRecord, input_text: str) -> ExecutionRecord:
        # AWS: the same name and input while RUNNING answers with the running execution.
        if existing.status == "RUNNING" and loads(existing.input) == loads(input_text):
            return existing
        raise ExecutionAlreadyExists(existing.arn)

    async def stop_execution(
        self, arn: str, error: str | None = None, cause: str | None = None
    ) -> None:
        actor = await self._running_here(arn)
        if actor is not None:
            actor.post(Stop(error, cause))
            await self.wait(arn)

    async def wait(self, arn: str, timeout: float | None = None) -> ExecutionRecord | None:
        """Wait until the execution has ended; its final record."""
        actor = await self._running_here(arn)
        # Also when its state has ended: the actor stays until that step is journaled.
        if actor is not None:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            actor.waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, timeout)
            finally:  # a caller that gave up (a client gone) leaves nothing behind
                if waiter in actor.waiters:
                    actor.waiters.remove(waiter)
        if arns.is_express(arn):
            # Its outcome was queued for the journal when it ended, unawaited: an empty
            # commit queued now is written after it (one writer, in order).
            await self.committer.commit([])
        return self.journal.get_execution(arn)

    async def wait_status(self, arn: str, timeout: float | None = None) -> str:
        """Wait until the execution has ended; its status (no journal read when it ran
        here: the benchmark and the test kit wait for many executions)."""
        actor = await self._running_here(arn)
        if actor is None:
            record = self.journal.get_execution(arn)
            return "UNKNOWN" if record is None else record.status
        if actor.arn in self.actors:  # until its last step is journaled
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            actor.waiters.append(waiter)
            await asyncio.wait_for(waiter, timeout)
        return actor.state.status

    async def _running_here(self, arn: str) -> ExecutionActor | None:
        """The execution's actor; one recovery has not reached yet is resumed first. An
        actor already here is taken before anything awaits: it may end meanwhile."""
        actor = self.actors.get(arn)
        starting = self._starting.get(arn)
        if actor is None and starting is not None:
            await starting.wait()
            actor = self.actors.get(arn)
        if actor is None:
            await self.recovery.resume_first(arn)
            actor = self.actors.get(arn)
        return actor

    # -- callbacks from actors, tasks and timers -------------------------------------------
    def carry_out(self, actor: ExecutionActor, commands: list[Command]) -> None:
        for command in commands:
            if isinstance(command, InvokeTask):
                if self.observer is NO_OBSERVER:  # nothing to wrap around the attempt
                    self.tasks.dispatch(actor.arn, command)
                else:
                    self.observer.dispatch_task(actor, command, self.tasks.dispatch)
            elif isinstance(command, StartTimer):
                self.timers.add(actor.arn, command.token, command.fire_at)
            elif isinstance(command, CancelTask):
                self.tasks.cancel(actor.arn, command.token)
                self.observer.task_ended(actor.arn, command.token, "CancelTask")

    def _dispatcher(self, actor: ExecutionActor) -> Callable[[InvokeTask], None]:
        if self.observer is NO_OBSERVER:  # nothing to wrap around each attempt
            return functools.partial(self.tasks.dispatch, actor.arn)
        return lambda command: self.observer.dispatch_task(actor, command, self.tasks.dispatch)

    def finished(self, actor: ExecutionActor) -> None:
        self.actors.pop(actor.arn, None)
        self.timers.forget(actor.arn)
        self.observer.execution_ended(actor)
        express = actor.express_record
        if express is not None:
            self._journal_express_outcome(actor, express)

    def detach(self, actor: ExecutionActor, error: BaseException | None = None) -> None:
        self.actors.pop(actor.arn, None)
        self.observer.execution_detached(actor)
        if error is not None:
            self.store_error = error
            self.recovery.orphaned(actor.arn)  # resumed from the journal once it answers
        for waiter in actor.waiters:
            if not waiter.done():
                waiter.set_exception(error or RuntimeError(f"{actor.arn} detached"))

    def _journal_express_outcome(self, actor: ExecutionActor, record: ExecutionRecord) -> None:
        final = outcome_record(actor.arn, actor.state, self.clock.now())
        final.events = []  # EXPRESS: the outcome only, no history
        final.create = record
        final.outbox = actor.express_outbox
        self.committer.commit_unawaited([final])  # nothing waits for it: no future

    def _route(self, arn: str, command: InvokeTask) -> None:
        self.integrations.route(arn, command)

    def _task_done(self, arn: str, event: Event) -> None:
        token = getattr(event, "token", None)
        if token is not None:
            self.observer.task_ended(arn, token, type(event).__name__)
        actor = self.actors.get(arn)
        if actor is not None:
            actor.post(event)

    def _timer_fired(self, arn: str, token: str) -> None:
        actor = self.actors.get(arn)
        if actor is not None:
            actor.post(TimerFired(token))

    def describe(self, arn: str) -> dict[str, Any] | None:
        record = self.journal.get_execution(arn)
        if record is None:
            return None
        return {"executionArn": record.arn, "status": record.status, "output": record.output}
