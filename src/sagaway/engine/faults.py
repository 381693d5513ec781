"""Steps the engine cannot compute or record fail their execution instead of wedging it.

A value the journal cannot hold (an integer beyond 64 bits that a definition wrote, state
nested too deeply) or an unexpected error while interpreting makes the step unrecordable.
The execution then fails from its last good state with ``States.Runtime`` and a cause that
names the error, so TimeoutSeconds, StopExecution and every reader see it end.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import orjson

from sagaway.asl.model import Machine
from sagaway.engine.journal_steps import record_end, step_record
from sagaway.interpreter import Start, Step, advance
from sagaway.interpreter.execution import FAILED, ExecutionState
from sagaway.interpreter.limits import Limits
from sagaway.interpreter.messages import Fault
from sagaway.store.ports import StepRecord

log = logging.getLogger("sagaway.engine")
RUNTIME = "States.Runtime"


def describe_error(exc: BaseException) -> str:
    """``Type: message`` of an exception, even one whose ``str()`` raises."""
    try:
        message = str(exc)
    except Exception:
        message = "<exception str() failed>"
    return f"{type(exc).__name__}: {message[:1000]}"


def fault_cause(arn: str, exc: BaseException) -> str:
    cause = f"The execution failed while recording a step: {describe_error(exc)}"
    log.error("execution %s failed: %s", arn, cause)
    return cause


def fault_step(
    machine: Machine, state: ExecutionState, now: float, limits: Limits, cause: str
) -> Step:
    return advance(machine, state, Fault(RUNTIME, cause), now, limits)


def first_step(
    machine: Machine,
    state: ExecutionState,
    value: Any,
    now: float,
    limits: Limits,
    *,
    durable: bool,
) -> tuple[Step, StepRecord | None]:
    """The first step of a new execution and (``durable``) its journal record; if either
    cannot be made, those of an execution that started and failed at once."""
    arn = state.execution["Id"]
    try:
        step = advance(machine, state, Start(value), now, limits)
        return step, step_record(arn, 0, Start(None), step, now) if durable else None
    except Exception as exc:
        cause = fault_cause(arn, exc)
    # Only ExecutionStarted (no state entered: a budget of 0), then the failure.
    started = advance(machine, state, Start(value), now, replace(limits, transitions_per_step=0))
    failed = fault_step(machine, started.state, now, limits, cause)
    step = Step(failed.state, failed.commands, started.history + failed.history)
    return step, step_record(arn, 0, Start(None), step, now) if durable else None


def outcome_record(arn: str, state: ExecutionState, now: float) -> StepRecord:
    """An EXPRESS execution's final record; FAILED if its outcome cannot be recorded.

    Its state snapshot keeps neither frames nor input and output: an ended EXPRESS
    execution is never resumed nor redriven, its input and output are columns of the record,
    and what else is read of it (error, map runs) is kept outside them. They would only
    make the journal serialize (and compress) each input and output once more."""
    execution = {k: v for k, v in state.execution.items() if k != "Input"}
    snapshot = _without_data(state, execution)
    try:
        # What step_record(..., snapshot) makes, built directly (once per EXPRESS
        # execution): a snapshot without frames, input or output leaves nothing out for the
        # payload store, so it is the snapshot's JSON as it is.
        record = StepRecord(arn, 0, orjson.dumps(snapshot), state.status, [])
        record_end(record, state, now)
        return record
    except Exception as exc:
        failed = state.clone()
        failed.status, failed.output = FAILED, None
        failed.error, failed.cause = RUNTIME, fault_cause(arn, exc)
        failed.frames = {}
        return step_record(arn, 0, Start(None), Step(failed, [], []), now)


def _without_data(state: ExecutionState, execution: dict[str, Any]) -> ExecutionState:
    # Written out: dataclasses.replace inspects every field each time (once per EXPRESS
    # execution, it cost more than the rest of its outcome record).
    return ExecutionState(
        execution=execution,
        state_machine=state.state_machine,
        status=state.status,
        next_id=state.next_id,
        frames={},
        tokens=state.tokens,
        output=None,
        error=state.error,
        cause=state.cause,
        seed=state.seed,
        timers=state.timers,
        token_key=state.token_key,
        map_runs=state.map_runs,
        trace=state.trace,
    )
