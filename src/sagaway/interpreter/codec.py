"""ExecutionState <-> JSON bytes, for journal snapshots.

A snapshot is written at every step, and a saga's large document sits in it several times
(the execution's input, each frame's input and the input its Task was sent). Those values
are in the history already, as texts the payload store keeps once per execution, so a
snapshot may leave them out: :func:`dump_state_parts` returns the snapshot without the
values whose text is given by ``known`` and the list of what it left out; the journal
stores those texts (once) and appends ``"payloadRefs": [[owner, field, digest], ...]`` to
the snapshot. :func:`load_state` puts the values back, parsing each distinct text once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any, Final, TypeVar

import orjson

from sagaway.expressions.jsontext import loads
from sagaway.interpreter.execution import ExecutionState, Frame

# The snapshot's key listing the values it refers to instead of holding them.
PAYLOAD_REFS: Final = "payloadRefs"
# Owners of a left-out value other than a frame (frame ids never start with "$").
EXECUTION: Final = "$execution"  # a key of ``execution`` ($$.Execution.Input)
STATE: Final = "$state"  # a field of the state itself (its output)
_FRAME_FIELDS: Final = ("input", "effective", "output")
_STATE_FIELDS: Final = tuple(f.name for f in fields(ExecutionState))
_FRAME_ALL: Final = tuple(f.name for f in fields(Frame))

_T = TypeVar("_T", ExecutionState, Frame)
Known = Callable[[Any], str | None]  # a value's JSON text, if it is at hand already
Texts = Callable[[set[str]], Mapping[str, str]]  # digests -> texts (the payload store)
LeftOut = list[tuple[str, str, str]]  # (owner, field, JSON text)


def dump_state(state: ExecutionState) -> bytes:
    return orjson.dumps(state)


def dump_state_parts(state: ExecutionState, known: Known) -> tuple[bytes, LeftOut]:
    """The snapshot without the values ``known`` has a text for, and those texts."""
    left: LeftOut = []
    frames: dict[str, Frame] | None = None
    for fid, frame in state.frames.items():
        copy: Frame | None = None
        for name in _FRAME_FIELDS:
            value = getattr(frame, name)
            text = known(value) if value is not None else None
            if text is not None:
                copy = copy if copy is not None else _shallow(frame, _FRAME_ALL)
                setattr(copy, name, None)
                left.append((fid, name, text))
        if copy is not None:
            frames = frames if frames is not None else dict(state.frames)
            frames[fid] = copy
    execution = state.execution
    text = known(execution.get("Input"))
    if text is not None:
        execution = {**execution, "Input": None}
        left.append((EXECUTION, "Input", text))
    output = state.output
    text = known(output) if output is not None else None
    if text is not None:
        output = None
        left.append((STATE, "output", text))
    if not left:
        return orjson.dumps(state), left
    slim = _shallow(state, _STATE_FIELDS)
    slim.frames, slim.execution, slim.output = frames or state.frames, execution, output
    return orjson.dumps(slim), left


def _shallow(obj: _T, names: tuple[str, ...]) -> _T:
    """A copy sharing every field's value (dataclasses.replace and Frame.clone cost more
    than the rest of a snapshot); only the copy's own fields are then replaced."""
    kind = type(obj)
    copy: _T = object.__new__(kind)
    for name in names:
        setattr(copy, name, getattr(obj, name))
    return copy


def load_state(blob: bytes | str, texts: Texts | None = None) -> ExecutionState:
    """The state a snapshot holds; ``texts`` reads the payloads it refers to (needed only
    for a snapshot that refers to some)."""
    raw: dict[str, Any] = orjson.loads(blob)
    refs: list[list[str]] | None = raw.pop(PAYLOAD_REFS, None)
    frames = {fid: _frame(body) for fid, body in raw.pop("frames").items()}
    state = ExecutionState(frames=frames, **raw)
    if refs:
        if texts is None:
            raise ValueError("this snapshot refers to stored payloads: give load_state texts")
        _put_back(state, refs, texts)
    return state


def _put_back(state: ExecutionState, refs: list[list[str]], texts: Texts) -> None:
    found = texts({digest for _, _, digest in refs})
    values: dict[str, Any] = {}  # one parse per text: a value shared before is shared again
    for owner, name, digest in refs:
        if digest not in values:
            values[digest] = loads(found[digest])
        value = values[digest]
        if owner == EXECUTION:
            state.execution[name] = value
        elif owner == STATE:
            setattr(state, name, value)
        else:
            setattr(state.frames[owner], name, value)


def _frame(body: dict[str, Any]) -> Frame:
    failure = body.pop("failure")
    return Frame(failure=None if failure is None else (failure[0], failure[1]), **body)
