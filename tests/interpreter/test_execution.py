"""ExecutionState.clone and Frame.clone are written out field by field for speed: they must
copy every field, in the right place, and copy the containers advance changes."""

from __future__ import annotations

from dataclasses import fields

from sagaway.interpreter.execution import ExecutionState, Frame


def _frame() -> Frame:
    values = {f.name: f"{f.name}-value" for f in fields(Frame)}
    values.update(variables={"v": 1}, attempts=[1, 2], data={"results": [1]},
                  context_extra={"Map": {}}, failure=("E", "C"), quiet=True)  # fmt: skip
    return Frame(**values)  # type: ignore[arg-type]


def _state() -> ExecutionState:
    # A distinct value per field, so a field copied into the wrong place shows.
    values = {f.name: f"{f.name}-value" for f in fields(ExecutionState)}
    values.update(execution={"Name": "x"}, state_machine={"Name": "m"}, next_id=7, seed=9,
                  frames={"root": _frame()}, tokens={"t": "root"}, timers={"t": 1.5},
                  map_runs={"arn": {"counts": None}})  # fmt: skip
    return ExecutionState(**values)  # type: ignore[arg-type]


def test_execution_state_clone_copies_every_field() -> None:
    state = _state()
    twin = state.clone()
    for f in fields(ExecutionState):
        assert getattr(twin, f.name) == getattr(state, f.name), f.name
    for changed in ("execution", "frames", "tokens", "timers", "map_runs"):
        assert getattr(twin, changed) is not getattr(state, changed), changed
    assert twin.frames["root"] is not state.frames["root"]


def test_frame_clone_copies_every_field() -> None:
    frame = _frame()
    twin = frame.clone()
    for f in fields(Frame):
        assert getattr(twin, f.name) == getattr(frame, f.name), f.name
    for changed in ("variables", "attempts", "data", "context_extra"):
        assert getattr(twin, changed) is not getattr(frame, changed), changed
    assert twin.data["results"] is not frame.data["results"]
