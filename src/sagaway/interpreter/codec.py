"""ExecutionState <-> JSON bytes, for journal snapshots."""

from __future__ import annotations

from typing import Any

import orjson

from sagaway.interpreter.execution import ExecutionState, Frame


def dump_state(state: ExecutionState) -> bytes:
    return orjson.dumps(state)


def load_state(blob: bytes | str) -> ExecutionState:
    raw: dict[str, Any] = orjson.loads(blob)
    frames = {fid: _frame(body) for fid, body in raw.pop("frames").items()}
    return ExecutionState(frames=frames, **raw)


def _frame(body: dict[str, Any]) -> Frame:
    failure = body.pop("failure")
    return Frame(failure=None if failure is None else (failure[0], failure[1]), **body)
