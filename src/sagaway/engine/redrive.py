"""RedriveExecution: continue a FAILED, TIMED_OUT or ABORTED execution from where it ended.

The interpreter prepares the step (``sagaway.interpreter.redrive``: the failed state runs
again, a Parallel or inline Map only its branches or iterations that did not succeed); this
module checks the execution may be redriven, journals that step and hands the execution to
a new actor.

Sagaway's extensions: no 14-day window, and ``input`` replaces the failed state's input
(an operator fixes the data that made it fail).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sagaway.engine.actor import ExecutionActor
from sagaway.engine.engine import machine_for
from sagaway.engine.faults import describe_error
from sagaway.engine.journal_steps import read_state, step_record
from sagaway.interpreter.advance import CONTINUE
from sagaway.interpreter.limits import HISTORY_FULL_REASON, history_was_full
from sagaway.interpreter.redrive import KICK
from sagaway.interpreter.redrive import UNCHANGED as _UNCHANGED
from sagaway.interpreter.redrive import redrive as redrive_step
from sagaway.store.ports import ExecutionRecord

if TYPE_CHECKING:
    from sagaway.engine.engine import Engine

REDRIVABLE = ("FAILED", "TIMED_OUT", "ABORTED")


class NotRedrivable(Exception):
    pass


async def redrive(engine: Engine, record: ExecutionRecord, new_input: Any = _UNCHANGED) -> int:
    """Redrive ``record``; returns the new RedriveCount."""
    if record.status not in REDRIVABLE or record.machine_type == "EXPRESS":
        raise NotRedrivable(
            f"Execution with the ARN '{record.arn}' cannot be redriven because its status "
            f"is {record.status}" if record.status not in REDRIVABLE
            else "Executions of EXPRESS state machines cannot be redriven"
        )  # fmt: skip
    if record.state is None:
        raise NotRedrivable(f"Execution '{record.arn}' has no journaled state to redrive")
    if history_was_full(record.error, record.cause):
        raise NotRedrivable(HISTORY_FULL_REASON)
    now = engine.clock.now()
    machine = machine_for(record.definition)
    try:
        step = redrive_step(
            machine, read_state(engine.journal, record), now, new_input, engine.limits
        )
        record_step = step_record(record.arn, record.version, KICK, step, now)
    except Exception as exc:  # what it would run cannot be recorded: it stays as it ended
        raise NotRedrivable(
            f"Execution '{record.arn}' cannot be redriven: {describe_error(exc)}"
        ) from exc
    (ok,) = await engine.committer.commit([record_step])
    if not ok:
        raise NotRedrivable(f"Execution '{record.arn}' changed while being redriven")
    engine.recovery.started(record.arn)  # RUNNING again: not from a stale snapshot
    actor = ExecutionActor(engine, record.arn, machine, step.state, record.version + 1)
    engine.actors[record.arn] = actor
    engine.observer.execution_started(actor, step.history)
    engine.carry_out(actor, step.commands)
    if actor.finished:
        engine.finished(actor)
    elif step.yielded:
        actor.post(CONTINUE)
    return int(step.state.execution["RedriveCount"])


UNCHANGED = _UNCHANGED
