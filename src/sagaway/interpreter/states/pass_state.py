"""Pass: hands its input (or Result) on, optionally transformed."""

from __future__ import annotations

from sagaway.asl.model import ABSENT, State
from sagaway.interpreter.dataflow import effective_input
from sagaway.interpreter.execution import Frame
from sagaway.interpreter.lifecycle import succeed_state
from sagaway.interpreter.run import Run


def enter(run: Run, frame: Frame, state: State) -> None:
    if state.is_jsonata:
        succeed_state(run, frame, state, frame.input)
        return
    result = effective_input(run, frame, state)
    if state.spec.result is not ABSENT:
        result = state.spec.result
    succeed_state(run, frame, state, result)
