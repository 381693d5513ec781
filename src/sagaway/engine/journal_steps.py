"""Turning an interpreter Step into the StepRecord the journal writes atomically."""

from __future__ import annotations

from sagaway.expressions.jsontext import dumps
from sagaway.interpreter import Step
from sagaway.interpreter.codec import dump_state
from sagaway.interpreter.execution import RUNNING, ExecutionState
from sagaway.interpreter.messages import Event
from sagaway.store.ports import StepRecord


def step_record(
    arn: str,
    version: int,
    event: Event,
    step: Step,
    now: float,
    snapshot: ExecutionState | None = None,
) -> StepRecord:
    """``snapshot``: the state to journal, when not all of ``step.state`` needs keeping."""
    state = step.state
    record = StepRecord(
        execution_arn=arn,
        expected_version=version,
        state=dump_state(state if snapshot is None else snapshot),
        status=state.status,
        events=step.history,
    )
    if state.status != RUNNING:
        record.stop_date = now
        record.output = (
            None if state.output is None and state.status != "SUCCEEDED" else dumps(state.output)
        )
        record.error, record.cause = state.error, state.cause
    return record
