"""Parallel: runs every branch on the same input; the result is the list of branch outputs."""

from __future__ import annotations

from typing import Any

from sagaway.asl.model import State
from sagaway.interpreter.children import abort_children, discard, spawn
from sagaway.interpreter.dataflow import effective_input
from sagaway.interpreter.execution import CHILDREN, Frame
from sagaway.interpreter.failures import Failure
from sagaway.interpreter.lifecycle import fail_state, succeed_state
from sagaway.interpreter.run import Run


def enter(run: Run, frame: Frame, state: State) -> None:
    frame.effective = effective_input(run, frame, state)
    execute(run, frame, state)


def execute(run: Run, frame: Frame, state: State) -> None:
    run.emit(frame, "ParallelStateStarted")
    frame.phase = CHILDREN
    branches = state.spec.branches
    frame.data["results"] = [None] * len(branches)
    frame.data["pending"] = len(branches)
    for index, program in enumerate(branches):
        spawn(run, frame, program, index, frame.effective)


def on_child_done(run: Run, frame: Frame, state: State, child: Frame) -> None:
    frame.last_id = max(frame.last_id, child.last_id)
    if child.failure is not None:
        abort_children(run, frame)
        discard(run, frame)
        fail_state(run, frame, state, Failure(*child.failure))
        return
    frame.data["results"][child.index] = child.output
    frame.data["pending"] -= 1
    if frame.data["pending"] == 0:
        results: list[Any] = frame.data["results"]
        discard(run, frame)
        succeed_state(run, frame, state, results)


def on_failure(run: Run, frame: Frame, state: State, failure: Failure, caught: bool) -> None:
    # Recorded AWS runs show ParallelStateFailed only when no Catch takes the error.
    if not caught:
        run.emit(frame, "ParallelStateFailed")
