"""Parallel: runs every branch on the same input; the result is the list of branch outputs."""

from __future__ import annotations

from typing import Any

from sagaway.asl.model import State
from sagaway.interpreter.children import abort_children, discard, spawn
from sagaway.interpreter.dataflow import effective_input
from sagaway.interpreter.execution import CHILDREN, Frame
from sagaway.interpreter.failures import Failure
from sagaway.interpreter.kept import UNFINISHED, Kept, set_aside
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
    frame.data["succeeded"] = [False] * len(branches)
    frame.data.pop(UNFINISHED, None)  # a Retry starts every branch over
    for index, program in enumerate(branches):
        spawn(run, frame, program, index, frame.effective)


def on_child_done(run: Run, frame: Frame, state: State, child: Frame) -> None:
    frame.last_id = max(frame.last_id, child.last_id)
    if child.failure is not None:
        set_aside(run, frame)
        abort_children(run, frame)
        discard(run, frame)
        fail_state(run, frame, state, Failure(*child.failure))
        return
    frame.data["results"][child.index] = child.output
    frame.data["succeeded"][child.index] = True
    frame.data["pending"] -= 1
    if frame.data["pending"] == 0:
        _succeed(run, frame, state)


def _succeed(run: Run, frame: Frame, state: State) -> None:
    results: list[Any] = frame.data["results"]
    discard(run, frame)
    succeed_state(run, frame, state, results)


def redrive(run: Run, frame: Frame, state: State, kept: Kept) -> None:
    """RedriveExecution: run again only the branches that did not succeed, as AWS does (the
    others' outputs are kept); a branch in ``kept`` continues where it ended."""
    run.emit(frame, "ParallelStateStarted")
    frame.phase = CHILDREN
    succeeded: list[bool] = frame.data["succeeded"]
    frame.data["pending"] = succeeded.count(False)
    if not frame.data["pending"]:  # it failed after its branches, in ResultSelector or so
        _succeed(run, frame, state)
        return
    for index, program in enumerate(state.spec.branches):
        if not succeeded[index] and not kept.take(frame, index):
            spawn(run, frame, program, index, frame.effective)


def on_failure(run: Run, frame: Frame, state: State, failure: Failure, caught: bool) -> None:
    # Recorded AWS runs show ParallelStateFailed only when no Catch takes the error.
    if not caught:
        run.emit(frame, "ParallelStateFailed")
