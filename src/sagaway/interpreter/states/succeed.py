"""Succeed: ends its frame successfully (InputPath/OutputPath or Output still apply)."""

from __future__ import annotations

from sagaway.asl.model import State
from sagaway.interpreter.dataflow import passthrough_output
from sagaway.interpreter.execution import Frame
from sagaway.interpreter.lifecycle import exit_state
from sagaway.interpreter.run import Run


def enter(run: Run, frame: Frame, state: State) -> None:
    exit_state(run, frame, state, passthrough_output(run, frame, state), None, None, True)
