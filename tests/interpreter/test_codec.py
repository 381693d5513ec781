"""State snapshots that leave large values out and refer to the payload store instead."""

from __future__ import annotations

import pytest

from sagaway.expressions.jsontext import dumps
from sagaway.interpreter.codec import dump_state, dump_state_parts, load_state
from sagaway.interpreter.execution import ExecutionState, Frame, new_execution
from sagaway.store import payloads as P

DOC = {"orderId": "o-1", "blob": "z" * 9000}


def state_with_document() -> ExecutionState:
    state = new_execution(
        execution_arn="arn:x", name="x", state_machine_arn="arn:m", state_machine_name="m"
    )
    state.execution["Input"] = DOC
    frame = Frame(id="root", program="", parent=None, index=0, state="A", input=DOC)
    frame.effective = DOC
    state.frames["root"] = frame
    return state


def test_large_values_are_left_out_and_put_back_once_parsed() -> None:
    state = state_with_document()
    text = dumps(DOC)
    snapshot, left = dump_state_parts(state, lambda v: text if v is DOC else None)
    assert b"zzzz" not in snapshot
    assert sorted((o, f) for o, f, _ in left) == [
        ("$execution", "Input"), ("root", "effective"), ("root", "input")
    ]  # fmt: skip
    linked, rows = P.link_snapshot("arn:x", snapshot, left)
    assert len(rows) == 1  # one text, one payload row
    store = {ref: P.decompress(body).decode() for _, ref, body in rows}
    loaded = load_state(linked, lambda refs: {r: store[r] for r in refs})
    assert loaded == load_state(dump_state(state))
    assert loaded.frames["root"].input is loaded.frames["root"].effective  # parsed once


def test_a_snapshot_with_nothing_left_out_is_the_plain_snapshot() -> None:
    state = state_with_document()
    snapshot, left = dump_state_parts(state, lambda v: None)
    assert left == [] and snapshot == dump_state(state)
    assert load_state(snapshot) == state


def test_a_snapshot_that_refers_to_payloads_needs_them_to_load() -> None:
    state = state_with_document()
    text = dumps(DOC)
    snapshot, left = dump_state_parts(state, lambda v: text if v is DOC else None)
    linked, _ = P.link_snapshot("arn:x", snapshot, left)
    with pytest.raises(ValueError):
        load_state(linked)
