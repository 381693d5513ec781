"""Turning an interpreter Step into the StepRecord the journal writes atomically, and a
journaled snapshot back into a state."""

from __future__ import annotations

from typing import Protocol

from sagaway.interpreter import Step
from sagaway.interpreter.codec import dump_state_parts, load_state
from sagaway.interpreter.execution import RUNNING, ExecutionState
from sagaway.interpreter.messages import Event
from sagaway.interpreter.texts import MEMO, text_of
from sagaway.store import payloads
from sagaway.store.ports import ExecutionRecord, StepRecord

# The payload store keeps a document's large members once per execution: it asks the
# interpreter's text memo for the parts of the texts it stores (see store/payloads.py).
payloads.PARTS_OF = MEMO.parts_of


class PayloadReader(Protocol):
    def payload_texts(self, arn: str, digests: set[str]) -> dict[str, str]: ...


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
    # The large values whose texts this or an earlier step rendered for the history are
    # left out of the snapshot: the journal links it to those texts (payload store).
    kept, left_out = dump_state_parts(state if snapshot is None else snapshot, MEMO.known)
    record = StepRecord(
        execution_arn=arn,
        expected_version=version,
        state=kept,
        status=state.status,
        events=step.history,
        state_texts=left_out,
    )
    if state.status != RUNNING:
        record_end(record, state, now)
    return record


def record_end(record: StepRecord, state: ExecutionState, now: float) -> None:
    """The columns of an ended execution: stop date, output text, error and cause."""
    record.stop_date = now
    record.output = (
        None if state.output is None and state.status != "SUCCEEDED" else text_of(state.output)
    )
    record.error, record.cause = state.error, state.cause


def read_state(journal: PayloadReader, record: ExecutionRecord) -> ExecutionState:
    """The state ``record``'s snapshot holds, with the payloads it refers to put back."""
    assert record.state is not None
    return load_state(record.state, lambda digests: journal.payload_texts(record.arn, digests))
